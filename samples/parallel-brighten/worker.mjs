// One worker process of samples/parallel-brighten (started by run.mjs, not by hand):
//   node worker.mjs <name> <worker number>
// It takes windows from the Channel <name>.work until a "stop", brightens each with the WebAssembly
// SIMD kernel on the file's own pages (overlay), and reports each on the Channel <name>.progress.

import { Channel, KernelHost, MappedFile } from '../../dist/index.js';

const [name, workerNumber] = process.argv.slice(2);
const worker = Number(workerNumber);
const work = Channel.open(`${name}.work`);
const progress = Channel.open(`${name}.progress`);

let file;
let host;
try {
  for (;;) {
    const job = await work.receive();
    if (job === 'stop') break;
    if (file === undefined) {
      // A shared flock: other rawbright processes that change the file in place (they lock it
      // exclusively) are refused while the workers run, and the workers do not exclude each other.
      file = MappedFile.open(job.path, { access: 'readwrite' });
      file.lock('shared');
      host = new KernelHost({ arenaBytes: job.window, kernel: 'wasm-simd' });
    }
    const params = { delta: job.by, type: job.type, channels: job.channels };
    if (host.canOverlay) {
      const arena = host.overlay(file, job.offset, job.length);
      host.brighten(arena, params);
      host.release();
    } else {
      const arena = host.copyIn(file, job.offset, job.length);
      host.brighten(arena, params);
      host.copyOut(arena, file, job.offset);
      host.release();
    }
    await progress.send({ worker, offset: job.offset, length: job.length });
  }
  await progress.send({ worker, finished: true });
} finally {
  host?.close();
  file?.close();
  work.close();
  progress.close();
}
