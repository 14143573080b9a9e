/**
 * The farm's queue: a BullMQ queue on Redis holding one job per file (or per byte range of a file),
 * added by {@link FarmQueue.enqueue} and described by {@link FarmQueue.status}.
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { pendingJournal } from '../brighten/journal.js';
import { type BrightenOptions, brightenFile } from '../brighten/pipeline.js';
import { errorCode, invalidParameterError, RawbrightError } from '../errors.js';
import { MappedFile } from '../file/mapped-file.js';
import { byteCount, options as checkOptions, nonEmptyString } from '../validate.js';
import { fileIdentity, folderIdentity } from './identity.js';
import type { FarmJobData, FarmJobResult, FarmRunOptions } from './job.js';

/** Where the farm is: a Redis server and a queue on it. */
export interface FarmConnectionOptions {
  /** [`$RAWBRIGHT_REDIS`, else `redis://127.0.0.1:6379`] */
  redis?: string;
  /** The queue's name [`'rawbright'`]. */
  queue?: string;
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_QUEUE = 'rawbright';
/** Every job has this BullMQ job name. */
const JOB_NAME = 'brighten';

const QUEUE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** The farm's settings, checked. */
export function farmSettings(o: FarmConnectionOptions = {}): { url: string; queue: string } {
  const given = checkOptions('options', o);
  const url = nonEmptyString('redis', given.redis ?? process.env.RAWBRIGHT_REDIS ?? DEFAULT_REDIS_URL);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidParameterError('redis', 'a redis:// or rediss:// URL', url);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw invalidParameterError('redis', 'a redis:// or rediss:// URL', url);
  }
  const queue = given.queue ?? DEFAULT_QUEUE;
  if (typeof queue !== 'string' || !QUEUE_NAME.test(queue)) {
    throw invalidParameterError('queue', 'a name of letters, digits, ".", "_" and "-"', queue);
  }
  return { url, queue };
}

/** The URL without its password, for messages. */
export function printableUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString();
}

/**
 * A Redis client. `'worker'` clients wait out a Redis restart (BullMQ needs them to retry forever);
 * `'command'` clients give up after a few seconds, so that a wrong URL is an error, not a hang.
 */
export async function redisClient(url: string, purpose: 'worker' | 'command'): Promise<Redis> {
  // Loaded when a farm is used, not with every import of rawbright.
  const { Redis } = await import('ioredis');
  const client =
    purpose === 'worker'
      ? new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true, disconnectTimeout: 200 })
      : new Redis(url, {
          maxRetriesPerRequest: 1,
          connectTimeout: 3000,
          lazyConnect: true,
          retryStrategy: () => null,
        });
  // Errors surface through the commands that fail (unhandled, ioredis would print each retry); the
  // last one says why a connection failed.
  client.on('error', (error: Error) => {
    lastErrors.set(client, error);
  });
  return client;
}

const lastErrors = new WeakMap<Redis, Error>();

/** Connects, or fails with one line that names the server. */
export async function connectRedis(client: Redis, url: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('no answer within 5 s')), 5000);
  });
  try {
    await Promise.race([client.connect().then(() => client.ping()), timeout]);
  } catch (error) {
    // Disconnecting a closed client would hold the process for ioredis's disconnect timer.
    if (client.status !== 'end') client.disconnect();
    const cause = lastErrors.get(client) ?? error;
    throw new RawbrightError(
      'ERR_FARM_REDIS',
      `cannot reach Redis at ${printableUrl(url)}: ${cause instanceof Error ? cause.message : String(cause)}`,
    );
  } finally {
    clearTimeout(timer);
  }
}

/** A job as added. */
export interface EnqueuedJob {
  id: string;
  path: string;
  /** The range the job brightens, and the file's size. */
  offset: number;
  length: number;
  fileSize: number;
}

export interface EnqueueOptions {
  /** Split the file's range into jobs of this many bytes, a multiple of 8 (the last may be shorter). */
  split?: number | bigint;
}

/** One job as {@link FarmQueue.status} lists it. */
export interface FarmJobStatus {
  id: string;
  state: string;
  path: string;
  /** The range the job brightens, and the file's size when enqueued. */
  offset: number;
  length: number;
  fileSize: number;
  /** Bytes done by the job's latest attempt, as it last reported them. */
  progress?: { bytesDone: number; bytesTotal: number };
  /** Completed jobs. */
  result?: FarmJobResult;
  /** Failed jobs: the code and message of the failure. */
  error?: { code: string; message: string };
  /** Times a worker died with it and another took it over. */
  stalls: number;
  enqueuedAt: number;
  startedAt?: number;
  finishedAt?: number;
}

export interface FarmStatus {
  queue: string;
  redis: string;
  counts: { waiting: number; active: number; delayed: number; completed: number; failed: number };
  /** Jobs by state, at most `limit` of each. */
  jobs: FarmJobStatus[];
  summary: {
    jobs: number;
    /** Bytes of every job, and of the completed ones. */
    bytesTotal: number;
    bytesDone: number;
    /** Bytes done so far by the active jobs. */
    bytesInProgress: number;
    /** Completed jobs by what their last attempt did. */
    actions: Record<string, number>;
    /** From the first job started to the last job finished. */
    seconds: number;
    gbps: number;
    jobsPerSecond: number;
  };
}

const STATES = ['active', 'waiting', 'prioritized', 'delayed', 'failed', 'completed'] as const;

/** A failure's reason as workers write it: `CODE: message`. */
function parseFailure(reason: string | undefined): { code: string; message: string } {
  const match = /^([A-Z][A-Z0-9_]+): ([\s\S]*)$/.exec(reason ?? '');
  return match
    ? { code: match[1] as string, message: match[2] as string }
    : { code: 'ERR_FARM_JOB', message: reason ?? '' };
}

/** JSON only: a job crosses machines. BigInts become numbers where exact; anything else is refused. */
function toJson(options: Record<string, unknown>): FarmRunOptions {
  for (const key of ['signal', 'onProgress']) {
    if (options[key] !== undefined) {
      throw invalidParameterError(
        key,
        'no callbacks or signals in a farm job (its options travel as JSON)',
        options[key],
      );
    }
  }
  if (options.out !== undefined) {
    throw invalidParameterError('out', 'no out option: farm jobs brighten in place', options.out);
  }
  if (options.journal === false) {
    throw invalidParameterError(
      'journal',
      "true: a farm job needs its journal to survive a worker's death",
      false,
    );
  }
  const text = JSON.stringify(options, (key, value) => {
    if (typeof value === 'bigint') return byteCount(key, value);
    if (typeof value === 'function' || typeof value === 'symbol') {
      throw invalidParameterError(key, 'a JSON value (a farm job travels as JSON)', value);
    }
    const prototype = value !== null && typeof value === 'object' ? Object.getPrototypeOf(value) : null;
    if (prototype === null || prototype === Object.prototype || Array.isArray(value)) return value;
    throw invalidParameterError(key, 'a JSON value (a farm job travels as JSON)', value);
  });
  return JSON.parse(text) as FarmRunOptions;
}

/**
 * Checks a run as `brightenFile` would, with nothing changed: a run whose signal is already aborted
 * checks its options, the file and its range, then stops before it locks or writes anything. Options
 * the pipeline gains later are checked the same way, with no change here.
 */
async function checkRun(path: string, options: FarmRunOptions): Promise<void> {
  try {
    await brightenFile(path, { ...(options as BrightenOptions), signal: AbortSignal.abort() });
  } catch (error) {
    if (errorCode(error) === 'ERR_ABORTED') return;
    throw error;
  }
  throw new RawbrightError('ERR_FARM_CHECK', `checking the run on ${path} changed nothing but did not stop`);
}

/**
 * The jobs that brighten one file in place with `options` (those of `brightenFile`), checked as
 * `brightenFile` would check the run: a run that would be refused makes no job. For queues of your own;
 * {@link FarmQueue.enqueue} adds them to the farm's.
 * @throws {RawbrightError} the run's refusal (`ENOENT`, `ERR_INVALID_ARG_VALUE`, …), `ERR_JOURNAL_EXISTS`.
 */
export async function prepareJobs(
  path: string,
  options: FarmRunOptions,
  enqueueOptions: EnqueueOptions = {},
): Promise<FarmJobData[]> {
  const absolute = resolve(nonEmptyString('path', path));
  const run = toJson(checkOptions('options', options));
  const given = checkOptions('enqueueOptions', enqueueOptions);
  const split = given.split === undefined ? undefined : byteCount('split', given.split);
  if (split !== undefined && (split === 0 || split % 8 !== 0)) {
    throw invalidParameterError('split', 'a positive multiple of 8 bytes', split);
  }
  await checkRun(absolute, run);
  const file = MappedFile.open(absolute, { access: 'read' });
  try {
    if (pendingJournal(file) !== undefined) {
      throw new RawbrightError(
        'ERR_JOURNAL_EXISTS',
        `${absolute} has an interrupted run: finish it with 'rawbright resume ${absolute}' before enqueueing it`,
        { path: absolute },
      );
    }
  } finally {
    file.close();
  }
  const identity = fileIdentity(absolute);
  const folder = folderIdentity(absolute);
  const offset = run.offset === undefined ? 0 : Number(run.offset);
  const length = run.length === undefined ? identity.size - offset : Number(run.length);
  const ranges: [number, number][] = [];
  if (split === undefined) ranges.push([offset, length]);
  else
    for (let at = offset; at < offset + length; at += split)
      ranges.push([at, Math.min(split, offset + length - at)]);
  return ranges.map(([start, bytes]) => ({
    version: 1,
    path: absolute,
    options: split === undefined ? run : { ...run, offset: start, length: bytes },
    offset: start,
    length: bytes,
    file: identity,
    folder,
  }));
}

/** A connection to the farm's queue. Close it when done. */
export class FarmQueue {
  readonly url: string;
  readonly name: string;
  readonly queue: Queue<FarmJobData, FarmJobResult>;
  readonly #client: Redis;

  private constructor(url: string, name: string, client: Redis, queue: Queue<FarmJobData, FarmJobResult>) {
    this.url = url;
    this.name = name;
    this.#client = client;
    this.queue = queue;
  }

  /**
   * Connects to the farm.
   * @throws {RawbrightError} `ERR_FARM_REDIS` when Redis cannot be reached; `ERR_INVALID_ARG_VALUE`.
   */
  static async open(options: FarmConnectionOptions = {}): Promise<FarmQueue> {
    const { url, queue } = farmSettings(options);
    const client = await redisClient(url, 'command');
    await connectRedis(client, url);
    const { Queue } = await import('bullmq');
    return new FarmQueue(
      url,
      queue,
      client,
      new Queue<FarmJobData, FarmJobResult>(queue, { connection: client }),
    );
  }

  /**
   * Adds the jobs that brighten one file in place with `options` (those of `brightenFile`), after
   * checking the run as `brightenFile` would: a run that would be refused is not enqueued.
   * @returns The jobs added, one per range.
   * @throws {RawbrightError} the run's refusal (`ENOENT`, `ERR_INVALID_ARG_VALUE`, …), `ERR_JOURNAL_EXISTS`.
   */
  async enqueue(
    path: string,
    options: FarmRunOptions,
    enqueueOptions: EnqueueOptions = {},
  ): Promise<EnqueuedJob[]> {
    const jobs = (await prepareJobs(path, options, enqueueOptions)).map((data) => ({
      name: JOB_NAME,
      data,
      opts: { jobId: randomUUID(), attempts: 1 },
    }));
    // One call: a file's ranges are all enqueued or none are.
    const added = await this.queue.addBulk(jobs);
    return added.map(({ id, data }) => ({
      id: id as string,
      path: data.path,
      offset: data.offset,
      length: data.length,
      fileSize: data.file.size,
    }));
  }

  /** Describes the queue: counts, jobs (at most `limit` of each state, oldest first) and a summary of all. */
  async status(options: { limit?: number } = {}): Promise<FarmStatus> {
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    // A snapshot state by state: a job that moves meanwhile may show in two states or none.
    const byState = new Map<string, FarmJobStatus[]>();
    for (const state of STATES) {
      const found = (await this.queue.getJobs([state], 0, -1, true)) as (
        | Job<FarmJobData, FarmJobResult>
        | undefined
      )[];
      byState.set(
        state,
        found.filter((job) => job !== undefined).map((job) => describeJob(job, state)),
      );
    }
    const all = [...byState.values()].flat();
    const count = (state: string) => byState.get(state)?.length ?? 0;
    let bytesDone = 0;
    let bytesInProgress = 0;
    let first = Number.POSITIVE_INFINITY;
    let lastEnd = 0;
    const actions: Record<string, number> = {};
    for (const job of all) {
      if (job.state === 'completed') {
        bytesDone += job.length;
        const action = job.result?.action ?? 'unknown';
        actions[action] = (actions[action] ?? 0) + 1;
      }
      if (job.state === 'active' && job.progress !== undefined) bytesInProgress += job.progress.bytesDone;
      if (job.state === 'completed' || job.state === 'failed') {
        if (job.startedAt !== undefined) first = Math.min(first, job.startedAt);
        if (job.finishedAt !== undefined) lastEnd = Math.max(lastEnd, job.finishedAt);
      }
    }
    const seconds = Number.isFinite(first) && lastEnd > first ? (lastEnd - first) / 1000 : 0;
    const listed = STATES.flatMap((state) => (byState.get(state) ?? []).slice(0, limit));
    return {
      queue: this.name,
      redis: printableUrl(this.url),
      counts: {
        waiting: count('waiting') + count('prioritized'),
        active: count('active'),
        delayed: count('delayed'),
        completed: count('completed'),
        failed: count('failed'),
      },
      jobs: listed,
      summary: {
        jobs: all.length,
        bytesTotal: all.reduce((sum, job) => sum + job.length, 0),
        bytesDone,
        bytesInProgress,
        actions,
        seconds,
        gbps: seconds > 0 ? bytesDone / seconds / 1e9 : 0,
        jobsPerSecond: seconds > 0 ? count('completed') / seconds : 0,
      },
    };
  }

  async close(): Promise<void> {
    await this.queue.close();
    this.#client.disconnect();
  }
}

function describeJob(job: Job<FarmJobData, FarmJobResult>, state: string): FarmJobStatus {
  const progress = job.progress as { bytesDone?: unknown; bytesTotal?: unknown } | number;
  const status: FarmJobStatus = {
    id: job.id as string,
    state: state === 'prioritized' ? 'waiting' : state,
    path: job.data.path,
    offset: job.data.offset,
    length: job.data.length,
    fileSize: job.data.file.size,
    stalls: job.stalledCounter ?? 0,
    enqueuedAt: job.timestamp,
  };
  if (typeof progress === 'object' && progress !== null && typeof progress.bytesDone === 'number') {
    status.progress = { bytesDone: progress.bytesDone, bytesTotal: Number(progress.bytesTotal) };
  }
  if (state === 'completed' && job.returnvalue) status.result = job.returnvalue;
  if (state === 'failed') status.error = parseFailure(job.failedReason);
  if (job.processedOn) status.startedAt = job.processedOn;
  if (job.finishedOn) status.finishedAt = job.finishedOn;
  return status;
}
