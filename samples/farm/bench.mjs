#!/usr/bin/env node
// The farm's benchmark: one worker against two on this machine, and the cost of a farm job against a
// plain local batch (brightenFiles). Starts its own redis-server (Debian's) on a free loopback port.
//
//   node samples/farm/bench.mjs [--files 40] [--size 16MiB] [--runs 3] [--window 64MiB]
//
// Each configuration runs --runs times on the same warm files (brightened by +1 and -1 in turn, so
// they never saturate); the figures are medians. "span" is from the first job's start to the last
// job's end as the queue recorded them (worker start-up excluded); "wall" includes starting the workers.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { brightenFiles, FarmQueue, parseSize } from 'rawbright';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : fallback;
};
const FILES = Number(option('--files', '40'));
const SIZE = parseSize(option('--size', '16MiB'));
const RUNS = Number(option('--runs', '3'));
const WINDOW = parseSize(option('--window', '64MiB'));
const CLI = new URL('../../dist/cli/index.js', import.meta.url).pathname;

if (spawnSync('redis-server', ['--version']).error) {
  console.error('bench: redis-server is not installed (Debian: apt-get install redis-server)');
  process.exit(1);
}
const port = await new Promise((resolve) => {
  const server = createServer().listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    server.close(() => resolve(port));
  });
});
const dir = mkdtempSync(join(tmpdir(), 'rawbright-farm-bench-'));
const redis = spawn(
  'redis-server',
  ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', dir],
  {
    stdio: 'ignore',
  },
);
const url = `redis://127.0.0.1:${port}`;

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
let sign = 1;
const nextBy = () => (sign = -sign);

try {
  for (let tries = 0; ; tries++) {
    try {
      await (await FarmQueue.open({ redis: url })).close();
      break;
    } catch (error) {
      if (tries > 50) throw error;
      await sleep(100);
    }
  }
  const paths = [];
  for (let i = 0; i < FILES; i++) {
    const path = join(dir, `bench-${i}.raw`);
    writeFileSync(path, Buffer.alloc(SIZE, 0x40));
    paths.push(path);
  }

  const local = [];
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now();
    await brightenFiles(paths, { by: nextBy(), window: WINDOW });
    local.push((performance.now() - started) / 1000);
  }

  const farm = async (workers, run) => {
    const queue = `bench-${workers}-${run}`;
    const q = await FarmQueue.open({ redis: url, queue });
    try {
      const by = nextBy();
      const enqueueStarted = performance.now();
      for (const path of paths) await q.enqueue(path, { by, window: WINDOW });
      const enqueue = (performance.now() - enqueueStarted) / 1000;
      const started = performance.now();
      const children = Array.from({ length: workers }, () =>
        spawn(
          process.execPath,
          [CLI, 'worker', '--redis', url, '--queue', queue, '--until-empty', '--json'],
          { stdio: 'ignore' },
        ),
      );
      await Promise.all(children.map((child) => new Promise((resolve) => child.once('exit', resolve))));
      const wall = (performance.now() - started) / 1000;
      const status = await q.status({ limit: 0 });
      if (status.counts.completed !== FILES)
        throw new Error(`only ${status.counts.completed} of ${FILES} jobs completed`);
      return { enqueue, wall, span: status.summary.seconds };
    } finally {
      await q.close();
    }
  };
  const results = {};
  for (const workers of [1, 2]) {
    const runs = [];
    for (let run = 0; run < RUNS; run++) runs.push(await farm(workers, run));
    results[workers] = {
      enqueue: median(runs.map((r) => r.enqueue)),
      wall: median(runs.map((r) => r.wall)),
      span: median(runs.map((r) => r.span)),
    };
  }

  const gb = (FILES * SIZE) / 1e9;
  const localSeconds = median(local);
  const line = (name, seconds, extra = '') =>
    console.log(
      `${name.padEnd(28)} ${seconds.toFixed(2).padStart(7)} s  ${(gb / seconds).toFixed(2).padStart(6)} GB/s  ${(FILES / seconds).toFixed(1).padStart(6)} files/s${extra}`,
    );
  console.log(
    `${FILES} files of ${(SIZE / 2 ** 20).toFixed(0)} MiB, window ${(WINDOW / 2 ** 20).toFixed(0)} MiB, ${cpus().length} cores, medians of ${RUNS} runs`,
  );
  line('local batch (brightenFiles)', localSeconds);
  for (const workers of [1, 2]) {
    const r = results[workers];
    line(
      `farm, ${workers} worker${workers === 1 ? '' : 's'}, span`,
      r.span,
      `  (wall ${r.wall.toFixed(2)} s with start-up; enqueue ${((1000 * r.enqueue) / FILES).toFixed(1)} ms/file)`,
    );
  }
  console.log(`two workers against one: ${(results[1].span / results[2].span).toFixed(2)}x`);
  console.log(
    `farm overhead per job (1 worker, span, against the local batch): ${((1000 * (results[1].span - localSeconds)) / FILES).toFixed(1)} ms`,
  );
} finally {
  redis.kill('SIGTERM');
  await new Promise((resolve) => redis.once('exit', resolve));
  rmSync(dir, { recursive: true, force: true });
}
