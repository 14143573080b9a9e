/**
 * The brighten pipeline: a raw file of any size is brightened window by window, in place (with an
 * undo journal, resumable after a kill) or into a new file, by worker threads so the event loop
 * stays free. Every run goes check → plan → run → finish; resume enters at plan, from the journal.
 */
import { closeSync, constants, existsSync, openSync, readSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { native } from '../addon.js';
import { settleSampleType } from '../convert/raw-source.js';
import { type RawImageMetadata, readSidecar, writeSidecar } from '../convert/sidecar.js';
import { errorCode, invalidParameterError, RawbrightError } from '../errors.js';
import { MappedFile } from '../file/mapped-file.js';
import {
  commitOutput,
  fsPromises,
  type OutputPlan,
  planOutput,
  removeQuietly,
  syncFile,
  syncFolder,
} from '../file/output.js';
import type { FileLayout } from '../formats/layout.js';
import { type AdjustOp, type CheckedOp, checkOps } from '../kernels/ops.js';
import type { BrightenParams } from '../kernels/types.js';
import { CHANNEL_MODES, type Channels, SAMPLE_TYPES, type SampleType } from '../pixels.js';
import { boolean, options as checkOptions, type PathLike, pathArgument, pathOrAsGiven } from '../validate.js';
import {
  checkJournalCurrent,
  checkJournalTrusted,
  describeRange,
  fileIdentity,
  isRunUnmarked,
  Journal,
  type JournalRange,
  journalLostError,
  journalPathFor,
  leftoverJournalError,
  leftoverJournals,
  markPendingRun,
  markRun,
  type PendingJournal,
  type PendingRange,
  pendingJournals,
  refusePendingRun,
  unmarkPendingRun,
  unmarkRun,
} from './journal.js';
import {
  type BrightenOptions,
  type CheckedBrighten,
  type CommonOptions,
  checkAdjustOptions,
  checkBrightenOptions,
  checkCommonOptions,
  type ResumeOptions,
  resolveStrategy,
} from './options.js';
import {
  arenaSize,
  buildRunPlan,
  checkFileShape,
  checkRange,
  detectFileLayout,
  journalChunking,
  planSegments,
  refuseSameFile,
  reserveInPlace,
  type SegmentPlan,
  splitIntoWindows,
  splitWholeFile,
} from './plan.js';
import { abortedError, type RunPlan, runWindows } from './pool.js';
import type { WorkerWindow } from './protocol.js';
import { buildReport, type Report, type RunResult } from './report.js';
import { chooseWorkers, sampleMachine, type WorkersChoice } from './workers.js';

export {
  type BrightenOptions,
  DEFAULT_WINDOW,
  type ResumeOptions,
  STRATEGIES,
  type Strategy,
} from './options.js';
export type { Progress } from './pool.js';
export type { Report } from './report.js';
/** The sample types, for validation and help texts. */
export { SAMPLE_TYPES };
/** The channel modes, for validation and help texts. */
export const CHANNELS: readonly Channels[] = CHANNEL_MODES;

/**
 * The paths of a batch, each file once: the same file named twice (`a.raw ./a.raw`, a symlink, a hard
 * link: the same device and inode) would otherwise be brightened twice. A path that cannot be read is
 * kept: its run says why.
 */
export function uniqueFiles(paths: readonly PathLike[]): string[] {
  const seen = new Set<string>();
  // Each path as a string (one that is no path stays as it was, for its run to refuse).
  return (paths.map(pathOrAsGiven) as string[]).filter((path) => {
    let key: string;
    try {
      const info = statSync(path);
      key = `${info.dev}:${info.ino}`;
    } catch {
      return true;
    }
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Runs a plan's windows on the worker pool (none to run is a run that took no time). */
async function run(plan: RunPlan): Promise<RunResult> {
  if (plan.windows.length > 0) return runWindows(plan);
  return {
    seconds: 0,
    strategy: plan.config.strategy,
    thread: plan.inThread === true ? 'main' : 'worker',
    kernelReused: false,
  };
}

/**
 * Ends an in-place run: the mark on the file goes first, then its journal. Killed in between, the
 * journal is found beside the file with every window done, and resume finishes without a change; the
 * other order would leave a mark without a journal, which means "journal lost".
 */
function finishRun(file: MappedFile, journalPath: string, range: JournalRange | undefined): void {
  unmarkPendingRun(file, range);
  // Not rmSync (on Node 22 it loads its JavaScript rimraf for one file, about 0.5 ms), nor a plain unlink:
  // the journal's pages are under writeback behind the run's own, and releasing them waited ~0.5 s on 2 GiB.
  try {
    native.unlinkDetached(journalPath);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
  }
  // Last, the run's id: a copy of the journal brought back later no longer matches the file.
  unmarkRun(file, range);
}

/**
 * Out of place: checks the output can be written, then has `create` make its temporary file (before the
 * work, so a full disk is found first).
 */
/**
 * An in-place run also holds an OFD byte-range lock (MappedFile.lockRange) over the bytes it changes,
 * so a program holding a range lock there refuses the run at once (ERR_RANGE_LOCKED, naming its range)
 * and range-lock users wait their turn behind the run. Closing the file releases it.
 */
function lockChangedRange(file: MappedFile, offset: number, length: number): void {
  if (length > 0) file.lockRange(offset, length, 'exclusive');
}

/**
 * Locks an in-place run over [offset, offset + length): a shared flock (so a program holding the whole file,
 * e.g. an older rawbright's run, refuses it at once with ERR_FILE_LOCKED, while runs over other ranges
 * proceed), then the exclusive range lock, which refuses an overlapping live run at once, naming its range.
 * Only then is a pending run over these bytes looked for: none can start or finish meanwhile.
 */
function lockInPlaceRun(
  file: MappedFile,
  offset: number,
  length: number,
  range: JournalRange | undefined,
): void {
  file.lock('shared');
  lockChangedRange(file, offset, length);
  refusePendingRun(file, range);
}

/** The range a run's journal and markers are named by: none for a run over the whole file. */
function runRange(offset: number, length: number, size: number): JournalRange | undefined {
  return offset === 0 && length === size ? undefined : { offset, length };
}

async function prepareOutput(
  file: MappedFile,
  checked: CheckedBrighten & { out: string },
  create: (temporary: string) => Promise<void>,
): Promise<OutputPlan> {
  refuseSameFile(checked.out, checked.path);
  file.lock('shared');
  // Shared over the whole file: an in-place run over any range of it is refused while this one reads.
  file.lockRange(0, 0, 'shared');
  const output = await planOutput(checked.out, checked.overwrite);
  // Half-brightened input must not be copied as if it were whole.
  refusePendingRun(file);
  await create(output.temporary);
  return output;
}

/**
 * A run's id: 8 random bytes, in hex. Read from the kernel's random source (/dev/urandom, the source of
 * node:crypto's too), which spares a small file's run loading node:crypto (about 2 ms of its start-up); where
 * it cannot be read, from node:crypto.
 */
function newRunId(): string {
  const bytes = Buffer.alloc(8);
  try {
    const fd = openSync('/dev/urandom', 'r');
    try {
      if (readSync(fd, bytes, 0, bytes.length, null) === bytes.length) return bytes.toString('hex');
    } finally {
      closeSync(fd);
    }
  } catch {
    // No /dev/urandom here (a bare chroot): node:crypto below.
  }
  return process.getBuiltinModule('node:crypto').randomBytes(8).toString('hex');
}

/** In place: creates the journal and marks the file with its name, before any pixel changes. */
async function startJournal(
  file: MappedFile,
  checked: CheckedBrighten,
  range: {
    offset: number;
    length: number;
    type: SampleType;
    channels: Channels;
    ops?: readonly CheckedOp[] | undefined;
  },
  arenaBytes: number,
  windowCount: number,
  workers: number,
  journalRange: JournalRange | undefined,
  segments?: SegmentPlan,
): Promise<Journal> {
  const { common } = checked;
  const plainBrighten =
    range.ops === undefined && (segments?.layouts.every((l) => l.ops === undefined) ?? true);
  const chunking = journalChunking(
    common,
    checked.strategy,
    plainBrighten,
    arenaBytes,
    segments !== undefined,
  );
  // The file carries the run's id before its journal exists (no other run is pending: the file is
  // locked and was checked), so a journal of this run is always matched by the file.
  const run = newRunId();
  const marked = markRun(file, run, journalRange);
  const journal = Journal.create(journalPathFor(checked.path, journalRange), {
    version: 2,
    file: { path: checked.path, ...fileIdentity(checked.path) },
    by: checked.by,
    type: range.type,
    channels: range.channels,
    offset: range.offset,
    length: range.length,
    window: arenaBytes,
    windows: windowCount,
    ...chunking,
    slots: Math.max(1, Math.min(workers, windowCount)),
    durable: common.durable,
    run,
    marked,
    ...(range.ops !== undefined && segments === undefined && { ops: range.ops }),
    ...(segments !== undefined && { segments: segments.segments, layouts: segments.layouts }),
  });
  journal.close();
  // The file itself names its journal, so every path to it finds the pending run.
  markPendingRun(file, journal.path, journalRange);
  // Before any pixel changes, a durable run's journal and its name are on disk: after a power cut
  // the first window must find them (the workers flush only their slots).
  if (common.durable) {
    await syncFile(journal.path);
    await syncFolder(dirname(journal.path));
  }
  return journal;
}

/**
 * Brightens the 16-bit pixels of a file, window by window: a TIFF/BigTIFF, FITS or PNM file where its own
 * header says they are (every other byte is left as it is), or a headerless raw file (RGBA uint16
 * little-endian unless `bands`, `byteOrder`, `header` or its sidecar say otherwise). A file rawbright
 * does not understand is refused before a byte changes (`ERR_UNSUPPORTED_FORMAT`, `ERR_FORMAT_DAMAGED`).
 *
 * In place (the default), the bytes the run changes are locked (an exclusive OFD byte-range lock, with a
 * shared flock on the file) and an undo journal `FILE.rawbright-journal` is kept — for a run over part of a
 * raw file (`offset`/`length`), `FILE.rawbright-journal.START-END`, so runs over disjoint ranges of one file,
 * in this process or others, go on at the same time; an overlapping one is refused at once
 * (`ERR_RANGE_LOCKED`, naming the holder's range). If the process is killed at any moment, {@link resumeFile}
 * finishes the run with a result byte-identical to an uninterrupted one. With `out`, the input is
 * left untouched and the result is written to a hidden temporary file beside `out`, which takes the
 * name `out` only once complete.
 *
 * @param path The raw file.
 * @param options See {@link BrightenOptions}; `by` is required.
 * @returns A {@link Report}.
 * @throws {RawbrightError} with a `code`: `ENOENT`, `EISDIR`, `EACCES`, `ERR_EMPTY_FILE`, `ERR_NOT_PIXEL_ALIGNED`,
 * `ERR_INVALID_ARG_VALUE`, `ERR_OUT_OF_RANGE`, `ERR_FILE_LOCKED`, `ERR_RANGE_LOCKED`, `ERR_JOURNAL_EXISTS` (naming
 * the interrupted run's range), `EEXIST` (out exists),
 * `ERR_SAME_FILE`, `ENOSPC`, `EFBIG`, `ERR_ABORTED`, …
 * @example
 * ```ts
 * const report = await brightenFile('huge.raw', { by: 1000 });
 * console.log(`${report.gbps.toFixed(2)} GB/s`);
 * ```
 */
export async function brightenFile(path: PathLike, options: BrightenOptions): Promise<Report> {
  return runFile(checkBrightenOptions(path, options));
}

/** Options of {@link adjustFile}: every option of brighten but `by`, and the ops. */
export interface AdjustOptions extends Omit<BrightenOptions, 'by'> {
  /** The ops, applied in this order (at least one); see {@link AdjustOp}. */
  ops: readonly AdjustOp[];
  by?: undefined;
}

/**
 * Adjusts the 16-bit pixels of a file with a chain of ops — levels, gain, add, gamma, invert — in one pass
 * through the same windowed, journaled, resumable pipeline as {@link brightenFile}, on every format and layout
 * it handles, with every one of its options.
 *
 * Exact semantics: x is a sample and [lo, hi] its range (0…65535 uint16, 0…maxval PNM, −32768…32767 int16).
 * Each op maps x in float64 and the result is clamped to [lo, hi] after every op; after the last op the value
 * is rounded half to even (as `numpy.rint`):
 * - `{ op: 'add', value: N }`: x + N (a single whole-number add equals `brightenFile` with `by: N` exactly)
 * - `{ op: 'gain', value: F }`: x × F, F ≥ 0
 * - `{ op: 'levels', black: B, white: W }`: ((x − B) × (hi − lo)) / (W − B) + lo, B < W
 * - `{ op: 'gamma', value: G }`: lo + (hi − lo) × ((x − lo) / (hi − lo))^(1 / G), G > 0 (G > 1 brightens)
 * - `{ op: 'invert' }`: hi + lo − x
 *
 * Every value is one number or one per band. Alpha is left alone unless `alpha` is set. Bad ops (gain < 0,
 * levels B ≥ W, gamma ≤ 0, NaN, ±Infinity, more values than bands, an unknown op) are refused before a byte
 * changes. The journal records the ops, so `resumeFile` finishes an interrupted adjust exactly.
 * @param path the file
 * @param options the ops, and any option of {@link BrightenOptions} but `by`
 * @returns what the run did (see {@link Report})
 * @throws {RawbrightError} `ERR_INVALID_ARG_VALUE` for a bad op or option, and every error of brightenFile
 * @example
 * ```ts
 * await adjustFile('scan.tif', {
 *   ops: [{ op: 'levels', black: 1200, white: 62000 }, { op: 'gamma', value: 1.8 }],
 * });
 * ```
 */
export async function adjustFile(path: PathLike, options: AdjustOptions): Promise<Report> {
  return runFile(checkAdjustOptions(path, options));
}

/**
 * Adjusts several files one after another with the same ops and options (see {@link adjustFile}).
 * @returns One report per file, in order; a file named twice (by any path) is adjusted once. The first
 * failure stops the batch and is thrown.
 */
export async function adjustFiles(paths: readonly PathLike[], options: AdjustOptions): Promise<Report[]> {
  if (!Array.isArray(paths)) throw invalidParameterError('paths', 'an array of paths', paths);
  if (options?.out !== undefined && paths.length > 1) {
    throw invalidParameterError('out', 'no out option when adjusting several files', options.out);
  }
  const reports: Report[] = [];
  for (const path of uniqueFiles(paths)) reports.push(await adjustFile(path, options));
  return reports;
}

/** A run planned: its windows, where the result goes, and what its journal records. */
interface FilePlan {
  windows: WorkerWindow[];
  arenaBytes: number;
  params: BrightenParams;
  span: { offset: number; length: number; type: SampleType };
  segments?: SegmentPlan;
  /** The file the workers change: the input in place, or (a file with a header, out of place) its copy. */
  runPath: string;
  output?: OutputPlan;
  /** The input's sidecar, which --out's file gets too (same shape, same bytes but the changed samples). */
  outSidecar?: Readonly<RawImageMetadata>;
  /** In place over part of a raw file: the range its journal and markers are named by. */
  journalRange?: JournalRange | undefined;
}

/** Plans a headerless raw file: the range, the windows over it, and (out of place) a preallocated output. */
async function planRawFile(
  file: MappedFile,
  checked: CheckedBrighten,
  givenType: SampleType | undefined,
): Promise<FilePlan> {
  const { common, out } = checked;
  const size = checkFileShape(file);
  // The sidecar is optional; when present it must describe this file (readSidecar checks the size).
  const sidecar = await readSidecar(checked.path);
  const type = settleSampleType(checked.path, givenType, sidecar);
  const { offset, length } = checkRange(checked.path, size, checked.offset, checked.length);
  const arenaBytes = arenaSize(checked.windowSize, out === undefined ? length : size);
  const params: BrightenParams = {
    delta: checked.by,
    type,
    channels: checked.channels,
    ...(checked.ops !== undefined && { ops: checkOps(checked.ops, 4, checked.channels === 'rgb') }),
  };
  const planned: FilePlan = {
    windows:
      out === undefined
        ? splitIntoWindows(offset, length, arenaBytes)
        : splitWholeFile(size, arenaBytes, offset, length),
    arenaBytes,
    params,
    span: { offset, length, type },
    runPath: checked.path,
    ...(out !== undefined && { outSidecar: sidecar }),
  };
  if (common.signal?.aborted) throw abortedError(checked.path, 0, 0, false, common.signal.reason);
  if (out !== undefined) {
    // Preallocated; the workers copy the input into it window by window.
    planned.output = await prepareOutput(file, { ...checked, out }, async (temporary) =>
      (await MappedFile.createAsync(temporary, { size })).close(),
    );
  } else {
    planned.journalRange = runRange(offset, length, size);
    lockInPlace(file, offset, length, planned.journalRange);
  }
  return planned;
}

/** Plans a file with a header (TIFF, FITS, PNM): its pixel extents as windows, and (out of place) its copy. */
async function planLayoutFile(
  file: MappedFile,
  checked: CheckedBrighten,
  layout: FileLayout,
): Promise<FilePlan> {
  const { common, out } = checked;
  const segments = planSegments(layout, checked.windowSize, checked.by, checked.alpha, checked.ops);
  const params = segments.layouts[0]!;
  const first = layout.extents[0]!;
  const last = layout.extents[layout.extents.length - 1]!;
  const span = { offset: first.offset, length: last.offset + last.length - first.offset, type: params.type };
  const planned: FilePlan = {
    windows: segments.windows,
    arenaBytes: segments.arenaBytes,
    params,
    span,
    segments,
    runPath: checked.path,
  };
  if (common.signal?.aborted) throw abortedError(checked.path, 0, 0, false, common.signal.reason);
  if (out !== undefined) {
    // Every byte outside the pixels is the input's: copy the whole file, then change the copy in place.
    planned.output = await prepareOutput(file, { ...checked, out }, (temporary) =>
      fsPromises().copyFile(checked.path, temporary, constants.COPYFILE_EXCL),
    );
    planned.runPath = planned.output.temporary;
  } else {
    lockInPlace(file, span.offset, span.length, undefined);
  }
  return planned;
}

/** In place: the bytes it changes locked, no other run pending over them, and reserved. */
function lockInPlace(
  file: MappedFile,
  offset: number,
  length: number,
  range: JournalRange | undefined,
): void {
  lockInPlaceRun(file, offset, length, range);
  reserveInPlace(file, offset, length);
}

/** The workers' plan of a planned run. */
function filePlanToRun(
  checked: CheckedBrighten,
  planned: FilePlan,
  journal: Journal | undefined,
  workers: number,
): RunPlan {
  const { common, out } = checked;
  const { output, runPath, windows } = planned;
  return buildRunPlan(
    {
      path: runPath,
      ...(out !== undefined && { out }),
      ...(output !== undefined && runPath === checked.path && { temporaryOut: output.temporary }),
      strategy: checked.strategy,
      params: planned.params,
      arenaBytes: planned.arenaBytes,
      durable: common.durable,
      ...(journal !== undefined && { journal: { path: journal.path, params: journal.params } }),
      // A new output's pages are not cached; the bench's lever panel measured an out-of-place overlay
      // at 2.07 GB/s with MADV_HUGEPAGE and 0.42 without (a later strategies run gave 0.42 with it
      // too, which is why 'auto' copies out of place).
      hugepageByDefault: out !== undefined && runPath === checked.path,
    },
    windows,
    windows.length,
    workers,
    common,
  );
}

/** What a run had set up when it failed, for {@link cleanUpFailedRun}. */
interface FailedRunState {
  journal?: Journal;
  /** The range its journal and markers are named by (undefined: the whole file). */
  journalRange?: JournalRange | undefined;
  output?: OutputPlan;
  started: boolean;
}

/**
 * A failed run: one that changed nothing leaves nothing behind; an interrupted in-place run keeps its
 * journal, and its error says how to finish.
 */
async function cleanUpFailedRun(
  file: MappedFile,
  checked: CheckedBrighten,
  state: FailedRunState,
  error: unknown,
): Promise<void> {
  const { journal, output } = state;
  const changedNothing = journal !== undefined && (!state.started || Journal.untouched(journal.path));
  if (journal !== undefined && changedNothing) finishRun(file, journal.path, state.journalRange);
  if (output !== undefined) await removeQuietly(output.temporary);
  if (
    journal !== undefined &&
    !changedNothing &&
    errorCode(error) !== 'ERR_ABORTED' &&
    // A truncated file cannot be resumed (the journal no longer matches its size).
    errorCode(error) !== 'ERR_FILE_TRUNCATED' &&
    error instanceof Error
  ) {
    error.message += `; run 'rawbright resume ${checked.path}' to finish`;
  }
}

/** One checked brighten or adjust run: check → plan → run → finish. */
async function runFile(checked: CheckedBrighten): Promise<Report> {
  const { common, out } = checked;
  const file = MappedFile.open(checked.path, { access: out === undefined ? 'readwrite' : 'read' });
  const state: FailedRunState = { started: false };
  try {
    // Plan: what the file is, the range, where the result goes, the windows.
    const { givenType, layout } = detectFileLayout(file, checked);
    const planned =
      layout === undefined
        ? await planRawFile(file, checked, givenType)
        : await planLayoutFile(file, checked, layout);
    state.output = planned.output;
    state.journalRange = planned.journalRange;
    const { windows, span, segments } = planned;
    const bytes = windows.reduce((sum, w) => sum + w.brightenLength, 0);
    const choice = chooseWorkers(
      common.workers,
      { bytes, windows: windows.length },
      await sampleMachine(common.workers, bytes),
    );
    if (checked.useJournal) {
      const range = { ...span, channels: checked.channels, ops: planned.params.ops };
      state.journal = await startJournal(
        file,
        checked,
        range,
        planned.arenaBytes,
        windows.length,
        choice.workers,
        planned.journalRange,
        segments,
      );
    }
    const plan = filePlanToRun(checked, planned, state.journal, choice.workers);

    // Run, then finish: publish the output, or drop the journal.
    state.started = true;
    const result = await run(plan);
    if (state.output !== undefined) {
      if (common.durable) await syncFile(state.output.temporary);
      await commitOutput(state.output);
      state.output = undefined;
      if (planned.outSidecar !== undefined && out !== undefined) await writeSidecar(out, planned.outSidecar);
    }
    if (state.journal !== undefined) finishRun(file, state.journal.path, planned.journalRange);
    return {
      ...buildReport(plan, common.strategy, result, choice),
      path: checked.path,
      format: layout?.format ?? 'raw',
    };
  } catch (error) {
    await cleanUpFailedRun(file, checked, state, error);
    throw error;
  } finally {
    file.close();
  }
}

/** What {@link resumeFile} did with one interrupted range's journal. */
export interface RangeResume {
  /** The journal. */
  journal: string;
  /** The range its name carries; absent for a whole-file run's journal. */
  range?: JournalRange;
  /** Finished; `report` says how. False: its run had changed nothing, was `discarded`, or is `busy`. */
  resumed: boolean;
  discarded?: boolean;
  /**
   * Its range is locked by a live holder (most often a run over it, still going, so not interrupted at all):
   * left as it is, and the ERR_RANGE_LOCKED message that says who holds which bytes.
   */
  busy?: string;
  report?: Report;
}

/**
 * What {@link resumeFile} did: `resumed: false` when there was nothing to resume. `ranges` (present when
 * there was a journal) has one entry per interrupted range; the report's figures are their sum.
 */
export type ResumeReport =
  | ({ resumed: true; ranges: RangeResume[] } & Report)
  | {
      resumed: false;
      path: string;
      /** The pending run was dropped (`discard`). */
      discarded?: boolean;
      ranges?: RangeResume[];
    };

/** Refuses a journal made for another file, or for this file at another size. */
function checkJournalBelongs(journal: Journal, path: string, journalPath: string): void {
  const identity = fileIdentity(path);
  const recorded = journal.params.file;
  if (identity.size !== recorded.size || identity.ino !== recorded.ino || identity.dev !== recorded.dev) {
    throw new RawbrightError(
      'ERR_JOURNAL_MISMATCH',
      `the journal ${journalPath} belongs to another file or size than ${path}; nothing was changed`,
      { path: journalPath },
    );
  }
}

/** Refuses a ranged journal whose parameters cover other bytes than its name says (renamed by hand, or forged). */
function checkJournalRange(journal: Journal, range: JournalRange | undefined): void {
  if (range === undefined) return;
  const { offset, length, segments } = journal.params;
  if (segments === undefined && offset === range.offset && length === range.length) return;
  throw new RawbrightError(
    'ERR_JOURNAL_MISMATCH',
    `the journal ${journal.path} covers bytes ${offset}…${offset + length}, not the ${describeRange(range)} its name says; nothing was changed`,
    { path: journal.path },
  );
}

/** The figures of several ranges' reports as one: bytes, pixels, windows and seconds added up. */
function sumReports(reports: readonly Report[]): Report {
  const last = reports[reports.length - 1]!;
  if (reports.length === 1) return last;
  const add = (key: 'bytes' | 'pixels' | 'windows' | 'seconds') =>
    reports.reduce((sum, r) => sum + r[key], 0);
  const seconds = add('seconds');
  return {
    ...last,
    bytes: add('bytes'),
    pixels: add('pixels'),
    windows: add('windows'),
    seconds,
    gbps: seconds > 0 ? add('bytes') / seconds / 1e9 : 0,
  };
}

/** The rest of an interrupted run: its pending windows, on no more workers than its journal has slots. */
async function planResume(
  journal: Journal,
  pending: PendingRange[],
  path: string,
  journalPath: string,
  common: CommonOptions,
  durable: boolean,
): Promise<{ plan: RunPlan; choice: WorkersChoice }> {
  const p = journal.params;
  const windows = pending.map((range) => ({
    ...range,
    brightenOffset: range.offset,
    brightenLength: range.length,
    ...(p.segments !== undefined && { params: journal.layout.windowParams(range.index) }),
  }));
  const bytes = windows.reduce((sum, w) => sum + w.length, 0);
  const wanted = chooseWorkers(
    common.workers,
    { bytes, windows: windows.length },
    await sampleMachine(common.workers, bytes),
  );
  const choice =
    wanted.workers <= p.slots
      ? wanted
      : { workers: p.slots, reason: `${wanted.reason}; the interrupted run had ${p.slots}` };
  const plan = buildRunPlan(
    {
      path,
      strategy: resolveStrategy(common.strategy, p.window, false),
      params: journal.layout.windowParams(0),
      arenaBytes: p.window,
      durable,
      journal: { path: journalPath, params: p },
      hugepageByDefault: false,
    },
    windows,
    p.windows,
    // The journal has one slot per worker of the original run.
    choice.workers,
    common,
  );
  return { plan, choice };
}

/**
 * Finishes one interrupted range of `file` (see {@link resumeFile}): its range locked first, so a live run
 * over it refuses this at once (ERR_RANGE_LOCKED) and no run starts over it until this one is done.
 */
async function resumeRange(
  file: MappedFile,
  path: string,
  pending: PendingJournal,
  options: ResumeOptions,
  common: ReturnType<typeof checkCommonOptions>,
  discard: boolean,
): Promise<RangeResume> {
  const { path: journalPath, range } = pending;
  const outcome: RangeResume = {
    journal: journalPath,
    ...(range !== undefined && { range }),
    resumed: false,
  };
  // A whole-file journal's range is only known from its header, which is read under the lock: the whole file.
  const locked = range ?? { offset: 0, length: 0 };
  if (range === undefined || range.length > 0) file.lockRange(locked.offset, locked.length, 'exclusive');
  try {
    if (discard) {
      // The user accepts the range as it is: the mark and any journal go, no pixel changes.
      finishRun(file, journalPath, range);
      return { ...outcome, discarded: true };
    }
    if (!existsSync(journalPath)) {
      // Another resume finished it between the look and the lock; a mark left without it is a lost journal.
      if (pendingJournals(file).some((other) => other.lost && other.path === journalPath)) {
        throw journalLostError(path, journalPath);
      }
      return outcome;
    }
    checkJournalTrusted(journalPath, file);
    let journal: Journal;
    try {
      journal = Journal.open(journalPath, { unmarked: isRunUnmarked(file, range) });
    } catch (error) {
      // Killed before its journal was written, the run changed nothing: there is nothing to resume.
      if (errorCode(error) !== 'ERR_JOURNAL_UNUSED') throw error;
      finishRun(file, journalPath, range);
      return outcome;
    }
    // A durable run stays durable when resumed, unless the caller says otherwise.
    const durable = options.durable === undefined ? journal.params.durable === true : common.durable;
    let pending: PendingRange[];
    try {
      checkJournalBelongs(journal, path, journalPath);
      checkJournalRange(journal, range);
      checkJournalCurrent(journal, file, range);
      lockChangedRange(file, journal.params.offset, journal.params.length);
      reserveInPlace(file, journal.params.offset, journal.params.length);
      pending = journal.restoreAndPlan(file, durable);
    } finally {
      journal.close();
    }
    const { plan, choice } = await planResume(journal, pending, path, journalPath, common, durable);
    const result = await run(plan);
    finishRun(file, journalPath, range);
    return { ...outcome, resumed: true, report: buildReport(plan, common.strategy, result, choice) };
  } finally {
    file.unlockRange(locked.offset, locked.length);
  }
}

/**
 * Finishes every in-place run on the file that was interrupted (killed, Ctrl-C, a full disk…): one
 * journal per range (see {@link brightenFile}), each in turn. For each, the windows that were being
 * changed are restored from the journal, then every window not yet done is brightened with the run's
 * original parameters. The result is byte-identical to uninterrupted runs. Runs over other ranges may go
 * on meanwhile; a range whose run is live refuses its resume (`ERR_RANGE_LOCKED`).
 *
 * @param path The raw file (not the journal).
 * @param options `discard: true` accepts the file as it is: every pending run's mark and journal are
 * removed and no pixel changes (the way out of `ERR_JOURNAL_LOST`).
 * @returns `{ resumed: false }` when the file has no journal (`discarded: true` after `discard`); `ranges`
 * says what became of each range's journal.
 * @throws {RawbrightError} `ERR_JOURNAL_CORRUPT` (the file is left as it is), `ERR_JOURNAL_MISMATCH`
 * (the journal belongs to another file or size), `ERR_JOURNAL_STALE` (a leftover copy of a journal, or a
 * file whose finished windows no longer hold what the run wrote, e.g. restored from a copy over the same
 * inode: nothing is changed), `ERR_RANGE_LOCKED` (a run over that range is live),
 * `ERR_FILE_LOCKED`, … A range that fails does not stop the others: they are finished first, and the
 * first failure is thrown. A range whose lock is held (a live run over it) is left and reported `busy`,
 * and refuses the resume (`ERR_RANGE_LOCKED`) only when no range could be finished or discarded.
 */
export async function resumeFile(path: PathLike, options: ResumeOptions = {}): Promise<ResumeReport> {
  const checkedPath = pathArgument('path', path);
  const checkedOptions = checkOptions('options', options);
  const common = checkCommonOptions(checkedOptions);
  const discard = boolean('discard', checkedOptions.discard, false);
  // Looked for read-only first: a file with nothing to resume may well be read-only.
  const probe = MappedFile.open(checkedPath, { access: 'read' });
  let pending: PendingJournal[];
  try {
    pending = pendingJournals(probe);
    // Nothing of the file's own: a journal beside it that no run on it made is refused, not ignored.
    const [leftover] = pending.length === 0 && !discard ? leftoverJournals(probe) : [];
    if (leftover !== undefined) throw leftoverJournalError(leftover, probe);
  } finally {
    probe.close();
  }
  const lost = pending.find((journal) => journal.lost);
  if (lost !== undefined && !discard) throw journalLostError(checkedPath, lost.path);
  if (pending.length === 0) return { resumed: false, path: checkedPath };
  const file = MappedFile.open(checkedPath, { access: 'readwrite' });
  const ranges: RangeResume[] = [];
  let failure: unknown;
  let busy: Error | undefined;
  try {
    // Shared: resumes and runs over other ranges go on; a holder of the whole file refuses this at once.
    file.lock('shared');
    for (const journal of pending) {
      try {
        ranges.push(await resumeRange(file, checkedPath, journal, options, common, discard));
      } catch (error) {
        if (errorCode(error) === 'ERR_RANGE_LOCKED' && error instanceof Error) {
          busy ??= error;
          ranges.push({
            journal: journal.path,
            ...(journal.range !== undefined && { range: journal.range }),
            resumed: false,
            busy: error.message,
          });
          continue;
        }
        failure ??= error;
        if (errorCode(error) === 'ERR_ABORTED') break;
      }
    }
  } finally {
    file.close();
  }
  const reports = ranges.flatMap((range) => (range.report === undefined ? [] : [range.report]));
  // Nothing could be done because every range is held: refused, as a live run's file is.
  if (failure === undefined && busy !== undefined && !ranges.some((r) => r.resumed || r.discarded)) {
    failure = busy;
  }
  if (failure !== undefined) {
    if (reports.length > 0 && failure instanceof Error) {
      const done = ranges.filter((range) => range.resumed).map((range) => describeRange(range.range));
      failure.message += ` (the other interrupted ranges were finished: ${done.join(', ')})`;
    }
    throw failure;
  }
  if (reports.length > 0) return { resumed: true, ...sumReports(reports), ranges };
  return { resumed: false, ...(discard && { discarded: true }), path: checkedPath, ranges };
}

/** One file's outcome in `brightenFiles(paths, { continueOnError: true })`. */
export type FileOutcome = { path: string; report: Report } | { path: string; error: Error };

/**
 * Brightens several files one after another with the same options. With `inThread` (one worker) they
 * all run on the calling thread and share one kernel (wasm memory and instance): no worker thread and
 * no instantiation per file (each report's `kernelReused` says so).
 * @returns One report per file, in order; a file named twice (by any path) is brightened once. The first
 * failure stops the batch and is thrown. With `continueOnError: true`, every file has its turn and the
 * result is one `{ path, report }` or `{ path, error }` per file instead; an aborted run still stops the
 * batch and is thrown.
 */
export async function brightenFiles(paths: readonly PathLike[], options: BrightenOptions): Promise<Report[]>;
export async function brightenFiles(
  paths: readonly PathLike[],
  options: BrightenOptions & { continueOnError: true },
): Promise<FileOutcome[]>;
export async function brightenFiles(
  paths: readonly PathLike[],
  options: BrightenOptions & { continueOnError?: boolean },
): Promise<Report[] | FileOutcome[]> {
  if (!Array.isArray(paths)) throw invalidParameterError('paths', 'an array of paths', paths);
  if (options?.out !== undefined && paths.length > 1) {
    throw invalidParameterError('out', 'no out option when brightening several files', options.out);
  }
  const { continueOnError, ...brightenOptions } = options;
  if (continueOnError !== true) {
    const reports: Report[] = [];
    for (const path of uniqueFiles(paths)) reports.push(await brightenFile(path, brightenOptions));
    return reports;
  }
  const outcomes: FileOutcome[] = [];
  for (const path of uniqueFiles(paths)) {
    try {
      outcomes.push({ path, report: await brightenFile(path, brightenOptions) });
    } catch (error) {
      if (errorCode(error) === 'ERR_ABORTED') throw error;
      outcomes.push({ path, error: error instanceof Error ? error : new Error(String(error)) });
    }
  }
  return outcomes;
}
