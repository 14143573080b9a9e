/**
 * The farm under fire: files enqueued on a real Redis, worker processes on separate hosts (see
 * hosts.ts) killed with SIGKILL at random and restarted, Redis itself killed and restarted, and at
 * the end every file compared with the brighten computed here, sample by sample.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FarmQueue, type FarmStatus, recordPathFor } from '../../dist/index.js';
import { expectedBrighten, randomBytes } from '../helpers/raw.js';
import type { Host } from './hosts.js';
import type { RedisServer } from './redis.js';

export const CLI = new URL('../../dist/cli/index.js', import.meta.url).pathname;

/** Runs the CLI to the end. */
export function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A deterministic generator (mulberry32), so a seed replays a run's choices. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Worker options that hand a dead worker's job over within about two seconds. */
const QUICK_TAKEOVER = ['--lock-duration', '1500', '--stalled-interval', '1000'];

export interface WorkerProcess {
  host: Host;
  child: ChildProcess;
  /** Set by whoever kills it on purpose. */
  killed: boolean;
  stderr: string;
}

function startWorker(host: Host, redis: RedisServer, queue: string, extra: string[] = []): WorkerProcess {
  const argv = [
    process.execPath,
    CLI,
    'worker',
    '--redis',
    redis.urlOn(host.redisAddress),
    '--queue',
    queue,
    '--json',
    ...extra,
  ];
  const [command, args] = host.command(argv);
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const worker: WorkerProcess = { host, child, killed: false, stderr: '' };
  child.stderr?.on('data', (chunk: Buffer) => {
    worker.stderr = (worker.stderr + chunk.toString()).slice(-4000);
  });
  return worker;
}

export const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));

export async function status(redis: RedisServer, queue: string): Promise<FarmStatus> {
  const farm = await FarmQueue.open({ redis: redis.url, queue });
  try {
    return await farm.status();
  } finally {
    await farm.close();
  }
}

export interface ChaosOptions {
  dir: string;
  hosts: Host[];
  redis: RedisServer;
  queue: string;
  files: number;
  /** Files split into `--split` ranges (several jobs on one file), besides the others. */
  splitFiles?: number;
  seed: number;
  /** Time between kills, in milliseconds: a random value in this range. */
  killEvery: [number, number];
  redisRestarts: number;
  /** More `rawbright worker` options (e.g. `--concurrency 2`). */
  workerArgs?: string[];
  /** Give up after this long, in milliseconds. */
  deadline: number;
}

export interface ChaosResult {
  jobs: number;
  kills: number;
  redisRestarts: number;
  /** Jobs taken over from a dead worker at least once. */
  takenOver: number;
  /** Completed jobs by what their last attempt did. */
  actions: Record<string, number>;
  /** Completed jobs by the host whose worker completed them. */
  byHost: Record<string, number>;
  /** Workers started while Redis was down (they stop at once with one line). */
  startsWithoutRedis: number;
  /** Workers that stopped without being killed, and why. */
  unexpectedExits: string[];
  /** Files that differ from the expected result; jobs done more or less than once; jobs failed or lost. */
  wrongFiles: string[];
  doneTwice: string[];
  failed: string[];
  lost: string[];
  final: FarmStatus;
}

const BY = 1234;
const KiB = 1024;

export async function chaos(o: ChaosOptions): Promise<ChaosResult> {
  const rand = random(o.seed);
  const expected = new Map<string, Buffer>();
  const plain: string[] = [];
  const split: string[] = [];
  for (let i = 0; i < o.files + (o.splitFiles ?? 0); i++) {
    // 1 to 2 MiB, in whole pixels: 64 to 128 windows of 16 KiB, so that kills land inside runs.
    const size = (128 + Math.floor(rand() * 128)) * 8 * KiB;
    const bytes = randomBytes(size, o.seed * 1000 + i + 1);
    const path = join(o.dir, `chaos-${o.seed}-${i}.raw`);
    writeFileSync(path, bytes);
    expected.set(path, expectedBrighten(bytes, BY));
    (i < o.files ? plain : split).push(path);
  }
  const redisArgs = ['--redis', o.redis.url, '--queue', o.queue];
  const common = ['--by', String(BY), '--window', '16KiB', ...redisArgs, '--json'];
  const enqueued = [cli(['enqueue', ...plain, ...common])];
  if (split.length > 0) enqueued.push(cli(['enqueue', ...split, ...common, '--split', '512KiB']));
  const jobs = new Map<string, string>();
  for (const run of enqueued) {
    if (run.status !== 0) throw new Error(`enqueue failed: ${run.stderr}${run.stdout}`);
    for (const line of run.stdout.trim().split('\n')) {
      const file = JSON.parse(line) as { path: string; jobs: { id: string }[] };
      for (const job of file.jobs) jobs.set(job.id, file.path);
    }
  }

  // A supervisor: every worker that stops is started again, on its host, as systemd would.
  const workers: WorkerProcess[] = [];
  const unexpected: string[] = [];
  let startsWithoutRedis = 0;
  let running = true;
  const supervise = (slot: number, host: Host) => {
    const worker = startWorker(host, o.redis, o.queue, [...QUICK_TAKEOVER, ...(o.workerArgs ?? [])]);
    workers[slot] = worker;
    worker.child.once('exit', (code) => {
      if (!running) return;
      // A worker started while Redis is down stops at once, saying so; the supervisor starts it again.
      if (/cannot reach Redis/.test(worker.stderr)) startsWithoutRedis++;
      else if (!worker.killed) unexpected.push(`${host.name} exited with ${code}: ${worker.stderr.trim()}`);
      setTimeout(() => running && supervise(slot, host), worker.killed ? 100 + rand() * 500 : 300);
    });
  };
  for (const [slot, host] of o.hosts.entries()) supervise(slot, host);

  let kills = 0;
  let restarts = 0;
  const started = Date.now();
  let final: FarmStatus | undefined;
  const killer = (async () => {
    while (running) {
      await sleep(o.killEvery[0] + rand() * (o.killEvery[1] - o.killEvery[0]));
      const live = workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
      const victim = live[Math.floor(rand() * live.length)];
      if (!running || victim === undefined) continue;
      victim.killed = true;
      victim.child.kill('SIGKILL');
      kills++;
    }
  })();
  try {
    for (;;) {
      if (Date.now() - started > o.deadline) break;
      await sleep(250);
      let now: FarmStatus;
      try {
        now = await status(o.redis, o.queue);
      } catch {
        continue;
      }
      const { completed, failed, waiting, active, delayed } = now.counts;
      // Redis dies once a third of the jobs are done, so that jobs are waiting, active and finished.
      if (restarts < o.redisRestarts && completed >= ((restarts + 1) * jobs.size) / (o.redisRestarts + 2)) {
        restarts++;
        await o.redis.restart(200 + rand() * 400);
      }
      if (completed + failed === jobs.size && waiting + active + delayed === 0) {
        final = now;
        break;
      }
    }
  } finally {
    running = false;
    await killer;
    for (const worker of workers) worker.child.kill('SIGTERM');
    await Promise.all(workers.map((worker) => exited(worker.child)));
  }
  final ??= await status(o.redis, o.queue);

  const byId = new Map(final.jobs.map((job) => [job.id, job]));
  const wrongFiles = [...expected].filter(([path, want]) => !readFileSync(path).equals(want)).map(([p]) => p);
  const doneTwice: string[] = [];
  for (const [id, path] of jobs) {
    const record = readFileSync(recordPathFor(path), 'utf8');
    const done = record.split('\n').filter((line) => line.includes(`"job":"${id}","phase":"done"`));
    if (done.length !== 1) doneTwice.push(`${id} (${path}): done ${done.length} times`);
  }
  const completedJobs = final.jobs.filter((job) => job.state === 'completed');
  const actions: Record<string, number> = {};
  const byHost: Record<string, number> = {};
  for (const job of completedJobs) {
    const action = job.result?.action ?? 'unknown';
    actions[action] = (actions[action] ?? 0) + 1;
    const host = job.result?.worker.replace(/:\d+$/, '') ?? 'unknown';
    byHost[host] = (byHost[host] ?? 0) + 1;
  }
  return {
    jobs: jobs.size,
    kills,
    redisRestarts: restarts,
    takenOver: final.jobs.filter((job) => job.stalls > 0).length,
    actions,
    byHost,
    startsWithoutRedis,
    unexpectedExits: unexpected,
    wrongFiles,
    doneTwice,
    failed: final.jobs
      .filter((job) => job.state === 'failed')
      .map((job) => `${job.path}: ${job.error?.message}`),
    lost: [...jobs.keys()].filter(
      (id) => byId.get(id)?.state !== 'completed' && byId.get(id)?.state !== 'failed',
    ),
    final,
  };
}
