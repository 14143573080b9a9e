// Process B of the three-process demonstration (see process-a.mjs): opens "testmap" by name and,
// under the region's mutex, writes `false` at byte 1.
import { SharedMemory } from '../../dist/index.js';

const region = SharedMemory.open('testmap');
try {
  const guard = await region.mutex.lock({ timeout: 10_000 });
  new Uint8Array(region.buffer)[1] = 0; // BinaryWriter.Write(false)
  guard.unlock();
} finally {
  region.close();
}
