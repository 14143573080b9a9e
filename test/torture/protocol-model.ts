/**
 * The brighten workers' journal protocol, replayed step by step in this process, so a "kill" can be
 * placed after any step of any interleaving of workers — in a run, and again in the resume of that
 * run — without timing luck. It drives the built journal (`dist/journal.js`) exactly as
 * `src/brighten/worker.ts` does (copy the chunk to the ring, mark it saved, change it, mark it done;
 * mark the window done), and hands out windows the way `src/brighten/pipeline.ts` does: a window resumed part
 * way goes to the worker of the slot that recorded it, any other window to whoever asks first.
 */
import { statSync } from 'node:fs';
import { chunkSample, Journal, type JournalParams, journalPathFor } from '../../dist/brighten/journal.js';
import { MappedFile } from '../../dist/file/mapped-file.js';
import { createKernel } from '../../dist/kernels/index.js';

/** The shape of a modelled run: small windows and chunks so every step is cheap. */
export interface ModelRun {
  window: number;
  chunk: number;
  /** Workers of the original run (= journal slots). */
  workers: number;
  delta: number;
  type: 'uint16' | 'int16';
  channels: 'rgb' | 'rgba';
}

interface QueuedWindow {
  index: number;
  offset: number;
  length: number;
  slot?: number;
}

/** xorshift32: a deterministic schedule from a seed. */
function scheduler(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

function paramsFor(path: string, run: ModelRun): JournalParams {
  const st = statSync(path);
  return {
    version: 2,
    file: { path, size: st.size, dev: st.dev, ino: st.ino },
    by: run.delta,
    type: run.type,
    channels: run.channels,
    offset: 0,
    length: st.size,
    window: run.window,
    windows: Math.ceil(st.size / run.window),
    chunk: run.chunk,
    slots: run.workers,
  };
}

/**
 * Runs `workers` modelled workers over `queue`, interleaving their steps in an order drawn from
 * `seed`, and stops after `steps` steps (a kill). Returns true if the budget ran out first.
 */
function replay(
  path: string,
  journal: Journal,
  queue: QueuedWindow[],
  workers: number,
  steps: number,
  seed: number,
): boolean {
  const params = journal.params;
  const file = MappedFile.open(path, { access: 'readwrite' });
  const view = file.map();
  const kernel = createKernel('js', new WebAssembly.Memory({ initial: 1 }));
  const brighten = { delta: params.by, type: params.type, channels: params.channels };
  const slots = Array.from({ length: workers }, (_, slot) => journal.slot(slot, false));
  const take = (slot: number): QueuedWindow | undefined => {
    let at = queue.findIndex((w) => w.slot === slot);
    if (at < 0) at = queue.findIndex((w) => w.slot === undefined || w.slot >= workers);
    return at < 0 ? undefined : queue.splice(at, 1)[0];
  };
  function* worker(slot: number): Generator<void, void, void> {
    const ring = slots[slot];
    for (let window = take(slot); window !== undefined; window = take(slot)) {
      const end = window.offset + window.length;
      if (window.offset > journal.layout.windowOffset(window.index)) {
        const before = journal.layout.chunkNumber(window.index, window.offset) - 1;
        yield;
        ring.finished(before, journal.sampleOf(file, before));
      }
      for (let at = window.offset; at < end; at += params.chunk) {
        const length = Math.min(params.chunk, end - at);
        const number = journal.layout.chunkNumber(window.index, at);
        const half = Math.floor(length / 16) * 8;
        yield;
        new Uint8Array(ring.buffer, ring.ringOffset, length).set(new Uint8Array(view.buffer, at, length));
        yield;
        ring.saved(number, length);
        yield;
        kernel.brighten(view.buffer, at, half, brighten);
        yield;
        kernel.brighten(view.buffer, at + half, length - half, brighten);
        yield;
        ring.finished(number, chunkSample(new Uint8Array(view.buffer, at, length)));
        yield;
        ring.done(number);
      }
      yield;
      journal.markDone(window.index, false, file);
    }
  }
  const running = Array.from({ length: workers }, (_, slot) => worker(slot));
  const random = scheduler(seed);
  let taken = 0;
  try {
    while (running.length > 0) {
      const pick = random() % running.length;
      if (running[pick].next().done) {
        running.splice(pick, 1);
        continue;
      }
      if (taken++ >= steps) return true;
    }
    return false;
  } finally {
    for (const slot of slots) slot.close();
    file.close();
  }
}

/**
 * A modelled in-place run of `path`, killed after `steps` steps. It leaves the journal behind, as a
 * killed run does (also when it finished its windows: the pipeline removes the journal, not the workers).
 * @returns True if the kill landed before the last step.
 */
export function modelRun(path: string, run: ModelRun, steps: number, seed: number): boolean {
  const params = paramsFor(path, run);
  const journal = Journal.create(journalPathFor(path), params);
  try {
    const queue = Array.from({ length: params.windows }, (_, index) => ({
      index,
      offset: index * run.window,
      length: Math.min(run.window, params.length - index * run.window),
    }));
    return replay(path, journal, queue, Math.min(run.workers, params.windows), steps, seed);
  } finally {
    journal.close();
  }
}

/**
 * A modelled `rawbright resume` with `workers` workers, killed after `steps` steps: the journal's own
 * restore and plan (the code under test), then workers as the pipeline dispatches them.
 * @returns True if the kill landed before the last step.
 */
export function modelResume(path: string, workers: number, steps: number, seed: number): boolean {
  const journal = Journal.open(journalPathFor(path));
  const file = MappedFile.open(path, { access: 'readwrite' });
  try {
    const pending: QueuedWindow[] = journal.restoreAndPlan(file);
    const active = Math.max(1, Math.min(workers, journal.params.slots, pending.length));
    return replay(path, journal, pending, active, steps, seed);
  } finally {
    file.close();
    journal.close();
  }
}
