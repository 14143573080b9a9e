/**
 * One farm job, run exactly once whatever kills it: a job is one file (or one byte range of it) and the
 * options of its run, and its effect on the file happens once even when workers die at any moment and
 * the job is handed from worker to worker.
 *
 * What makes it so is the order of three kinds of facts, all kept with the file on shared storage:
 * - the run's undo journal (the pipeline's own): while it exists, the run can be finished by `resumeFile`;
 * - the farm's record beside the file (record.ts): a log of each job's steps, appended under a lock;
 * - the file's identity (identity.ts): a file changed by anyone else is refused, never brightened.
 *
 * A job, holding its file's record lock:
 * 1. settles the record's unfinished job, if any (at most one: the lock holder settles it before it
 *    starts its own): with a journal, the run is resumed; without one, a run recorded `journaled` had
 *    finished (its journal is removed only by success), and a run recorded only `started` changed nothing;
 * 2. stops if its own job is `done` (a worker died after the run, before telling the queue);
 * 3. checks the file is as it was enqueued, or as the last farm job left it;
 * 4. appends `started`, runs `brightenFile`, appends `journaled` at the first finished window (the
 *    journal then exists and records a change, so it can no longer vanish but by success), and `done`.
 *
 * A kill between any two of these leaves a state that step 1 reads correctly: before `started` or with
 * only `started` and no journal, nothing changed; with a journal, resume finishes the same run; with
 * `journaled` and no journal, the run finished. No step relies on Redis, so a Redis that forgets a
 * completion runs the job again and step 2 stops it.
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, isAbsolute } from 'node:path';
import { pendingJournal } from '../brighten/journal.js';
import {
  type BrightenOptions,
  brightenFile,
  type Progress,
  type ResumeOptions,
  resumeFile,
} from '../brighten/pipeline.js';
import { errorCode, RawbrightError } from '../errors.js';
import { MappedFile } from '../file/mapped-file.js';
import { isPlainObject } from '../validate.js';
import { describeChange, type FileIdentity, fileIdentity, folderIdentity, sameIdentity } from './identity.js';
import { FarmRecord, type RecordLine, WORKER_NAME } from './record.js';

/**
 * A run's options as a job carries them: everything `brightenFile` takes but the callbacks, as plain
 * JSON, passed through as they are (so options the pipeline gains later travel without a change here).
 */
export type FarmRunOptions = Omit<BrightenOptions, 'signal' | 'onProgress' | 'out' | 'overwrite' | 'tuning'> &
  Record<string, unknown>;

/** A job's data in the queue (JSON). */
export interface FarmJobData {
  version: 1;
  /** The file, as an absolute path that is the same on every worker. */
  path: string;
  options: FarmRunOptions;
  /** The range this job brightens, as enqueued (for reports; the run takes it from `options`). */
  offset: number;
  length: number;
  /** The file and its folder when the job was enqueued. */
  file: FileIdentity;
  folder: { ino: number };
}

/** What a job did. */
export type FarmAction = 'brightened' | 'resumed' | 'already-done';

/** A job's result, the job's return value in the queue. */
export interface FarmJobResult {
  job: string;
  path: string;
  /** The range the job brightens, and the file's size when enqueued. */
  offset: number;
  length: number;
  fileSize: number;
  /**
   * `brightened`: this attempt ran the whole job; `resumed`: it finished the run of an attempt that was
   * killed; `already-done`: an earlier attempt had finished it (the result was not yet in the queue).
   */
  action: FarmAction;
  /** Bytes brightened by this attempt, and its run time. */
  bytes: number;
  seconds: number;
  worker: string;
  /** Other jobs on the same file whose killed runs this attempt finished first. */
  settled?: string[];
}

/** Named moments of a job, for tests that kill a worker at each of them. */
export type JobPoint =
  | 'locked'
  | 'started'
  | 'journaled'
  | 'brightened'
  | 'done'
  | 'settle-journaled'
  | 'settle-resumed';

export interface RunJobContext {
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
  /**
   * Called with the job's path once its record is locked, before anything is decided: the worker's
   * check that the lock excludes other machines too. Returns the release.
   */
  claim?: (path: string) => Promise<() => Promise<void>>;
  /** @internal Called at each {@link JobPoint}. */
  at?: (point: JobPoint) => void;
}

/** The codes that mean this worker cannot be trusted with the farm's files: it must stop. */
export const WORKER_REFUSALS: readonly string[] = ['ERR_FARM_STORAGE', 'ERR_FARM_LOCKS_BROKEN'];

/** Checks a job's data from the queue (written by a possibly different version, or by hand). */
export function checkJobData(data: unknown): FarmJobData {
  const d = data as Partial<FarmJobData> | undefined;
  const ok =
    isPlainObject(d) &&
    d.version === 1 &&
    typeof d.path === 'string' &&
    isAbsolute(d.path) &&
    isPlainObject(d.options) &&
    typeof d.offset === 'number' &&
    typeof d.length === 'number' &&
    isPlainObject(d.file) &&
    typeof d.file.ino === 'number' &&
    typeof d.file.mtimeNs === 'string' &&
    isPlainObject(d.folder) &&
    typeof d.folder.ino === 'number';
  if (!ok) throw new RawbrightError('ERR_FARM_JOB', 'the job is not a rawbright farm job of this version');
  return d as FarmJobData;
}

/** The worker must see the folder the job was enqueued in, at the same path: else it is not on the same storage. */
function checkStorage(data: FarmJobData): void {
  const folder = dirname(data.path);
  let seen: { ino: number };
  try {
    seen = folderIdentity(data.path);
  } catch (error) {
    throw new RawbrightError(
      'ERR_FARM_STORAGE',
      `this worker cannot see ${folder} (${errorCode(error) ?? 'unknown error'}), where the job's file was enqueued: every worker needs the shared storage at the same path`,
      { path: folder },
    );
  }
  if (seen.ino !== data.folder.ino) {
    throw new RawbrightError(
      'ERR_FARM_STORAGE',
      `${folder} on this worker is another folder than the one the job was enqueued in: every worker needs the shared storage at the same path`,
      { path: folder },
    );
  }
  try {
    statSync(data.path);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') {
      throw new RawbrightError('ENOENT', `${data.path} vanished after it was enqueued`, { path: data.path });
    }
    throw error;
  }
}

/** The pending run's journal of `path`, if any, as the pipeline finds it (its marker, or beside the file). */
function probeJournal(path: string): string | undefined {
  const file = MappedFile.open(path, { access: 'read' });
  try {
    return pendingJournal(file);
  } finally {
    file.close();
  }
}

/**
 * True once a journal's header is written. A journal appears at its full size, all zeros, and its
 * header page is written first: until then its run changed nothing, and `resumeFile` discards it.
 */
function journalWritten(journalPath: string): boolean {
  const page = Buffer.alloc(4096);
  const fd = openSync(journalPath, 'r');
  try {
    const read = readSync(fd, page, 0, page.length, 0);
    return page.subarray(0, read).some((byte) => byte !== 0);
  } finally {
    closeSync(fd);
  }
}

/** The resume options a job's run would need, from its options. */
function resumeOptions(options: FarmRunOptions): Record<string, unknown> {
  const picked: Record<string, unknown> = {};
  for (const key of ['kernel', 'strategy', 'workers'] as const) {
    if (options[key] !== undefined) picked[key] = options[key];
  }
  return picked;
}

/**
 * Settles the record's unfinished job (step 1 above).
 * @returns The job settled and whether that needed a resume, if there was one.
 */
async function settle(
  record: FarmRecord,
  ctx: RunJobContext,
): Promise<{ job: string; resumed: boolean; bytes: number; seconds: number } | undefined> {
  const unfinished = [...record.state.jobs.values()].filter(
    (line) => line.phase === 'started' || line.phase === 'journaled',
  );
  if (unfinished.length === 0) return undefined;
  if (unfinished.length > 1) {
    throw new RawbrightError(
      'ERR_FARM_RECORD',
      `the farm record ${record.recordPath} has ${unfinished.length} unfinished jobs, where its lock allows one`,
      { path: record.recordPath },
    );
  }
  const line = unfinished[0] as RecordLine;
  const path = record.path;
  const journal = probeJournal(path);
  if (journal === undefined) {
    if (line.phase === 'journaled') {
      record.append({ job: line.job, phase: 'done', file: fileIdentity(path) });
      return { job: line.job, resumed: false, bytes: 0, seconds: 0 };
    }
    // No pixel changed, but the run's space check may have touched the file's times: record the file as it is.
    record.append({ job: line.job, phase: 'untouched', file: fileIdentity(path) });
    return undefined;
  }
  // From here on the journal can only end by a resume's success: record that before resuming.
  if (journalWritten(journal) && line.phase !== 'journaled') {
    record.append({ job: line.job, phase: 'journaled' });
    ctx.at?.('settle-journaled');
  }
  const journaled = record.state.jobs.get(line.job)?.phase === 'journaled';
  const report = await resumeFile(path, {
    ...(line.resume as ResumeOptions | undefined),
    ...(ctx.signal !== undefined && { signal: ctx.signal }),
    ...(ctx.onProgress !== undefined && { onProgress: ctx.onProgress }),
  });
  ctx.at?.('settle-resumed');
  if (report.resumed || journaled) {
    record.append({ job: line.job, phase: 'done', file: fileIdentity(path) });
    return report.resumed
      ? { job: line.job, resumed: true, bytes: report.bytes, seconds: report.seconds }
      : { job: line.job, resumed: false, bytes: 0, seconds: 0 };
  }
  // A journal never written: its run was stopped before it changed anything, and resume removed it.
  record.append({ job: line.job, phase: 'untouched', file: fileIdentity(path) });
  return undefined;
}

/** Refuses a file that is neither the one enqueued nor the one the last finished job left. */
function checkFileUnchanged(data: FarmJobData, record: FarmRecord): void {
  const now = fileIdentity(data.path);
  const last = record.state.last;
  if (!sameIdentity(now, data.file) && !(last !== undefined && sameIdentity(now, last))) {
    throw new RawbrightError(
      'ERR_FARM_FILE_CHANGED',
      `${data.path} changed after it was enqueued (${describeChange(last ?? data.file, now)}); it was not brightened`,
      { path: data.path },
    );
  }
}

/**
 * Brightens the job's range, recording in order: started (before any byte changes), journaled (at the first
 * progress, synchronously), untouched (when refused for another run's journal) or done.
 */
async function brightenRecorded(
  jobId: string,
  data: FarmJobData,
  ctx: RunJobContext,
  record: FarmRecord,
): Promise<Awaited<ReturnType<typeof brightenFile>>> {
  record.append({
    job: jobId,
    phase: 'started',
    offset: data.offset,
    length: data.length,
    resume: resumeOptions(data.options),
  });
  ctx.at?.('started');
  let journaled = false;
  let report: Awaited<ReturnType<typeof brightenFile>>;
  try {
    report = await brightenFile(data.path, {
      ...(data.options as BrightenOptions),
      ...(ctx.signal !== undefined && { signal: ctx.signal }),
      onProgress: (progress) => {
        if (!journaled && progress.bytesDone > 0) {
          // Synchronous: written before the run can finish and remove its journal.
          record.append({ job: jobId, phase: 'journaled' });
          journaled = true;
          ctx.at?.('journaled');
        }
        ctx.onProgress?.(progress);
      },
    });
  } catch (error) {
    // Refused for another run's journal, this run created none and changed nothing.
    if (errorCode(error) === 'ERR_JOURNAL_EXISTS') record.append({ job: jobId, phase: 'untouched' });
    throw error;
  }
  ctx.at?.('brightened');
  record.append({ job: jobId, phase: 'done', file: fileIdentity(data.path) });
  ctx.at?.('done');
  return report;
}

/**
 * Runs one job exactly once (see the module's comment for how).
 * @throws {RawbrightError} `ERR_FILE_LOCKED` (another worker or program holds the file: try later),
 * `ERR_FARM_STORAGE` / `ERR_FARM_LOCKS_BROKEN` (this worker cannot be trusted with the storage),
 * `ERR_FARM_FILE_CHANGED`, `ENOENT` (the file vanished), `ERR_ABORTED` (the journal is kept: the next
 * attempt resumes), or the pipeline's refusal of the run.
 */
export async function runFarmJob(
  jobId: string,
  data: FarmJobData,
  ctx: RunJobContext = {},
): Promise<FarmJobResult> {
  checkStorage(data);
  const durable = data.options.durable === true;
  const record = FarmRecord.lock(data.path, { durable });
  const base = {
    job: jobId,
    path: data.path,
    offset: data.offset,
    length: data.length,
    fileSize: data.file.size,
    worker: WORKER_NAME,
  };
  try {
    ctx.at?.('locked');
    const release = await ctx.claim?.(data.path);
    try {
      const settled = await settle(record, ctx);
      const others = settled !== undefined && settled.job !== jobId ? { settled: [settled.job] } : {};
      if (record.state.jobs.get(jobId)?.phase === 'done') {
        const resumed = settled?.job === jobId && settled.resumed;
        return {
          ...base,
          action: resumed ? 'resumed' : 'already-done',
          bytes: resumed ? settled.bytes : 0,
          seconds: resumed ? settled.seconds : 0,
          ...others,
        };
      }
      checkFileUnchanged(data, record);
      const report = await brightenRecorded(jobId, data, ctx, record);
      return { ...base, action: 'brightened', bytes: report.bytes, seconds: report.seconds, ...others };
    } finally {
      await release?.();
    }
  } finally {
    record.close();
  }
}
