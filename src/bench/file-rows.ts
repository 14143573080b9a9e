/**
 * The file benchmark's tables: every configuration, strategy and reference it measures is a row that
 * says what to run (brightenFile with which options, the native reference program, the disk, a fresh
 * process). src/bench/file-bench.ts runs the rows, part by part; the ids and labels here are the ids
 * and labels of the cases in the result.
 */
import type { BrightenOptions } from '../brighten/pipeline.js';
import { formatBytes } from '../format.js';
import type { FileCase } from './file-bench.js';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

/** How far the `alignment` part shifts overlays off the 2 MiB congruence: where V8 usually puts a wasm memory. */
export const MISALIGNMENT = 64 * 1024;
/** Files above this size get `slowRuns` in the scaling part. */
const SLOW_SIZE = 2 * GIB;

/** `brightenFile` options of a row, less the delta; `outOfPlace` writes to the part's output file. */
export type RowOptions = Omit<BrightenOptions, 'by' | 'out' | 'overwrite'> & { outOfPlace?: boolean };

/** How a row is measured. */
export type CaseRunner =
  /** `brightenFile` on the part's file, timed as a caller waits for it. */
  | { kind: 'pipeline'; options: RowOptions }
  /** The native reference program brightening the same file in place, 64 MiB windows. */
  | { kind: 'reference'; mode: 'mmap' | 'pread' }
  /** The native reference program writing the part's length to a new file with fsync. */
  | { kind: 'disk' }
  /** `rawbright brighten FILE --json` in a fresh Node process (its own throughput and peak RSS). */
  | { kind: 'process' };

/** One row of a part's table: a configuration to measure. */
export interface CaseRow {
  /** The case's id in the result. */
  id: string;
  /** The case's label in the result and the tables. */
  label: string;
  run: CaseRunner;
  /** Measured `slowRuns` times rather than `runs`: durable runs, misaligned overlays, files over 2 GiB. */
  slow?: boolean;
  /** Fields copied into the case (window, workers, sizeBytes). */
  extra?: Partial<FileCase>;
}

const pipeline = (options: RowOptions = {}): CaseRunner => ({ kind: 'pipeline', options });
const strategyName = (strategy: 'mmap' | 'pread') => (strategy === 'mmap' ? 'mmap overlay' : 'pread/pwrite');

/** `strategies`: each way of brightening the warm main file. The first row is the default. */
export const STRATEGY_ROWS: readonly CaseRow[] = [
  { id: 'mmap', label: 'mmap overlay, journaled (default)', run: pipeline() },
  {
    id: 'mmap-no-journal',
    label: 'mmap overlay, no journal',
    run: pipeline({ strategy: 'mmap', journal: false }),
  },
  { id: 'pread', label: 'pread/pwrite, journaled', run: pipeline({ strategy: 'pread' }) },
  {
    id: 'pread-no-journal',
    label: 'pread/pwrite, no journal',
    run: pipeline({ strategy: 'pread', journal: false }),
  },
  {
    id: 'out-mmap',
    label: 'out of place, mmap overlay',
    run: pipeline({ strategy: 'mmap', outOfPlace: true }),
  },
  {
    id: 'out-pread',
    label: 'out of place, pread/pwrite',
    run: pipeline({ strategy: 'pread', outOfPlace: true }),
  },
];

/** `strategies`: the native C++ program doing the same job on the same file (when it is built). */
export const REFERENCE_ROWS: readonly CaseRow[] = [
  {
    id: 'native-mmap',
    label: 'native C++: mmap + MADV_POPULATE_WRITE, 64 MiB windows',
    run: { kind: 'reference', mode: 'mmap' },
  },
  {
    id: 'native-pread',
    label: 'native C++: pread/pwrite, 64 MiB buffer',
    run: { kind: 'reference', mode: 'pread' },
  },
];

/** `durable`: fsync every window, on the part's length. */
export const DURABLE_ROWS: readonly CaseRow[] = [
  {
    id: 'mmap-durable',
    label: 'mmap overlay, journaled, durable',
    slow: true,
    run: pipeline({ durable: true }),
  },
  {
    id: 'pread-durable',
    label: 'pread/pwrite, journaled, durable',
    slow: true,
    run: pipeline({ strategy: 'pread', durable: true }),
  },
];

/** `durable`: the disk's own write bandwidth with fsync, the limit of the durable rows. */
export const DISK_ROW: CaseRow = {
  id: 'disk',
  label: 'disk write bandwidth with fsync (native)',
  slow: true,
  run: { kind: 'disk' },
};

/**
 * `alignment`: the overlay 2 MiB-congruent with the file offset (the default) or {@link MISALIGNMENT}
 * off it, with and without MADV_POPULATE_WRITE, at each window.
 * @param windows window sizes in bytes
 * @returns four rows per window
 */
export function alignmentRows(windows: readonly number[]): CaseRow[] {
  return windows.flatMap((window) =>
    [true, false].flatMap((aligned) =>
      [true, false].map(
        (populate): CaseRow => ({
          id: `${aligned ? 'aligned' : 'misaligned'}${populate ? '' : '-no-populate'}-${window}`,
          label: `${aligned ? 'aligned' : `${MISALIGNMENT / 1024} KiB off`}, ${populate ? 'populate' : 'no populate'}, ${formatBytes(window)} windows`,
          slow: !aligned,
          run: pipeline({
            strategy: 'mmap',
            window,
            tuning: { populate, overlayMisalignment: aligned ? 0 : MISALIGNMENT },
          }),
          extra: { window },
        }),
      ),
    ),
  );
}

/**
 * `windows`: the window size sweep, for each strategy.
 * @param windows window sizes in bytes
 * @returns one row per strategy and window, mmap first
 */
export function windowRows(windows: readonly number[]): CaseRow[] {
  return (['mmap', 'pread'] as const).flatMap((strategy) =>
    windows.map(
      (window): CaseRow => ({
        id: `${strategy}-${window}`,
        label: `${strategyName(strategy)}, journaled, ${formatBytes(window)} windows`,
        run: pipeline({ strategy, window }),
        extra: { window },
      }),
    ),
  );
}

/** `levers`: what else might make the fast path faster, each next to the default (the first row). */
export const LEVER_ROWS: readonly CaseRow[] = [
  { id: 'baseline', label: 'default (mmap overlay, journaled)', run: pipeline() },
  { id: 'hugepage', label: 'MADV_HUGEPAGE on every overlay', run: pipeline({ tuning: { hugepage: true } }) },
  {
    id: 'writeback',
    label: 'sync_file_range after every window',
    run: pipeline({ tuning: { writeback: true } }),
  },
  { id: 'no-populate', label: 'no MADV_POPULATE_WRITE', run: pipeline({ tuning: { populate: false } }) },
  // A chunk set by hand is recorded from JavaScript (copy with CRC, then kernel), as every run was before the
  // wasm-simd kernel kept the journal itself (48 KiB chunks): 1 MiB was that default.
  {
    id: 'chunk-256KiB',
    label: 'journal from JavaScript, 256 KiB chunks',
    run: pipeline({ tuning: { journalChunk: 256 * 1024 } }),
  },
  {
    id: 'chunk-1MiB',
    label: 'journal from JavaScript, 1 MiB chunks',
    run: pipeline({ tuning: { journalChunk: MIB } }),
  },
  {
    id: 'chunk-8MiB',
    label: 'journal from JavaScript, 8 MiB chunks',
    run: pipeline({ tuning: { journalChunk: 8 * MIB } }),
  },
  {
    id: 'out-mmap-baseline',
    label: 'out of place, mmap overlay (as in strategies)',
    run: pipeline({ strategy: 'mmap', outOfPlace: true }),
  },
  {
    id: 'out-mmap-hugepage',
    label: 'out of place, mmap overlay, MADV_HUGEPAGE',
    run: pipeline({ strategy: 'mmap', outOfPlace: true, tuning: { hugepage: true } }),
  },
  {
    id: 'out-mmap-no-populate',
    label: 'out of place, mmap overlay, no MADV_POPULATE_WRITE',
    run: pipeline({ strategy: 'mmap', outOfPlace: true, tuning: { populate: false } }),
  },
  {
    id: 'pread-hugepage',
    label: 'pread/pwrite, journaled, MADV_HUGEPAGE arena',
    run: pipeline({ strategy: 'pread', tuning: { hugepage: true } }),
  },
];

/**
 * `workers`: each strategy with 1 … N worker threads.
 * @param counts worker counts
 * @returns one row per strategy and count, mmap first
 */
export function workerRows(counts: readonly number[]): CaseRow[] {
  return (['mmap', 'pread'] as const).flatMap((strategy) =>
    counts.map(
      (workers): CaseRow => ({
        id: `${strategy}-${workers}`,
        label: `${strategyName(strategy)}, journaled, ${workers} worker${workers === 1 ? '' : 's'}`,
        run: pipeline({ strategy, workers }),
        extra: { workers },
      }),
    ),
  );
}

/** `breakdown`: a whole `brightenFile` call on a one-window file, the fixed cost of a run. */
export const RUN_OVERHEAD_ROW: CaseRow = {
  id: 'run-overhead',
  label: 'a whole brightenFile call on an 8 MiB file',
  run: pipeline(),
};

/**
 * `scaling`: one file size, each run a fresh process.
 * @param sizeBytes the file's size
 * @returns the row (slow for files over 2 GiB)
 */
export function scalingRow(sizeBytes: number): CaseRow {
  return {
    id: `size-${sizeBytes}`,
    label: `${formatBytes(sizeBytes)} file, default options, fresh process`,
    slow: sizeBytes > SLOW_SIZE,
    run: { kind: 'process' },
    extra: { sizeBytes },
  };
}
