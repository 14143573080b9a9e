/** Messages between the pipeline (main thread) and its brighten workers. */

import type { BrightenParams, KernelName } from '../kernels/types.js';
import type { JournalParams } from './journal.js';

/** How windows reach the kernel: mapped over the wasm arena (`mmap`) or copied through it (`pread`). */
export type ResolvedStrategy = 'mmap' | 'pread';

export interface WorkerConfig {
  path: string;
  /** Out-of-place target (already created, preallocated); undefined for in-place runs. */
  out?: string;
  strategy: ResolvedStrategy;
  kernel: KernelName;
  params: BrightenParams;
  arenaBytes: number;
  journal?: { path: string; params: JournalParams; slot: number };
  /** fsync / msync every window (power-loss safety). */
  durable: boolean;
  /** Benchmark levers. */
  alignOverlays: boolean;
  populate: boolean;
  writeback: boolean;
  /** Shift overlays off the 2 MiB congruence by this many bytes (benchmark only) [0]. */
  overlayMisalignment?: number;
  /** MADV_HUGEPAGE on the arena and every overlay [false]. */
  hugepage?: boolean;
}

export interface WorkerWindow {
  index: number;
  /** The bytes brought into the arena (and journaled). */
  offset: number;
  length: number;
  /** The bytes brightened: a sub-range of the window (all of it for in-place runs). */
  brightenOffset: number;
  brightenLength: number;
  /** This window's layout, where a run's windows differ (a TIFF's pages, FITS HDUs) [the run's params]. */
  params?: BrightenParams;
}

/**
 * A worker serves one run after another (a batch's files): `start` opens a run, `window` hands it a window,
 * `end` closes the run's files and journal slot (the worker answers `ended` and waits for the next `start`).
 */
export type ToWorker =
  | { type: 'start'; config: WorkerConfig }
  | { type: 'window'; window: WorkerWindow }
  | { type: 'end' };

export type FromWorker =
  /** `reused`: the run took the kernel host (wasm memory and instance) the worker's last run left. */
  | { type: 'ready'; strategy: ResolvedStrategy; fallbackReason?: string; reused: boolean }
  | { type: 'ended' }
  | { type: 'fallback'; reason: string }
  | { type: 'done'; index: number; bytes: number }
  | { type: 'failed'; message: string; code?: string; path?: string; stack?: string };
