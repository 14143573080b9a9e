// A child process that brightens a batch of small files on the calling thread (brightenFiles with
// inThread), in rounds over the same files, and prints its resources after each round as one JSON line:
// open fds, /proc/self/maps entries, RSS and the JS heap, after a full garbage collection.
//   node --expose-gc batch-memory-child.mjs DIR FILES ROUNDS
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brightenFiles } from '../../dist/index.js';

const [dir, files, rounds] = process.argv.slice(2);
const paths = [];
for (let i = 0; i < Number(files); i++) {
  paths.push(join(dir, `f${i}.raw`));
  writeFileSync(paths[i], Buffer.alloc(64 * 1024, 0x11));
}
for (let round = 0; round < Number(rounds); round++) {
  const reports = await brightenFiles(paths, { by: 1, inThread: true, workers: 1 });
  if (reports.some((report) => report.thread !== 'main')) throw new Error('a file ran on a worker');
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
