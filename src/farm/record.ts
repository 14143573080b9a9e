/**
 * The farm's record beside each file, `FILE.rawbright-farm`: what every farm job did to the file, kept
 * with the file itself so that it is as durable as the pixels it describes (a Redis that lost its last
 * writes cannot make a job run twice).
 *
 * The record is a log, one JSON line per step, each line carrying a CRC-32 of itself. It is only ever
 * appended to, by the one worker that holds its lock (an exclusive flock on the record file, which the
 * kernel drops when that worker dies). A line is the commit point of its step: a line torn by a crash
 * fails its CRC and counts as never written, which is the same as dying just before writing it.
 *
 * Steps of a job: `started` (before its run touches the file), `journaled` (the run's journal exists and
 * holds a finished window: from here on, no journal means the run finished), `done` (with the file's
 * identity afterwards), or `untouched` (a started run found to have changed nothing).
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, realpathSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { errorCode, RawbrightError } from '../errors.js';
import { MappedFile } from '../file/mapped-file.js';
import type { FileIdentity } from './identity.js';

export type Phase = 'started' | 'journaled' | 'done' | 'untouched';

/** One step of one job. */
export interface RecordLine {
  job: string;
  phase: Phase;
  /** ISO time, and the worker (`host:pid`) that wrote it. */
  at: string;
  worker: string;
  /** The byte range the job brightens (`started`). */
  offset?: number;
  length?: number;
  /** How to resume the job's run (`started`): the processing options of its job. */
  resume?: Record<string, unknown>;
  /** The file after the job (`done`). */
  file?: FileIdentity;
}

/** The record folded: each job's last step, and the file as the last finished job left it. */
export interface RecordState {
  jobs: Map<string, RecordLine>;
  last?: FileIdentity;
  /** False when the last line is torn: the next line must start on a line of its own. */
  endsClean: boolean;
}

const RECORD_SUFFIX = '.rawbright-farm';

/** The record's path: beside the file's real path, like its journal, so every link to the file shares it. */
export function recordPathFor(path: string): string {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    real = resolve(path);
  }
  return `${real}${RECORD_SUFFIX}`;
}

/** This worker, as records and reports name it. */
export const WORKER_NAME = `${hostname()}:${process.pid}`;

function encode(line: RecordLine): string {
  const body = JSON.stringify(line);
  return `${JSON.stringify({ ...line, crc: crc32(body) })}\n`;
}

function decode(text: string): RecordLine | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object') return undefined;
  const { crc, ...line } = parsed as Record<string, unknown>;
  if (crc !== crc32(JSON.stringify(line))) return undefined;
  const l = line as unknown as RecordLine;
  return typeof l.job === 'string' && typeof l.phase === 'string' ? l : undefined;
}

/** Folds a record's text into each job's last step. Lines that fail their CRC are skipped. */
function parseRecord(text: string): RecordState {
  const jobs = new Map<string, RecordLine>();
  let last: FileIdentity | undefined;
  for (const raw of text.split('\n')) {
    if (raw.length === 0) continue;
    const line = decode(raw);
    if (line === undefined) continue;
    jobs.set(line.job, line);
    // An untouched run changed no pixel, but may have changed the file's times: the file as it left it.
    if ((line.phase === 'done' || line.phase === 'untouched') && line.file !== undefined) last = line.file;
  }
  return { jobs, last, endsClean: text.length === 0 || text.endsWith('\n') };
}

/** Reads a file's record without its lock (for status and tests): a snapshot, possibly a step behind. */
export function readRecord(path: string): RecordState {
  try {
    return parseRecord(readFileSync(recordPathFor(path), 'utf8'));
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return { jobs: new Map(), endsClean: true };
    throw error;
  }
}

/** A file's record, locked: only its holder reads it for decisions and appends to it. */
export class FarmRecord {
  #state: RecordState;

  private constructor(
    readonly path: string,
    readonly recordPath: string,
    private readonly lock: MappedFile,
    private readonly fd: number,
    private readonly durable: boolean,
  ) {
    this.#state = parseRecord(readFileSync(recordPath, 'utf8'));
  }

  /**
   * Locks the record of `path` (creating it), without waiting.
   * @throws {RawbrightError} `ERR_FILE_LOCKED` when another worker holds it; `ERR_FARM_LOCKS_BROKEN`
   * when a second lock on the same file is granted too (locks that do not lock).
   */
  static lock(path: string, opts: { durable: boolean }): FarmRecord {
    const recordPath = recordPathFor(path);
    const created = !existsSync(recordPath);
    const fd = openSync(recordPath, 'a');
    // A durable record must survive a power cut from its first line: its name too.
    if (created && opts.durable) syncFolder(dirname(recordPath));
    let lock: MappedFile | undefined;
    try {
      lock = MappedFile.open(recordPath, { access: 'readwrite' });
      lock.lock('exclusive');
      checkLocksExclude(recordPath);
      return new FarmRecord(path, recordPath, lock, fd, opts.durable);
    } catch (error) {
      lock?.close();
      closeSync(fd);
      throw error;
    }
  }

  get state(): RecordState {
    return this.#state;
  }

  /** Appends one step; with `durable`, it is on disk before this returns. */
  append(line: Omit<RecordLine, 'at' | 'worker'>): void {
    const full: RecordLine = { ...line, at: new Date().toISOString(), worker: WORKER_NAME };
    const text = (this.#state.endsClean ? '' : '\n') + encode(full);
    const bytes = Buffer.from(text);
    // One write: the kernel appends it whole or, torn by a power cut, its CRC fails.
    for (let at = 0; at < bytes.length; ) at += writeSync(this.fd, bytes, at);
    if (this.durable) fsyncSync(this.fd);
    this.#state.jobs.set(full.job, full);
    if ((full.phase === 'done' || full.phase === 'untouched') && full.file !== undefined)
      this.#state.last = full.file;
    this.#state.endsClean = true;
  }

  /** Releases the lock. Closing first pushes the appended lines out (NFS writes back on close). */
  close(): void {
    closeSync(this.fd);
    this.lock.close();
  }
}

function syncFolder(folder: string): void {
  const fd = openSync(folder, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * A lock the file system grants twice is no lock: some network and FUSE file systems accept flock and
 * do nothing. Every lock is tested once more from a second open of the same file.
 */
function checkLocksExclude(recordPath: string): void {
  const second = MappedFile.open(recordPath, { access: 'readwrite' });
  try {
    second.lock('exclusive');
  } catch (error) {
    if (errorCode(error) === 'ERR_FILE_LOCKED') return;
    throw error;
  } finally {
    second.close();
  }
  throw new RawbrightError(
    'ERR_FARM_LOCKS_BROKEN',
    `the file system of ${recordPath} granted two exclusive locks on it at once: farm workers need locks that work (on NFS, version 4 without local_lock)`,
    { path: recordPath },
  );
}
