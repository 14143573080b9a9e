// One worker process of samples/parallel-brighten (started by run.mjs, not by hand):
//   node worker.mjs <region name> <worker number>
// It reads the job from the shared region, then claims windows one at a time under the region's
// mutex and brightens each with the WebAssembly SIMD kernel on the file's own pages (overlay).

import { KernelHost, MappedFile, readObject, SharedMemory } from '../../dist/index.js';
import { COUNTERS, JOB_OFFSET } from './layout.mjs';

const [regionName, workerNumber] = process.argv.slice(2);
const worker = Number(workerNumber);

const region = SharedMemory.open(regionName);
const counters = new Float64Array(region.buffer, 0, COUNTERS.length);
const job = readObject(new Uint8Array(region.buffer, JOB_OFFSET));

// A shared flock: other rawbright processes that change the file in place (they lock it exclusively)
// are refused while the workers run, and the workers do not exclude each other.
const file = MappedFile.open(job.path, { access: 'readwrite' });
file.lock('shared');
const host = new KernelHost({ arenaBytes: job.window, kernel: 'wasm-simd' });
const params = { delta: job.by, type: job.type, channels: job.channels };

async function update(change) {
  const guard = await region.mutex.lock({ timeout: 30_000 });
  try {
    if (guard.abandoned) process.stderr.write(`worker ${worker}: a previous holder of the mutex died\n`);
    return change();
  } finally {
    guard.unlock();
  }
}

try {
  for (;;) {
    // Claim the next window; the windows the processes take are disjoint by construction.
    const index = await update(() => {
      const next = counters[COUNTERS.nextWindow];
      if (next >= job.windows) return -1;
      counters[COUNTERS.nextWindow] = next + 1;
      return next;
    });
    if (index < 0) break;
    const offset = job.offset + index * job.window;
    const length = Math.min(job.window, job.offset + job.length - offset);
    if (host.canOverlay) {
      const arena = host.overlay(file, offset, length);
      host.brighten(arena, params);
      host.release();
    } else {
      const arena = host.copyIn(file, offset, length);
      host.brighten(arena, params);
      host.copyOut(arena, file, offset);
      host.release();
    }
    await update(() => {
      counters[COUNTERS.windowsDone] += 1;
      counters[COUNTERS.bytesDone] += length;
      counters[COUNTERS.perWorker + worker] += 1;
    });
  }
} finally {
  host.close();
  file.close();
  region.close();
}
