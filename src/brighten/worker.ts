/**
 * A worker of the brighten pipeline: its own kernel host (wasm memory, arena, kernel), its own file
 * descriptors and its own journal slot. On a worker thread (its script, worker-thread.ts, calls
 * {@link serveWorkerThread}) it takes windows one at a time from the main thread, brightens each, and
 * reports back. Imported on the calling thread instead (a one-worker run with `inThread`), it exports the
 * same window processor for pool.ts to drive directly; this module never loads `node:worker_threads`
 * itself (about 3 ms of a small file's whole run on Node 24, where it is not in Node's start-up snapshot).
 */
import type { MessagePort } from 'node:worker_threads';
import { errorCode, RawbrightError } from '../errors.js';
import { MappedFile } from '../file/mapped-file.js';
import { type ArenaRegion, KernelHost } from '../kernels/host.js';
import { BLOCK, chunkSampleFor, Journal, type JournalSlot } from './journal.js';
import type { FromWorker, ResolvedStrategy, ToWorker, WorkerConfig, WorkerWindow } from './protocol.js';

// The run being served: on a worker thread, the one its last `start` opened; on the calling thread, the run
// of the one in-thread processor alive at a time (see openInThread). Set before a processor is built.
let config: WorkerConfig;
let send: (message: FromWorker) => void;
/** True on a worker thread serving its parent (serveWorkerThread): no in-thread processor there. */
let servingParent = false;

// The last run's kernel host (wasm memory, instance, arena), kept for the next run on this thread:
// a batch of files on one thread instantiates its kernel once. Between runs it holds no mapping.
let kept: { key: string; host: KernelHost } | undefined;

function hostOptions(c: WorkerConfig) {
  return {
    arenaBytes: c.arenaBytes,
    kernel: c.kernel,
    alignOverlays: c.alignOverlays,
    overlayMisalignment: c.overlayMisalignment,
    hugepage: c.hugepage,
  };
}

function kernelHost(c: WorkerConfig): KernelHost {
  const options = hostOptions(c);
  const key = JSON.stringify(options);
  if (kept?.key !== key) {
    kept?.host.close();
    kept = undefined;
    kept = { key, host: new KernelHost(options) };
  }
  return kept.host;
}

export class WindowProcessor {
  readonly #host: KernelHost;
  readonly #input: MappedFile;
  readonly #output: MappedFile;
  readonly #journal: Journal | undefined;
  readonly #slot: JournalSlot | undefined;
  /** The kernel records the journal itself: the slot is mapped into its memory (a `sum` journal, mmap). */
  readonly #kernelRecords: boolean;
  /** The strategy this worker runs: `pread` once overlays are unavailable, whatever was asked for. */
  strategy: ResolvedStrategy;
  fallbackReason: string | undefined;

  constructor() {
    this.#host = kernelHost(config);
    if (config.out === undefined) {
      this.#input = MappedFile.open(config.path, { access: 'readwrite' });
      this.#output = this.#input;
    } else {
      this.#input = MappedFile.open(config.path, { access: 'read' });
      this.#output = MappedFile.open(config.out, { access: 'readwrite' });
    }
    this.#journal = config.journal && Journal.openForWorker(config.journal.path, config.journal.params);
    this.#slot = config.journal && this.#journal?.slot(config.journal.slot, config.durable);
    this.strategy = config.strategy === 'mmap' && this.#host.canOverlay ? 'mmap' : 'pread';
    if (config.strategy === 'mmap' && this.strategy === 'pread') {
      this.fallbackReason =
        this.#host.overlayUnavailableReason ?? 'the WebAssembly memory is not at a stable address';
    }
    const journal = this.#journal;
    this.#kernelRecords =
      journal !== undefined &&
      journal.params.check === 'blocks' &&
      journal.params.chunk % BLOCK === 0 &&
      this.strategy === 'mmap' &&
      !config.durable &&
      this.#host.mapJournalSlot(
        journal.file,
        journal.layout.slotOffset(config.journal!.slot),
        4096 + journal.params.chunk,
      );
  }

  process(window: WorkerWindow): void {
    const host = this.#host;
    const region = this.#bringIn(window);
    try {
      if (this.#slot === undefined) this.#brightenUnjournaled(window, region);
      else this.#brightenJournaled(window, region, this.#slot);
    } finally {
      host.release();
    }
    if (config.writeback) this.#output.startWriteback(window.offset, window.length);
    this.#journal?.markDone(window.index, config.durable, this.#output);
  }

  #brightenUnjournaled(window: WorkerWindow, region: ArenaRegion): void {
    const host = this.#host;
    if (window.brightenLength > 0) {
      const skip = window.brightenOffset - window.offset;
      host.brighten(
        { ...region, pointer: region.pointer + skip, length: window.brightenLength },
        window.params ?? config.params,
      );
    }
    if (this.strategy === 'pread') {
      host.copyOut(region, this.#output, window.offset);
      if (config.durable) this.#output.syncSync();
    } else if (config.durable) {
      host.flush(region);
    }
  }

  /** In place with a journal: chunk by chunk, each saved to the ring before it changes (see journal.ts). */
  #brightenJournaled(window: WorkerWindow, region: ArenaRegion, slot: JournalSlot): void {
    const host = this.#host;
    const layout = this.#journal!.layout;
    const chunk = layout.params.chunk;
    const first = layout.chunkNumber(window.index, window.offset);
    // A window resumed part way, maybe in another slot than the one that began it: this slot's progress
    // names the chunk before, as if it had finished it, so a kill now still checks the changed part.
    if (window.offset > layout.windowOffset(window.index))
      slot.finished(first - 1, this.#journal!.sampleOf(this.#output, first - 1));
    if (this.#kernelRecords && this.strategy === 'mmap') {
      const left = host.brightenJournaled(region, window.params ?? config.params, chunk, first);
      if (left !== undefined) return;
    }
    for (let at = 0; at < window.length; at += chunk) {
      const length = Math.min(chunk, window.length - at);
      const number = layout.chunkNumber(window.index, window.offset + at);
      const piece: ArenaRegion = { ...region, pointer: region.pointer + at, length };
      // A ring filled from truncated pages (or a truncated journal) must never be marked saved.
      const ringCrc = host.copyTo(piece, slot.buffer, slot.ringOffset, this.#journal!.path);
      if (layout.params.check === 'blocks') slot.saved(number, length);
      else slot.saved(number, length, ringCrc);
      host.brighten(piece, window.params ?? config.params);
      if (this.strategy === 'pread') {
        host.copyOut(piece, this.#output, window.offset + at);
        if (config.durable) this.#output.syncSync();
      } else if (config.durable) {
        host.flush(piece);
      }
      slot.finished(number, chunkSampleFor(layout.params, host.view(piece)));
      slot.done(number);
    }
  }

  #bringIn(window: WorkerWindow): ArenaRegion {
    const host = this.#host;
    if (this.strategy === 'pread') return host.copyIn(this.#input, window.offset, window.length);
    let region: ArenaRegion;
    try {
      region = host.overlay(this.#output, window.offset, window.length, config.populate);
    } catch (error) {
      if (errorCode(error) === 'ERR_OUT_OF_RANGE') {
        // The window was inside the file when the run was planned: someone has shortened it since.
        throw new RawbrightError(
          'ERR_FILE_CHANGED',
          `${config.path} became shorter while it was being brightened`,
          {
            path: config.path,
          },
        );
      }
      if (errorCode(error) !== 'ERR_MEMORY_MOVED') throw error;
      // Never write through a stale address: copy from now on, and say so.
      this.strategy = 'pread';
      this.fallbackReason = (error as Error).message;
      send({ type: 'fallback', reason: this.fallbackReason });
      return host.copyIn(this.#input, window.offset, window.length);
    }
    if (this.#output !== this.#input) {
      // Out of place: the output's pages are in the arena; read the input straight into them.
      try {
        host.readInto(region, this.#input, window.offset);
      } catch (error) {
        host.release();
        throw error;
      }
    }
    return region;
  }

  close(): void {
    this.#host.close();
    this.#slot?.close();
    this.#journal?.close();
    this.#input.close();
    if (this.#output !== this.#input) this.#output.close();
  }
}

let inThreadBusy = false;

/**
 * A processor on the calling thread, or undefined when one is already open there (the caller then
 * starts a worker thread). `onMessage` hears what a worker would have posted ('fallback').
 */
export function openInThread(
  runConfig: WorkerConfig,
  onMessage: (message: FromWorker) => void,
): { processor: WindowProcessor; reused: boolean; close(): void } | undefined {
  if (servingParent || inThreadBusy) return undefined;
  config = runConfig;
  send = onMessage;
  const reused = kept?.key === JSON.stringify(hostOptions(runConfig));
  const processor = new WindowProcessor();
  inThreadBusy = true;
  return {
    processor,
    reused,
    close: () => {
      inThreadBusy = false;
      processor.close();
    },
  };
}

function describeError(error: unknown): FromWorker {
  const e = error as { message?: string; code?: string; path?: string; stack?: string };
  return {
    type: 'failed',
    message: e?.message ?? String(error),
    code: errorCode(error),
    path: typeof e?.path === 'string' ? e.path : undefined,
    stack: e?.stack,
  };
}

/**
 * A worker thread's life: the runs its parent sends through `port` (its parentPort, see worker-thread.ts), one
 * after another (`start`, windows, `end`; see ToWorker).
 */
export function serveWorkerThread(port: MessagePort): void {
  servingParent = true;
  send = (message) => port.postMessage(message);
  let processor: WindowProcessor | undefined;
  /** A window of this run failed: the windows already sent after it are left alone (the run stops). */
  let failed = false;
  port.on('message', (message: ToWorker) => {
    switch (message.type) {
      case 'start': {
        processor?.close();
        processor = undefined;
        failed = false;
        config = message.config;
        const reused = kept?.key === JSON.stringify(hostOptions(config));
        try {
          processor = new WindowProcessor();
          send({
            type: 'ready',
            strategy: processor.strategy,
            fallbackReason: processor.fallbackReason,
            reused,
          });
        } catch (error) {
          send(describeError(error));
        }
        return;
      }
      case 'window':
        if (failed) return;
        if (processor === undefined) {
          send(describeError(new RawbrightError('ERR_WORKER', 'a window reached a worker with no run open')));
          return;
        }
        try {
          processor.process(message.window);
          send({ type: 'done', index: message.window.index, bytes: message.window.length });
        } catch (error) {
          failed = true;
          send(describeError(error));
        }
        return;
      case 'end':
        try {
          processor?.close();
        } catch (error) {
          send(describeError(error));
        }
        processor = undefined;
        send({ type: 'ended' });
        return;
    }
  });
}
