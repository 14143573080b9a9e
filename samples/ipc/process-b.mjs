// Process B of the three-process demonstration (see process-a.mjs): opens "testmap" by name and,
// under the named mutex "testmapmutex" (`Mutex.OpenExisting`), writes `false` at byte 1.
import { NamedMutex, SharedMemory } from '../../dist/index.js';

const region = SharedMemory.open('testmap');
const mutex = NamedMutex.open('testmapmutex');
try {
  const guard = await mutex.lock({ timeout: 10_000 });
  new Uint8Array(region.buffer)[1] = 0; // BinaryWriter.Write(false)
  guard.unlock();
} finally {
  mutex.close();
  region.close();
}
