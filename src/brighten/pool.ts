/**
 * The worker pool of the brighten pipeline: starts one worker thread per slot, hands each the next
 * window as it finishes the last, reports progress, and stops on failure or abort.
 */

import type { Worker } from 'node:worker_threads';
import { abortError, errorCode, RawbrightError } from '../errors.js';
import { sharedWasmModule } from '../kernels/index.js';
import type { JournalParams } from './journal.js';
import type { FromWorker, WorkerConfig, WorkerWindow } from './protocol.js';
import type { RunResult } from './report.js';

/** What `onProgress` is told after every window. */
export interface Progress {
  bytesDone: number;
  bytesTotal: number;
  windowsDone: number;
  windowsTotal: number;
  seconds: number;
}

/** A run, ready for the workers. */
export interface RunPlan {
  path: string;
  out?: string;
  /** In order; a window with a `slot` is continued by that slot's worker, which takes it first. */
  windows: (WorkerWindow & { slot?: number })[];
  totalWindows: number;
  bytes: number;
  config: Omit<WorkerConfig, 'journal'>;
  journal?: { path: string; params: JournalParams };
  workers: number;
  /** A one-worker run goes on the calling thread (no worker thread to start), where one is free. */
  inThread?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
}

const WORKER_URL = new URL('./worker-thread.js', import.meta.url);

/**
 * `node:worker_threads`, loaded when a worker thread is first started: a run on the calling thread never
 * loads it (on Node 24, where it is not in the start-up snapshot, it is about 3 ms of a small file's run).
 */
function workerThreads(): typeof import('node:worker_threads') {
  return process.getBuiltinModule('node:worker_threads');
}

/**
 * Worker threads between runs, kept warm for the next file of a batch: starting a thread and its kernel
 * costs about 33 ms, a whole small file's run. An idle worker holds no file (it closed the last run's) and
 * does not keep the process alive; after {@link IDLE_MS} without a run it ends.
 */
const idleWorkers = new Map<Worker, () => void>();
const IDLE_MS = 2000;

/** The idle worker kept last (its kernel most likely fits this run: a batch's files share options), or a new one. */
function takeWorker(): Worker {
  const last = [...idleWorkers].at(-1);
  if (last !== undefined) {
    const [worker, forget] = last;
    forget();
    worker.ref();
    return worker;
  }
  // The wasm compiled here goes with the worker: a worker that compiled its own would leave native memory
  // behind when it exits (see sharedWasmModule).
  const shared = sharedWasmModule();
  const workerData = shared === undefined ? {} : { [shared.key]: shared.module };
  return new (workerThreads().Worker)(WORKER_URL, { workerData });
}

/** Keeps a worker that finished its run cleanly for the next one. */
function keepWorker(worker: Worker): void {
  worker.unref();
  // An idle worker that dies is simply forgotten; a run that takes it adds its own listeners.
  const forget = () => {
    clearTimeout(timer);
    idleWorkers.delete(worker);
    worker.off('exit', forget);
    worker.off('error', forget);
  };
  const timer = setTimeout(() => {
    forget();
    void worker.terminate();
  }, IDLE_MS);
  timer.unref();
  worker.on('exit', forget);
  worker.on('error', forget);
  idleWorkers.set(worker, forget);
}

/**
 * Milliseconds of a monotonic clock. Not `performance.now()`: the first use of the global `performance` loads
 * node:perf_hooks, about 1 ms of a small file's start-up.
 */
function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** The error an aborted run rejects with: an `AbortError` with code `ERR_ABORTED` (see {@link abortError}). */
export function abortedError(
  path: string,
  done: number,
  total: number,
  journaled: boolean,
  reason?: unknown,
): RawbrightError {
  const hint = journaled ? `; run 'rawbright resume ${path}' to finish` : '';
  return abortError(`brightening ${path} was interrupted after ${done} of ${total} windows${hint}`, {
    path,
    reason,
  });
}

/**
 * Runs the windows of a plan on a pool of workers; resolves with what the workers reported.
 *
 * Why it stays one long function: its closures (`takeWindow`, `windowDone`, `runHere`, `runOne`) share
 * the run's mutable state (the queue, the counts, the strategy used, the first failure, the abort);
 * split into top-level functions, that state would travel as one mutable object through each of them,
 * which hides who changes what more than the closures do.
 */
export async function runWindows(plan: RunPlan): Promise<RunResult> {
  const started = nowMs();
  const queue = [...plan.windows];
  const workerCount = Math.max(1, Math.min(plan.workers, queue.length));
  let bytesDone = 0;
  let windowsDone = plan.totalWindows - plan.windows.length;
  let strategy = plan.config.strategy;
  let fallbackReason: string | undefined;
  let failure: Error | undefined;
  let aborted = false;
  let ranHere = false;
  let kernelReused = false;
  // With `inThread`, slot 0 runs on this thread (when its processor is free) and any others on worker
  // threads beside it: this thread works from the first window while they start (40-95 ms each).
  const sharesThread = plan.inThread === true && workerCount > 1;
  /** Per worker thread that finished its part: whether it reused the kernel host of its last run. */
  const workersReused: boolean[] = [];

  const onAbort = () => {
    aborted = true;
  };
  plan.signal?.addEventListener('abort', onAbort, { once: true });
  if (plan.signal?.aborted) aborted = true;

  const takeWindow = (slot: number) => {
    // A window resumed part way belongs to the slot that records its progress (unless that slot
    // has no worker now): its worker takes it before anything else, so the record is not overwritten.
    let at = queue.findIndex((w) => w.slot === slot);
    if (at < 0) at = queue.findIndex((w) => w.slot === undefined || w.slot >= workerCount);
    return failure || aborted || at < 0 ? undefined : queue.splice(at, 1)[0];
  };
  const windowDone = (bytes: number) => {
    bytesDone += bytes;
    windowsDone++;
    try {
      plan.onProgress?.({
        bytesDone,
        bytesTotal: plan.bytes,
        windowsDone,
        windowsTotal: plan.totalWindows,
        seconds: (nowMs() - started) / 1000,
      });
    } catch (error) {
      // The caller's callback failed: stop handing out windows and reject with its error.
      failure ??= error instanceof Error ? error : new Error(String(error));
    }
  };

  /** The one slot on this thread; false when no in-thread processor was free (then a worker runs it). */
  const runHere = async (): Promise<boolean> => {
    const { openInThread } = await import('./worker.js');
    const config: WorkerConfig = { ...plan.config, journal: plan.journal && { ...plan.journal, slot: 0 } };
    const here = openInThread(config, (message) => {
      if (message.type === 'fallback') {
        strategy = 'pread';
        fallbackReason ??= message.reason;
      }
    });
    if (here === undefined) return false;
    kernelReused = here.reused;
    try {
      if (here.processor.strategy === 'pread') strategy = 'pread';
      fallbackReason ??= here.processor.fallbackReason;
      for (let window = takeWindow(0); window !== undefined; window = takeWindow(0)) {
        here.processor.process(window);
        windowDone(window.length);
        // Between windows, let signals, timers and the progress display run: an interrupt finishes
        // the window in hand and stops, as on a worker.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      here.close();
    }
    return true;
  };

  const runOne = (slot: number) =>
    new Promise<void>((resolveWorker) => {
      const config: WorkerConfig = {
        ...plan.config,
        journal: plan.journal && { ...plan.journal, slot },
      };
      const worker = takeWorker();
      let finished = false;
      let failed = false;
      let reused = false;
      /** Windows sent and not yet reported done. */
      let inHand = 0;
      const stop = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        resolveWorker();
      };
      // The run is over for this worker once it has closed the run's files and journal slot (`ended`, even
      // after a failure: ending a thread does not close its descriptors); it then waits, kept warm, for the
      // next run. One that failed is ended instead.
      const finish = () => {
        if (finished) return;
        finished = true;
        worker.postMessage({ type: 'end' });
      };
      const next = () => {
        const window = takeWindow(slot);
        if (window !== undefined) {
          inHand++;
          worker.postMessage({ type: 'window', window });
        } else if (inHand === 0) finish();
      };
      const onMessage = (message: FromWorker) => {
        switch (message.type) {
          case 'ready':
            if (message.strategy === 'pread') strategy = 'pread';
            fallbackReason ??= message.fallbackReason;
            reused = message.reused;
            next();
            // Beside a processor on this thread, whose windows hold the event loop, the worker keeps a
            // second window in hand: it never waits for this thread to answer its 'done'.
            if (sharesThread) next();
            break;
          case 'fallback':
            strategy = 'pread';
            fallbackReason ??= message.reason;
            break;
          case 'done':
            inHand--;
            windowDone(message.bytes);
            next();
            break;
          case 'ended':
            workersReused.push(reused);
            stop();
            if (failed) void worker.terminate();
            else keepWorker(worker);
            break;
          case 'failed': {
            const error = new RawbrightError(errorCode(message) ?? 'ERR_WORKER', message.message, {
              path: message.path,
            });
            if (message.stack) error.stack = message.stack;
            failure ??= error;
            failed = true;
            inHand = 0;
            finish();
            break;
          }
        }
      };
      const onError = (error: Error) => {
        failure ??= error;
        finished = true;
        stop();
      };
      const onExit = () => {
        failure ??= new RawbrightError('ERR_WORKER', 'a brighten worker stopped unexpectedly');
        finished = true;
        stop();
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      worker.postMessage({ type: 'start', config });
    });

  const slotHere = async () => {
    try {
      ranHere = await runHere();
    } catch (error) {
      failure ??= error instanceof Error ? error : new Error(String(error));
      return;
    }
    if (!ranHere) await runOne(0);
  };
  try {
    await Promise.all(
      Array.from({ length: workerCount }, (_, slot) =>
        slot === 0 && plan.inThread === true ? slotHere() : runOne(slot),
      ),
    );
  } finally {
    plan.signal?.removeEventListener('abort', onAbort);
  }
  if (failure) throw failure;
  const threadsReused = workersReused.length > 0 && workersReused.every(Boolean);
  if (aborted && windowsDone < plan.totalWindows) {
    throw abortedError(
      plan.path,
      windowsDone,
      plan.totalWindows,
      plan.journal !== undefined,
      plan.signal?.reason,
    );
  }
  return {
    seconds: (nowMs() - started) / 1000,
    strategy,
    fallbackReason,
    thread: !ranHere ? 'worker' : workerCount > 1 ? 'both' : 'main',
    // Every kernel the run used was kept from an earlier run: this thread's (if it ran), the threads' (if any).
    kernelReused: (!ranHere || kernelReused) && ((ranHere && workerCount === 1) || threadsReused),
  };
}
