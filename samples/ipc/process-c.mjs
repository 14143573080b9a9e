// Process C of the three-process demonstration (see process-a.mjs): opens "testmap" by name and,
// under the region's mutex, writes `true` at byte 2.
import { SharedMemory } from '../../dist/index.js';

const region = SharedMemory.open('testmap');
try {
  const guard = await region.mutex.lock({ timeout: 10_000 });
  new Uint8Array(region.buffer)[2] = 1; // BinaryWriter.Write(true)
  guard.unlock();
} finally {
  region.close();
}
