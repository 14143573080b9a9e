#!/usr/bin/env node
// Brightens every .raw file in a folder through a farm: one job per file on a BullMQ queue in Redis,
// run by a worker in this process (start `rawbright worker --redis URL` on other machines to help).
//
//   node samples/farm/farm-batch.mjs FOLDER DELTA [--redis redis://host:6379] [--queue NAME]
//
// Kill it at any moment and run it again (or start a worker anywhere): the files already brightened
// are not brightened again, and the one that was being brightened is finished from its journal.
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { FarmQueue, FarmWorker } from 'rawbright';

const args = process.argv.slice(2);
const option = (name) => {
  const at = args.indexOf(name);
  return at >= 0 ? args.splice(at, 2)[1] : undefined;
};
const farm = { redis: option('--redis'), queue: option('--queue') ?? 'farm-batch' };
const [folder, deltaText] = args;
if (!folder || !/^[+-]?\d+$/.test(deltaText ?? '')) {
  console.error('usage: node samples/farm/farm-batch.mjs FOLDER DELTA [--redis URL] [--queue NAME]');
  process.exit(2);
}

const queue = await FarmQueue.open(farm);
try {
  // A second run of this script finds its jobs still in the queue and adds none.
  const { counts } = await queue.status({ limit: 0 });
  if (counts.waiting + counts.active + counts.delayed + counts.completed + counts.failed === 0) {
    for (const name of readdirSync(folder)
      .filter((n) => n.endsWith('.raw'))
      .sort()) {
      try {
        await queue.enqueue(resolve(folder, name), { by: Number(deltaText) });
      } catch (error) {
        console.error(`${name}: not enqueued: ${error.message} (${error.code})`);
      }
    }
  }

  const worker = await FarmWorker.start({
    ...farm,
    untilEmpty: true,
    onEvent(event) {
      if (event.type === 'completed') console.log(`${event.result.action} ${event.result.path}`);
      if (event.type === 'failed') console.error(`${event.path}: ${event.message} (${event.code})`);
    },
  });
  process.once('SIGINT', () => worker.close());
  const summary = await worker.done;
  console.log(`this worker: ${summary.completed} completed, ${summary.failed} failed`);

  const { counts: end, summary: all } = await queue.status({ limit: 0 });
  console.log(
    `queue ${farm.queue}: ${end.completed} completed, ${end.failed} failed, ` +
      `${(all.bytesDone / 2 ** 20).toFixed(1)} MiB at ${(all.gbps * 1000).toFixed(0)} MB/s over the whole farm`,
  );
  process.exitCode = end.failed === 0 ? 0 : 1;
} finally {
  await queue.close();
}
