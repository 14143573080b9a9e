/**
 * The farm's commands on a real Redis: enqueue, worker and status, failures reported per job while the
 * others go on, a worker stopped mid-run whose job another resumes, and workers that refuse storage they
 * cannot trust (a folder they do not see, locks that do not exclude another machine).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { journalPathFor } from '../../dist/brighten/journal.js';
import { claimKey } from '../../dist/farm/claims.js';
import { readRecord } from '../../dist/index.js';
import { expectedBrighten, randomBytes, tempDir } from '../helpers/raw.js';
import { CLI, cli, exited, status } from './harness.js';
import { type RedisServer, startRedis } from './redis.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const tmp = tempDir();
let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
  tmp.cleanup();
});

let counter = 0;
function file(size: number, folder = tmp.dir): { path: string; input: Buffer } {
  const input = randomBytes(size, 700 + counter);
  const path = join(folder, `farm-${counter++}.raw`);
  writeFileSync(path, input);
  return { path, input };
}

const farm = (queue: string) => ['--redis', redis.url, '--queue', queue];
const ndjson = (text: string) =>
  text
    .trim()
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line));

/** A worker run to the end (`--until-empty`), asynchronously, so that several run at once. */
function worker(
  queue: string,
  extra: string[] = [],
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [
      CLI,
      'worker',
      ...farm(queue),
      '--until-empty',
      '--lock-duration',
      '1000',
      '--stalled-interval',
      '1000',
      ...extra,
    ]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('close', (code) => resolve({ status: code, stdout, stderr }));
  });
}

describe('enqueue, worker, status', () => {
  it('a batch on two workers: refusals and failures reported per job, the rest brightened once', async () => {
    const files = [file(MiB), file(MiB), file(MiB)];
    const split = file(2 * MiB);
    const changed = file(MiB);
    const missing = join(tmp.dir, 'missing.raw');
    const enqueue = cli([
      'enqueue',
      ...[...files, changed].map((f) => f.path),
      missing,
      '--by',
      '500',
      '--window',
      '64KiB',
      ...farm('batch'),
      '--json',
    ]);
    expect(enqueue.status).toBe(1);
    expect(enqueue.stderr).toBe('rawbright: 1 of 5 files were not enqueued\n');
    const lines = ndjson(enqueue.stdout);
    expect(lines).toHaveLength(5);
    expect(lines[4]).toMatchObject({ path: missing, code: 'ENOENT' });
    expect(lines.slice(0, 4).map((line) => line.jobs.length)).toEqual([1, 1, 1, 1]);
    const splitRun = cli(['enqueue', split.path, '--by', '500', '--split', '512KiB', ...farm('batch')]);
    expect(splitRun.status).toBe(0);
    expect(splitRun.stdout).toMatch(new RegExp(`enqueued ${split.path} \\[1572864\\+524288\\] as job `));
    expect(splitRun.stdout).toMatch(
      /^4 jobs \(2 MiB\) on queue batch at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+$/m,
    );
    // Changed after it was enqueued: its job must fail, and leave it alone.
    const edited = Buffer.from(changed.input);
    edited[99] ^= 1;
    writeFileSync(changed.path, edited);

    const runs = await Promise.all([worker('batch', ['--json']), worker('batch', ['--json'])]);
    const events = runs.flatMap((run) => ndjson(run.stdout));
    const completed = events.filter((e) => e.event === 'completed');
    const failed = events.filter((e) => e.event === 'failed');
    expect(completed).toHaveLength(7);
    expect(completed.every((e) => e.action === 'brightened')).toBe(true);
    expect(failed).toEqual([expect.objectContaining({ path: changed.path, code: 'ERR_FARM_FILE_CHANGED' })]);
    // The worker that ran the failed job says so in its exit code.
    expect(runs.map((run) => run.status).sort()).toEqual([0, 1]);
    expect(runs.find((run) => run.status === 1)?.stderr).toBe('rawbright: 1 job failed\n');

    for (const f of [...files, split])
      expect(readFileSync(f.path).equals(expectedBrighten(f.input, 500))).toBe(true);
    expect(readFileSync(changed.path).equals(edited)).toBe(true);

    const s = await status(redis, 'batch');
    expect(s.counts).toEqual({ waiting: 0, active: 0, delayed: 0, completed: 7, failed: 1 });
    expect(s.summary).toMatchObject({
      jobs: 8,
      bytesTotal: 6 * MiB,
      bytesDone: 5 * MiB,
      actions: { brightened: 7 },
    });
    // Every job reported its progress to the queue, to the last byte.
    for (const job of s.jobs.filter((j) => j.state === 'completed')) {
      expect(job.progress).toEqual({ bytesDone: job.length, bytesTotal: job.length });
    }
    const text = cli(['status', ...farm('batch')]);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(
      /^queue batch on redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/?: 0 waiting, 0 active, 0 delayed, 7 completed, 1 failed$/m,
    );
    expect(text.stdout).toContain(
      `${changed.path}: ERR_FARM_FILE_CHANGED: ${changed.path} changed after it was enqueued`,
    );
    expect(text.stdout).toMatch(/^completed \(7 of 7\)|^completed:$/m);
    expect(text.stdout).toMatch(
      /^done 5 MiB of 6 MiB in 7 of 8 jobs \(7 brightened\); [\d.]+ s from first start to last finish: [\d.]+ MB\/s, [\d.]+ jobs\/s$/m,
    );
    const json = JSON.parse(cli(['status', ...farm('batch'), '--json']).stdout);
    expect(json.jobs).toHaveLength(8);
  });

  it('a worker stopped mid-run puts its job back; the next worker resumes the journal', async () => {
    // Durable and small windows: a run slow enough to be caught in the middle.
    const { path, input } = file(16 * MiB);
    expect(
      cli(['enqueue', path, '--by', '-300', '--window', '8KiB', '--durable', ...farm('stop')]).status,
    ).toBe(0);
    const child = spawn(process.execPath, [CLI, 'worker', ...farm('stop'), '--json']);
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    let active: Awaited<ReturnType<typeof status>>['jobs'][number] | undefined;
    let finished = false;
    while (active === undefined && !finished) {
      await sleep(50);
      const now = await status(redis, 'stop');
      active = now.jobs.find((j) => j.state === 'active' && (j.progress?.bytesDone ?? 0) > 0);
      finished = now.counts.completed + now.counts.failed > 0;
    }
    // Caught in the middle of its run (a run that finished first would make this test meaningless).
    expect(active).toBeDefined();
    if (active === undefined) return;
    expect(active.progress?.bytesTotal).toBe(16 * MiB);
    child.kill('SIGTERM');
    await exited(child);
    expect(child.exitCode).toBe(130);
    expect(ndjson(stdout)).toEqual([
      expect.objectContaining({ event: 'deferred', code: 'ERR_ABORTED', path }),
    ]);
    expect(existsSync(journalPathFor(path))).toBe(true);
    const next = await worker('stop', ['--json']);
    expect(next.status).toBe(0);
    expect(ndjson(next.stdout)).toEqual([
      expect.objectContaining({ event: 'completed', action: 'resumed', path }),
    ]);
    expect(readFileSync(path).equals(expectedBrighten(input, -300))).toBe(true);
    expect(existsSync(journalPathFor(path))).toBe(false);
  });
});

describe('workers refuse storage they cannot trust', () => {
  it('a worker that cannot see the folder stops, and the job waits for one that can', async () => {
    const folder = join(tmp.dir, 'shared');
    mkdirSync(folder);
    const { path, input } = file(MiB, folder);
    expect(cli(['enqueue', path, '--by', '100', ...farm('storage')]).status).toBe(0);
    renameSync(folder, `${folder}-elsewhere`);
    const blind = await worker('storage');
    expect(blind.status).toBe(1);
    expect(blind.stderr).toMatch(
      /^rawbright: this worker cannot see .*shared \(ENOENT\), where the job's file was enqueued: every worker needs the shared storage at the same path\n$/,
    );
    // Another, empty folder at the same path is not the shared one either.
    mkdirSync(folder);
    const wrong = await worker('storage');
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/is another folder than the one the job was enqueued in/);
    expect((await status(redis, 'storage')).counts.failed).toBe(0);
    renameSync(folder, `${folder}-empty`);
    renameSync(`${folder}-elsewhere`, folder);
    const seeing = await worker('storage', ['--json']);
    expect(seeing.status).toBe(0);
    expect(ndjson(seeing.stdout)).toEqual([
      expect.objectContaining({ event: 'completed', action: 'brightened' }),
    ]);
    expect(readFileSync(path).equals(expectedBrighten(input, 100))).toBe(true);
  });

  it('a worker granted a lock that another live worker holds stops: locks that do not cross machines', async () => {
    const { path, input } = file(MiB);
    expect(cli(['enqueue', path, '--by', '100', ...farm('locks')]).status).toBe(0);
    // What a worker on a machine whose lock did not exclude this one would keep doing: renewing its claim.
    const other = new Redis(redis.url);
    const key = claimKey('locks', path);
    await other.set(key, 'far-away-host:4242:token', 'PX', 1000);
    const renew = setInterval(() => other.pexpire(key, 1000).catch(() => {}), 300);
    let refused: Awaited<ReturnType<typeof worker>>;
    try {
      refused = await worker('locks');
    } finally {
      clearInterval(renew);
    }
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(
      /this worker holds the lock on .*, and so does far-away-host:4242: the storage's file locks do not work across machines/,
    );
    expect(readFileSync(path).equals(input)).toBe(true);
    expect(readRecord(path).jobs.size).toBe(0);
    await other.del(key);
    other.disconnect();
    const ok = await worker('locks');
    expect(ok.status).toBe(0);
    expect(readFileSync(path).equals(expectedBrighten(input, 100))).toBe(true);
  });

  it('an unreachable Redis is one line and exit 1', () => {
    for (const command of [['status'], ['worker'], ['enqueue', 'x.raw', '--by', '1']]) {
      const run = cli([...command, '--redis', 'redis://127.0.0.1:1']);
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/^rawbright: cannot reach Redis at redis:\/\/127\.0\.0\.1:1\/?: .+\n$/);
    }
    const bad = cli(['status', '--redis', 'http://127.0.0.1:1']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/Expected a redis:\/\/ or rediss:\/\/ URL for redis/);
  });
});
