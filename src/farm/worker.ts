/**
 * A farm worker: takes jobs from the queue (BullMQ) and runs each exactly once ({@link runFarmJob}).
 * BullMQ keeps a lock on every active job that its worker renews; a worker that dies stops renewing,
 * and any worker's stalled-job check hands the job to the next free worker, which resumes the run.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Progress } from '../brighten/pipeline.js';
import { errorCode, invalidParameterError } from '../errors.js';
import { integerInRange } from '../validate.js';
import { redisClaims } from './claims.js';
import { checkJobData, type FarmJobData, type FarmJobResult, runFarmJob, WORKER_REFUSALS } from './job.js';
import {
  connectRedis,
  type FarmConnectionOptions,
  farmSettings,
  printableUrl,
  redisClient,
} from './queue.js';
import { WORKER_NAME } from './record.js';

export interface FarmWorkerOptions extends FarmConnectionOptions {
  /** Jobs run at once by this worker (each with its own file) [1]. */
  concurrency?: number;
  /**
   * How long a job's lock outlives a dead worker, in milliseconds: a killed worker's job is taken over
   * after about this long plus `stalledInterval` [30000].
   */
  lockDuration?: number;
  /** How often this worker looks for jobs whose worker died, in milliseconds [30000]. */
  stalledInterval?: number;
  /** Times a job may be taken over from a dead worker before it fails (a job that kills every worker) [20]. */
  maxStalls?: number;
  /** How long a claim (the cross-machine lock check) outlives a dead worker, in milliseconds [`lockDuration`]. */
  claimTtl?: number;
  /** How long a job whose file is busy waits before it is tried again, in milliseconds [2000]. */
  busyDelay?: number;
  /** Stop once no job is waiting, delayed or active anywhere in the queue [false]. */
  untilEmpty?: boolean;
  /** Told about every job's start, progress and end, and about Redis going away and coming back. */
  onEvent?: (event: FarmWorkerEvent) => void;
}

export type FarmWorkerEvent =
  | { type: 'started'; job: string; path: string; offset: number; length: number }
  | { type: 'progress'; job: string; path: string; progress: Progress }
  | { type: 'completed'; result: FarmJobResult }
  | { type: 'failed'; job: string; path: string; code: string; message: string }
  /** Back in the queue for later: its file was busy, or the run was stopped (its journal kept). */
  | { type: 'deferred'; job: string; path: string; code: string; message: string }
  | { type: 'redis'; state: 'lost' | 'back'; url: string };

/** What a worker did, once it has stopped. */
export interface FarmWorkerSummary {
  worker: string;
  completed: number;
  failed: number;
  deferred: number;
  /** Completed jobs by what they did. */
  actions: Record<string, number>;
  bytes: number;
  seconds: number;
}

function positive(name: string, value: number | undefined, fallback: number, max = 2 ** 31 - 1): number {
  return value === undefined ? fallback : integerInRange(name, value, 1, max);
}

/** A running farm worker. Stop it with {@link FarmWorker.close}; `done` settles once it has stopped. */
export class FarmWorker {
  /** This worker's name (`host:pid`), as records and results give it. */
  readonly name = WORKER_NAME;
  /**
   * Resolves with the summary once the worker has stopped; rejects with `ERR_FARM_STORAGE` or
   * `ERR_FARM_LOCKS_BROKEN` when it stopped because it cannot be trusted with the shared storage.
   */
  readonly done: Promise<FarmWorkerSummary>;

  readonly #bullmq: typeof import('bullmq');
  readonly #worker: Worker<FarmJobData, FarmJobResult>;
  readonly #clients: Redis[];
  readonly #stop = new AbortController();
  readonly #onEvent: (event: FarmWorkerEvent) => void;
  readonly #started = performance.now();
  readonly #summary: FarmWorkerSummary;
  #active = 0;
  #closing: Promise<FarmWorkerSummary> | undefined;
  #refusal: Error | undefined;
  #resolve!: (summary: FarmWorkerSummary) => void;
  #reject!: (error: Error) => void;

  private constructor(
    bullmq: typeof import('bullmq'),
    url: string,
    queue: string,
    clients: { worker: Redis; claims: Redis; poll: Redis },
    o: Required<Omit<FarmWorkerOptions, 'redis' | 'queue' | 'onEvent'>> & Pick<FarmWorkerOptions, 'onEvent'>,
  ) {
    this.#bullmq = bullmq;
    this.#clients = [clients.worker, clients.claims, clients.poll];
    this.#onEvent = o.onEvent ?? (() => {});
    this.#summary = {
      worker: this.name,
      completed: 0,
      failed: 0,
      deferred: 0,
      actions: {},
      bytes: 0,
      seconds: 0,
    };
    this.done = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // An unobserved rejection must not kill the process: callers learn of it through `done` or close().
    this.done.catch(() => {});
    const claim = redisClaims(clients.claims, queue, o.claimTtl);
    this.#worker = new bullmq.Worker<FarmJobData, FarmJobResult>(
      queue,
      (job, token, signal) => this.#process(job, token, signal, claim, o.busyDelay),
      {
        connection: clients.worker,
        name: this.name,
        concurrency: o.concurrency,
        lockDuration: o.lockDuration,
        stalledInterval: o.stalledInterval,
        maxStalledCount: o.maxStalls,
        // Seconds a worker blocks for new jobs: short, so that stopping is quick.
        drainDelay: 1,
      },
    );
    this.#worker.on('error', () => {});
    this.#watchRedis(clients.worker, url);
    if (o.untilEmpty) void this.#stopWhenEmpty(clients.poll, queue);
  }

  /**
   * Starts a worker on the farm's queue.
   * @throws {RawbrightError} `ERR_FARM_REDIS` when Redis cannot be reached; `ERR_INVALID_ARG_VALUE`.
   */
  static async start(options: FarmWorkerOptions = {}): Promise<FarmWorker> {
    const { url, queue } = farmSettings(options);
    const lockDuration = positive('lockDuration', options.lockDuration, 30_000);
    const o = {
      concurrency: positive('concurrency', options.concurrency, 1, 64),
      lockDuration,
      stalledInterval: positive('stalledInterval', options.stalledInterval, 30_000),
      maxStalls: positive('maxStalls', options.maxStalls, 20),
      claimTtl: positive('claimTtl', options.claimTtl, lockDuration),
      busyDelay: positive('busyDelay', options.busyDelay, 2000),
      untilEmpty: options.untilEmpty === true,
      onEvent: options.onEvent,
    };
    if (options.onEvent !== undefined && typeof options.onEvent !== 'function') {
      throw invalidParameterError('onEvent', 'a function', options.onEvent);
    }
    // A wrong URL fails here, at once; afterwards the worker waits out Redis restarts.
    const probe = await redisClient(url, 'command');
    await connectRedis(probe, url);
    probe.disconnect();
    const clients = {
      worker: await redisClient(url, 'worker'),
      claims: await redisClient(url, 'worker'),
      poll: await redisClient(url, 'worker'),
    };
    await Promise.all(Object.values(clients).map((client) => client.connect()));
    // Loaded when a worker starts, not with every import of rawbright.
    return new FarmWorker(await import('bullmq'), url, queue, clients, o);
  }

  async #process(
    job: Job<FarmJobData, FarmJobResult>,
    token: string | undefined,
    signal: AbortSignal | undefined,
    claim: (path: string) => Promise<() => Promise<void>>,
    busyDelay: number,
  ): Promise<FarmJobResult> {
    const id = job.id as string;
    const defer = async (delay: number) => {
      // Fails only when the job's lock is lost, and then the job is no longer this worker's anyway.
      await job.moveToDelayed(Date.now() + delay, token).catch(() => {});
      throw new this.#bullmq.DelayedError();
    };
    if (this.#stop.signal.aborted) return defer(0);
    let data: FarmJobData;
    try {
      data = checkJobData(job.data);
    } catch (error) {
      this.#summary.failed++;
      throw new this.#bullmq.UnrecoverableError(`ERR_FARM_JOB: ${(error as Error).message}`);
    }
    this.#active++;
    const stop = signal === undefined ? this.#stop.signal : AbortSignal.any([signal, this.#stop.signal]);
    this.#onEvent({ type: 'started', job: id, path: data.path, offset: data.offset, length: data.length });
    let reported = 0;
    let progressWrite: Promise<unknown> = Promise.resolve();
    const onProgress = (progress: Progress) => {
      this.#onEvent({ type: 'progress', job: id, path: data.path, progress });
      const now = performance.now();
      // A few updates a second at most, one in flight at a time; a Redis away just delays them.
      if (now - reported < 250 && progress.bytesDone < progress.bytesTotal) return;
      reported = now;
      const { bytesDone, bytesTotal, windowsDone, windowsTotal } = progress;
      progressWrite = progressWrite
        .then(() => job.updateProgress({ bytesDone, bytesTotal, windowsDone, windowsTotal }))
        .catch(() => {});
    };
    try {
      const result = await runFarmJob(id, data, { signal: stop, onProgress, claim });
      await progressWrite;
      this.#summary.completed++;
      this.#summary.bytes += result.bytes;
      this.#summary.actions[result.action] = (this.#summary.actions[result.action] ?? 0) + 1;
      this.#onEvent({ type: 'completed', result });
      return result;
    } catch (error) {
      const code = errorCode(error) ?? 'ERR_FARM_JOB';
      const message = error instanceof Error ? error.message : String(error);
      const refused = WORKER_REFUSALS.includes(code);
      if (refused || code === 'ERR_FILE_LOCKED' || code === 'ERR_RANGE_LOCKED' || code === 'ERR_ABORTED') {
        this.#summary.deferred++;
        this.#onEvent({ type: 'deferred', job: id, path: data.path, code, message });
        if (refused) this.#refuse(error as Error);
        return await defer(code === 'ERR_ABORTED' ? 0 : busyDelay);
      }
      this.#summary.failed++;
      this.#onEvent({ type: 'failed', job: id, path: data.path, code, message });
      throw new this.#bullmq.UnrecoverableError(`${code}: ${message}`);
    } finally {
      this.#active--;
    }
  }

  /** This worker cannot be trusted with the storage: its job goes back, and it stops. */
  #refuse(error: Error): void {
    this.#refusal ??= error;
    setImmediate(() => this.close().catch(() => {}));
  }

  #watchRedis(client: Redis, url: string): void {
    let lost = false;
    client.on('close', () => {
      if (lost || this.#closing) return;
      lost = true;
      this.#onEvent({ type: 'redis', state: 'lost', url: printableUrl(url) });
    });
    client.on('ready', () => {
      if (!lost) return;
      lost = false;
      this.#onEvent({ type: 'redis', state: 'back', url: printableUrl(url) });
    });
  }

  async #stopWhenEmpty(client: Redis, queue: string): Promise<void> {
    const counts = new this.#bullmq.Queue(queue, { connection: client });
    try {
      while (!this.#stop.signal.aborted) {
        await sleep(500);
        if (this.#active > 0) continue;
        try {
          const c = await counts.getJobCounts('waiting', 'prioritized', 'active', 'delayed');
          const left = Object.values(c).reduce((sum, n) => sum + n, 0);
          if (left === 0 && this.#active === 0) break;
        } catch {
          // Redis away: ask again later.
        }
      }
    } finally {
      await counts.close().catch(() => {});
    }
    this.close().catch(() => {});
  }

  /**
   * Stops the worker: runs in progress stop after their current window (their journals kept) and
   * their jobs go back to the queue for any worker to resume.
   */
  close(): Promise<FarmWorkerSummary> {
    this.#closing ??= (async () => {
      this.#stop.abort();
      await this.#worker.close();
      for (const client of this.#clients) client.disconnect();
      this.#summary.seconds = (performance.now() - this.#started) / 1000;
      if (this.#refusal !== undefined) {
        this.#reject(this.#refusal);
        throw this.#refusal;
      }
      this.#resolve(this.#summary);
      return this.#summary;
    })();
    return this.#closing;
  }
}
