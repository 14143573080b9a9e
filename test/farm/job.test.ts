/**
 * The exactly-once logic of a farm job, without Redis: a worker killed at every step of a job (and of
 * settling another's), files changed, gone or refused, the record's lock and its torn lines.
 */
import { spawnSync } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { journalPathFor } from '../../dist/brighten/journal.js';
import type { FarmJobData } from '../../dist/farm/job.js';
import { FarmRecord } from '../../dist/farm/record.js';
import {
  brightenFile,
  prepareJobs,
  readRecord,
  recordPathFor,
  resumeFile,
  runFarmJob,
} from '../../dist/index.js';
import { expectedBrighten, randomBytes, tempDir, writeRaw } from '../helpers/raw.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const CHILD = new URL('./run-job-child.mjs', import.meta.url).pathname;
const RUN = { by: 700, window: 256 * KiB };

const tmp = tempDir();
afterAll(() => tmp.cleanup());

let counter = 0;
function fixture(bytes: Buffer, folder = tmp.dir): string {
  const path = join(folder, `farm-${counter++}.raw`);
  writeRaw(path, bytes);
  return path;
}

/** Runs the job in a child process that kills itself at `point`; the child must die there. */
function killedAt(jobId: string, data: FarmJobData, point: string): void {
  const dataPath = join(tmp.dir, `job-${counter++}.json`);
  writeFileSync(dataPath, JSON.stringify(data));
  const child = spawnSync(process.execPath, [CHILD, jobId, dataPath, point], { encoding: 'utf8' });
  expect(child.signal, child.stderr).toBe('SIGKILL');
}

/** The record's lines for one job, as written (torn lines included as they parse). */
function steps(path: string, jobId: string): string[] {
  return readFileSync(recordPathFor(path), 'utf8')
    .split('\n')
    .filter((line) => line.includes(`"job":"${jobId}"`))
    .map((line) => JSON.parse(line).phase);
}

/** A run interrupted by its caller after its first window: a pending journal, as a killed run leaves. */
async function interruptedRun(path: string): Promise<void> {
  const controller = new AbortController();
  await expect(
    brightenFile(path, { ...RUN, signal: controller.signal, onProgress: () => controller.abort() }),
  ).rejects.toMatchObject({ code: 'ERR_ABORTED' });
}

describe('a farm job killed at any step is applied exactly once', () => {
  it.each([
    ['locked', 'brightened'],
    ['started', 'brightened'],
    ['journaled', 'resumed'],
    ['brightened', 'already-done'],
    ['done', 'already-done'],
  ])('killed once %s, the next attempt has %s it', async (point, action) => {
    const input = randomBytes(2 * MiB, 100 + counter);
    const path = fixture(input);
    const [data] = await prepareJobs(path, RUN);
    killedAt('job-a', data!, point);
    const again = await runFarmJob('job-a', data!);
    expect(again.action).toBe(action);
    expect(readFileSync(path).equals(expectedBrighten(input, RUN.by))).toBe(true);
    expect(existsSync(journalPathFor(path))).toBe(false);
    // Any later attempt (a queue that lost the completion) changes nothing.
    expect((await runFarmJob('job-a', data!)).action).toBe('already-done');
    expect(readFileSync(path).equals(expectedBrighten(input, RUN.by))).toBe(true);
    expect(steps(path, 'job-a').filter((phase) => phase === 'done')).toHaveLength(1);
  });

  it('a durable job killed in its run is resumed durably, its record on disk', async () => {
    const input = randomBytes(2 * MiB, 150);
    const path = fixture(input);
    const [data] = await prepareJobs(path, { ...RUN, durable: true });
    killedAt('job-durable', data!, 'journaled');
    expect((await runFarmJob('job-durable', data!)).action).toBe('resumed');
    expect(readFileSync(path).equals(expectedBrighten(input, RUN.by))).toBe(true);
    expect(steps(path, 'job-durable')).toEqual(['started', 'journaled', 'done']);
  });

  it('killed while settling a killed run, before and after its resume', async () => {
    for (const point of ['settle-journaled', 'settle-resumed']) {
      const input = randomBytes(2 * MiB, 200 + counter);
      const path = fixture(input);
      const [data] = await prepareJobs(path, RUN);
      // The job's first attempt died after its journal recorded a window, before its record said so.
      const record = FarmRecord.lock(path, { durable: false });
      record.append({ job: 'job-b', phase: 'started', offset: 0, length: input.length, resume: {} });
      record.close();
      await interruptedRun(path);
      killedAt('job-b', data!, point);
      const again = await runFarmJob('job-b', data!);
      expect(again.action).toBe(point === 'settle-journaled' ? 'resumed' : 'already-done');
      expect(readFileSync(path).equals(expectedBrighten(input, RUN.by))).toBe(true);
      expect(steps(path, 'job-b')).toEqual(['started', 'journaled', 'done']);
    }
  });

  it('a journal never written (killed as it was created) counts as no change', async () => {
    const input = randomBytes(MiB, 300);
    const path = fixture(input);
    const [data] = await prepareJobs(path, RUN);
    const record = FarmRecord.lock(path, { durable: false });
    record.append({ job: 'job-c', phase: 'started', offset: 0, length: input.length, resume: {} });
    record.close();
    writeFileSync(journalPathFor(path), Buffer.alloc(16 * KiB));
    const result = await runFarmJob('job-c', data!);
    expect(result.action).toBe('brightened');
    expect(readFileSync(path).equals(expectedBrighten(input, RUN.by))).toBe(true);
    expect(steps(path, 'job-c')).toEqual(['started', 'untouched', 'started', 'journaled', 'done']);
  });

  it("jobs on ranges of one file: the next job finishes a killed one's run first", async () => {
    const input = randomBytes(2 * MiB, 400);
    const path = fixture(input);
    const [first, second] = await prepareJobs(path, RUN, { split: MiB });
    expect([first!.offset, first!.length, second!.offset, second!.length]).toEqual([0, MiB, MiB, MiB]);
    killedAt('range-1', first!, 'journaled');
    const next = await runFarmJob('range-2', second!);
    expect(next).toMatchObject({ action: 'brightened', settled: ['range-1'], offset: MiB, length: MiB });
    expect((await runFarmJob('range-1', first!)).action).toBe('already-done');
    expect(readFileSync(path).equals(expectedBrighten(input, RUN.by))).toBe(true);
  });
});

describe('a job whose file changed, vanished or is refused fails, and changes nothing', () => {
  it('a file changed after enqueueing (even with its old mtime put back)', async () => {
    const input = randomBytes(MiB, 500);
    const path = fixture(input);
    // A whole second, which utimes can put back exactly.
    utimesSync(path, 1_700_000_000, 1_700_000_000);
    const [data] = await prepareJobs(path, RUN);
    const changed = Buffer.from(input);
    changed[12345] ^= 0xff;
    writeFileSync(path, changed);
    utimesSync(path, 1_700_000_000, 1_700_000_000);
    await expect(runFarmJob('job-d', data!)).rejects.toMatchObject({
      code: 'ERR_FARM_FILE_CHANGED',
      message: expect.stringMatching(/changed after it was enqueued \(its contents changed\)/),
    });
    expect(readFileSync(path).equals(changed)).toBe(true);
    expect(readRecord(path).jobs.has('job-d')).toBe(false);
  });

  it('a file that vanished', async () => {
    const path = fixture(randomBytes(64 * KiB, 501));
    const [data] = await prepareJobs(path, RUN);
    unlinkSync(path);
    await expect(runFarmJob('job-e', data!)).rejects.toMatchObject({
      code: 'ENOENT',
      message: `${path} vanished after it was enqueued`,
    });
    expect(existsSync(recordPathFor(path))).toBe(false);
  });

  it('a worker that sees another folder at the path, or none, refuses', async () => {
    const folder = join(tmp.dir, 'shared');
    mkdirSync(folder);
    const input = randomBytes(64 * KiB, 502);
    const path = fixture(input, folder);
    const [data] = await prepareJobs(path, RUN);
    renameSync(folder, `${folder}-moved`);
    await expect(runFarmJob('job-f', data!)).rejects.toMatchObject({
      code: 'ERR_FARM_STORAGE',
      message: expect.stringMatching(/cannot see .*shared \(ENOENT\)/),
    });
    mkdirSync(folder);
    await expect(runFarmJob('job-f', data!)).rejects.toMatchObject({
      code: 'ERR_FARM_STORAGE',
      message: expect.stringMatching(/is another folder than the one the job was enqueued in/),
    });
    const moved = join(`${folder}-moved`, path.slice(folder.length + 1));
    expect(readFileSync(moved).equals(input)).toBe(true);
  });

  it("another program's interrupted run: the file changed, and the job never applies over it", async () => {
    const input = randomBytes(MiB, 503);
    const path = fixture(input);
    const [data] = await prepareJobs(path, RUN);
    await interruptedRun(path);
    const half = readFileSync(path);
    await expect(runFarmJob('job-g', data!)).rejects.toMatchObject({ code: 'ERR_FARM_FILE_CHANGED' });
    expect(readFileSync(path).equals(half)).toBe(true);
    expect(readRecord(path).jobs.has('job-g')).toBe(false);
    // Once that run is finished, the file is still not the one enqueued.
    await resumeFile(path);
    await expect(runFarmJob('job-g', data!)).rejects.toMatchObject({ code: 'ERR_FARM_FILE_CHANGED' });
    expect(readFileSync(path).equals(expectedBrighten(input, RUN.by))).toBe(true);
  });

  it("another program's journal that changed nothing yet: refused by the pipeline, recorded untouched", async () => {
    const input = randomBytes(MiB, 507);
    const path = fixture(input);
    const [data] = await prepareJobs(path, RUN);
    writeFileSync(journalPathFor(path), Buffer.alloc(16 * KiB));
    await expect(runFarmJob('job-k', data!)).rejects.toMatchObject({ code: 'ERR_JOURNAL_EXISTS' });
    expect(readFileSync(path).equals(input)).toBe(true);
    expect(steps(path, 'job-k')).toEqual(['started', 'untouched']);
  });

  it('a file whose record another worker holds is busy', async () => {
    const input = randomBytes(64 * KiB, 504);
    const path = fixture(input);
    const [data] = await prepareJobs(path, RUN);
    const held = FarmRecord.lock(path, { durable: false });
    try {
      await expect(runFarmJob('job-h', data!)).rejects.toMatchObject({ code: 'ERR_FILE_LOCKED' });
    } finally {
      held.close();
    }
    expect(readFileSync(path).equals(input)).toBe(true);
    expect((await runFarmJob('job-h', data!)).action).toBe('brightened');
  });

  it('enqueueing refuses what a run would refuse, and what a job cannot carry', async () => {
    const path = fixture(randomBytes(MiB, 505));
    const cases: [Record<string, unknown>, Record<string, unknown>, RegExp][] = [
      [{ by: 70000 }, {}, /Expected an integer from -65535 to 65535 for by/],
      [{ by: 1, out: join(tmp.dir, 'x.raw') }, {}, /no out option: farm jobs brighten in place/],
      [{ by: 1, journal: false }, {}, /needs its journal/],
      [{ by: 1, onProgress: () => {} }, {}, /no callbacks or signals/],
      [{ by: 1, window: new Map() }, {}, /a JSON value/],
      [{ by: 1 }, { split: 12 }, /a positive multiple of 8 bytes for split/],
      [{ by: 1, length: 12 }, {}, /multiple of 8/],
    ];
    for (const [options, enqueue, message] of cases) {
      await expect(prepareJobs(path, options as never, enqueue)).rejects.toMatchObject({
        code: 'ERR_INVALID_ARG_VALUE',
        message: expect.stringMatching(message),
      });
    }
    await expect(prepareJobs(join(tmp.dir, 'missing.raw'), { by: 1 })).rejects.toMatchObject({
      code: 'ENOENT',
    });
    await interruptedRun(path);
    await expect(prepareJobs(path, { by: 1 })).rejects.toMatchObject({ code: 'ERR_JOURNAL_EXISTS' });
  });

  it('bigint sizes travel as numbers, and the options as given', async () => {
    const path = fixture(randomBytes(64 * KiB, 506));
    const [data] = await prepareJobs(path, { by: 5, window: 32n * 1024n, offset: 8n, channels: 'rgba' });
    expect(data!.options).toEqual({ by: 5, window: 32 * KiB, offset: 8, channels: 'rgba' });
    expect([data!.offset, data!.length]).toEqual([8, 64 * KiB - 8]);
  });
});

describe('the record', () => {
  it('a torn or damaged line counts as never written', async () => {
    const input = randomBytes(64 * KiB, 600);
    const path = fixture(input);
    const [data] = await prepareJobs(path, RUN);
    await runFarmJob('job-i', data!);
    const recordPath = recordPathFor(path);
    // A step whose CRC fails (one character changed), then a line torn by a crash.
    const forged = readFileSync(recordPath, 'utf8').split('\n')[0]!.replace('"started"', '"untouch"');
    appendFileSync(recordPath, `${forged}\n{"job":"job-i","phase":"star`);
    const state = readRecord(path);
    expect(state.jobs.get('job-i')?.phase).toBe('done');
    expect(state.endsClean).toBe(false);
    // The next job on the file starts on a line of its own and is read back whole.
    const [next] = await prepareJobs(path, RUN);
    expect((await runFarmJob('job-j', next!)).action).toBe('brightened');
    expect(readRecord(path).jobs.get('job-j')?.phase).toBe('done');
    expect(readFileSync(path).equals(expectedBrighten(expectedBrighten(input, RUN.by), RUN.by))).toBe(true);
  });
});
