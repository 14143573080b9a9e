// A child process that brightens one range of a file in place with brightenFile, in 64 KiB windows on a
// worker thread. After its first window it prints "started" and holds (its range lock and journal live)
// until the barrier file exists, so a test can make two such runs overlap in time for certain.
//   node ranged-run-child.mjs FILE OFFSET LENGTH BY BARRIER
import { existsSync } from 'node:fs';
import { brightenFile } from '../../dist/index.js';

const [path, offset, length, by, barrier] = process.argv.slice(2);
const pause = new Int32Array(new SharedArrayBuffer(4));
let held = false;
try {
  const report = await brightenFile(path, {
    by: Number(by),
    offset: Number(offset),
    length: Number(length),
    window: 64 * 1024,
    workers: 1,
    onProgress: () => {
      if (held) return;
      held = true;
      process.stdout.write('started\n');
      while (!existsSync(barrier)) Atomics.wait(pause, 0, 0, 5);
    },
  });
  process.stdout.write(`done ${report.bytes}\n`);
} catch (error) {
  process.stdout.write(`error ${error.code} ${error.message}\n`);
  process.exitCode = 1;
}
