// Measures the shared memory primitives: `node samples/ipc/measure.mjs` (after `npm run build`).
// Prints the median of several rounds for each figure, so one lucky or unlucky round does not decide.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SharedMemory } from '../../dist/index.js';

const ROUNDS = 5;
const base = `measure-${process.pid}`;

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function timeEach(rounds, body) {
  const results = [];
  for (let round = 0; round < rounds; round++) results.push(body(round));
  return median(results);
}

function format(value, unit) {
  return `${value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(2)} ${unit}`;
}

// A rate of round trips, with what one costs.
function formatRate(perSecond) {
  return `${format(perSecond, 'round trips/s')} (${format(1e9 / perSecond, 'ns each')})`;
}

// The child side of the two-process figure: lock, bump a counter, unlock, as fast as it can.
if (process.argv[2] === 'child') {
  const region = SharedMemory.open(process.argv[3]);
  const counter = new Uint32Array(region.buffer, 0, 2);
  const iterations = Number(process.argv[4]);
  for (let i = 0; i < iterations; i++) {
    const guard = await region.mutex.lock();
    counter[0] += 1;
    guard.unlock();
  }
  region.close();
  process.exit(0);
}

const results = [];

for (const size of [4096, 64 * 1024 * 1024]) {
  const micros = timeEach(ROUNDS * 4, (round) => {
    const started = process.hrtime.bigint();
    const region = SharedMemory.create(`${base}-c${round}`, size);
    region.close();
    return Number(process.hrtime.bigint() - started) / 1000;
  });
  results.push([`create + close, ${size / 1024} KiB`, format(micros, 'µs')]);
}

{
  const region = SharedMemory.create(`${base}-open`, 4096);
  const micros = timeEach(ROUNDS * 4, () => {
    const started = process.hrtime.bigint();
    SharedMemory.open(`${base}-open`).close();
    return Number(process.hrtime.bigint() - started) / 1000;
  });
  results.push(['open + close of an existing region', format(micros, 'µs')]);

  const mutex = region.mutex;
  const count = 200_000;
  const syncRate = timeEach(ROUNDS, () => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < count; i++) mutex.tryLock().unlock();
    return count / (Number(process.hrtime.bigint() - started) / 1e9);
  });
  results.push(['tryLock + unlock, uncontended', formatRate(syncRate)]);

  const asyncRate = [];
  for (let round = 0; round < ROUNDS; round++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < count; i++) (await mutex.lock()).unlock();
    asyncRate.push(count / (Number(process.hrtime.bigint() - started) / 1e9));
  }
  results.push(['await lock() + unlock, uncontended', formatRate(median(asyncRate))]);

  // The waiting path: the lock is taken by the mutex's waiting thread and comes back through the
  // event loop.
  const other = SharedMemory.open(`${base}-open`);
  const handoffs = 2000;
  const handoff = [];
  for (let round = 0; round < ROUNDS; round++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < handoffs; i++) {
      const held = mutex.tryLock();
      const waiting = other.mutex.lock();
      held.unlock();
      (await waiting).unlock();
    }
    handoff.push(Number(process.hrtime.bigint() - started) / 1000 / handoffs);
  }
  results.push(['waiting lock, handed over through the waiting thread', format(median(handoff), 'µs each')]);
  other.close();
  region.close();
}

{
  const name = `${base}-pair`;
  const region = SharedMemory.create(name, 64);
  const iterations = 20_000;
  const script = fileURLToPath(import.meta.url);
  const started = process.hrtime.bigint();
  await Promise.all(
    [0, 1].map(
      () =>
        new Promise((resolve, reject) => {
          spawn(process.execPath, [script, 'child', name, String(iterations)], { stdio: 'inherit' }).on(
            'exit',
            (code) => (code === 0 ? resolve() : reject(new Error(`child exited with ${code}`))),
          );
        }),
    ),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const total = new Uint32Array(region.buffer, 0, 1)[0];
  results.push([
    `two processes contending (${total} lock/unlock in all, process start included)`,
    format(total / seconds, 'round trips/s'),
  ]);
  region.close();
}

for (const [what, figure] of results) console.log(`${what.padEnd(74)} ${figure}`);
