// A child process that brightens a batch of small files, on the calling thread (brightenFiles with
// inThread) or with one worker thread a file (MODE worker), in rounds over the same files, and prints its resources after each round as one JSON line:
// open fds, /proc/self/maps entries, RSS and the JS heap, after a full garbage collection.
//   node --expose-gc batch-memory-child.mjs DIR FILES ROUNDS [inThread|worker]
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { brightenFiles } from '../../dist/index.js';

const [dir, files, rounds, mode = 'inThread'] = process.argv.slice(2);
const inThread = mode === 'inThread';
const paths = [];
for (let i = 0; i < Number(files); i++) {
  paths.push(join(dir, `f${i}.raw`));
  writeFileSync(paths[i], Buffer.alloc(64 * 1024, 0x11));
}
const threads = () => readdirSync('/proc/self/task').length;
const idle = threads();
for (let round = 0; round < Number(rounds); round++) {
  const reports = await brightenFiles(paths, { by: 1, inThread, workers: 1 });
  if (reports.some((report) => report.thread !== (inThread ? 'main' : 'worker'))) {
    throw new Error(`a file ran on the wrong thread (not ${mode})`);
  }
  // A worker's thread ends a little after its run resolves: sample once it has (at most 5 s).
  for (let waited = 0; threads() > idle && waited < 5000; waited += 20) await sleep(20);
  globalThis.gc();
  process.stdout.write(
    `${JSON.stringify({
      files: (round + 1) * paths.length,
      fds: readdirSync('/proc/self/fd').length,
      maps: readFileSync('/proc/self/maps', 'utf8').trim().split('\n').length,
      rss: process.memoryUsage().rss,
      heapUsed: process.memoryUsage().heapUsed,
      external: process.memoryUsage().external,
    })}\n`,
  );
}
