/**
 * The brighten pipeline: a raw file of any size is brightened window by window, in place (with an
 * undo journal, resumable after a kill) or into a new file, by worker threads so the event loop
 * stays free.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  openSync,
  realpathSync,
  renameSync,
  rmSync,
  type Stats,
  statSync,
  unlinkSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { readSidecar } from '../convert/sidecar.js';
import { asRawbrightError, errorCode, invalidParameterError, RawbrightError } from '../errors.js';
import { MappedFile } from '../file/mapped-file.js';
import { MAX_ARENA_BYTES } from '../kernels/host.js';
import {
  type BrightenParams,
  type Channels,
  KERNEL_NAMES,
  type KernelName,
  type SampleType,
} from '../kernels/types.js';
import {
  boolean,
  byteCount,
  options as checkOptions,
  integerInRange,
  MAX_WINDOW_BYTES,
  nonEmptyString,
  optionalByteCount,
  optionalOneOf,
} from '../validate.js';
import {
  DEFAULT_CHUNK,
  fileIdentity,
  Journal,
  journalPathFor,
  MAX_SLOTS,
  markPendingRun,
  type PendingRange,
  pendingJournal,
  refusePendingRun,
  unmarkPendingRun,
} from './journal.js';
import { abortedError, type Progress, type RunPlan, runWindows } from './pool.js';
import type { ResolvedStrategy, WorkerWindow } from './protocol.js';

export type { Progress } from './pool.js';

/** `'mmap'`: file pages mapped straight into wasm memory; `'pread'`: copied in and out; `'auto'`: the fastest here. */
export type Strategy = 'auto' | ResolvedStrategy;
export const STRATEGIES: readonly Strategy[] = ['auto', 'mmap', 'pread'];
export const SAMPLE_TYPES: readonly SampleType[] = ['uint16', 'int16'];
export const CHANNELS: readonly Channels[] = ['rgb', 'rgba'];

/**
 * The default window for overlays: large enough to amortise the per-window cost (mapping, prefault,
 * unmapping), small enough to keep memory low. Measured by `rawbright bench`: 4 MiB to 1 GiB all ran
 * at 6.2–6.9 GB/s; below 2 MiB the page cache's 2 MiB folios are split and writes crawl.
 */
export const DEFAULT_WINDOW = 64 * 1024 * 1024;
/** The default window for copies: small enough to stay in the CPU cache (4 MiB: 4.2 GB/s, 64 MiB: 3.1). */
export const DEFAULT_PREAD_WINDOW = 4 * 1024 * 1024;
/** Overlays smaller than a 2 MiB folio crawl (~0.4 GB/s): `'auto'` copies such windows instead. */
const SMALLEST_FAST_OVERLAY = 2 * 1024 * 1024;

export interface BrightenOptions {
  /** The delta added to every sample, an integer from −65535 to 65535 (required). */
  by: number;
  /** Sample type [the sidecar's `sampleType`, else `'uint16'`]. */
  type?: SampleType;
  /** `'rgb'` leaves alpha alone, `'rgba'` brightens it too [`'rgb'`]. */
  channels?: Channels;
  /** Window size in bytes, a multiple of 8, at most 4 GiB [64 MiB]. */
  window?: number | bigint;
  /** First byte to brighten, a multiple of 8 [0]. */
  offset?: number | bigint;
  /** Bytes to brighten, a multiple of 8 [the rest of the file]. */
  length?: number | bigint;
  /** [`'wasm-simd'`] */
  kernel?: KernelName;
  /** [`'auto'`] */
  strategy?: Strategy;
  /** Write the result to this new file and leave the input untouched. */
  out?: string;
  /** Replace an existing `out` [false]. */
  overwrite?: boolean;
  /** Worker threads, each with its own wasm instance, on disjoint windows [1]. */
  workers?: number;
  /** Keep an undo journal so a killed in-place run can be resumed [true for in-place runs]. */
  journal?: boolean;
  /** fsync every window, so even a power cut loses nothing (slow: disk speed) [false]. */
  durable?: boolean;
  signal?: AbortSignal;
  onProgress?: (progress: Progress) => void;
  /** @internal Benchmark levers. */
  tuning?: {
    alignOverlays?: boolean;
    populate?: boolean;
    writeback?: boolean;
    /** Shift every overlay this many bytes (a page multiple below 2 MiB) off the 2 MiB congruence [0]. */
    overlayMisalignment?: number;
    /** MADV_HUGEPAGE on every overlay [out-of-place runs only: a new file's pages are not cached yet]. */
    hugepage?: boolean;
    /** The journal's undo chunk in bytes, a multiple of 8 (clipped to the window) [1 MiB]. */
    journalChunk?: number;
  };
}

export interface Report {
  path: string;
  out?: string;
  bytes: number;
  pixels: number;
  seconds: number;
  gbps: number;
  kernel: KernelName;
  /** The strategy asked for, and the one used. */
  strategyRequested: Strategy;
  strategy: ResolvedStrategy;
  /** Why the strategy used differs from the one asked for. */
  fallbackReason?: string;
  windows: number;
  window: number;
  workers: number;
  journal: boolean;
  /** Peak resident memory of this process so far, in bytes. */
  peakRssBytes: number;
}

/**
 * Resolves `'auto'`: the overlay (zero copy, 2 MiB aligned, prefaulted) is the fast path for a
 * cached file brightened in place. A new output file is not cached: faulting its pages in through a
 * mapping ran at 0.4 GB/s where pwrite ran at 3.7, so out-of-place runs copy. So do windows smaller
 * than a page-cache folio, which an overlay would split.
 */
function resolveStrategy(
  strategy: Strategy,
  window: number | undefined,
  outOfPlace: boolean,
): ResolvedStrategy {
  if (strategy !== 'auto') return strategy;
  return outOfPlace || (window !== undefined && window < SMALLEST_FAST_OVERLAY) ? 'pread' : 'mmap';
}

function checkFileShape(file: MappedFile): number {
  const size = file.size;
  if (size === 0) throw new RawbrightError('ERR_EMPTY_FILE', `${file.path} is empty`, { path: file.path });
  if (size % 8 !== 0) {
    throw new RawbrightError(
      'ERR_NOT_PIXEL_ALIGNED',
      `${file.path} is ${size} bytes, not a whole number of 8-byte RGBA16 pixels`,
      { path: file.path },
    );
  }
  return size;
}

function pixelAligned(name: string, value: number): number {
  if (value % 8 !== 0) throw invalidParameterError(name, 'a multiple of 8 bytes (one RGBA16 pixel)', value);
  return value;
}

function sameFile(a: string, b: string): boolean {
  try {
    const sa = statSync(a);
    const sb = statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

/** The absolute path `out` will have, resolving its folder's symlinks, to compare it with the input. */
function canonicalTarget(path: string): string {
  try {
    return join(realpathSync(dirname(resolve(path))), basename(path));
  } catch {
    return resolve(path);
  }
}

function splitIntoWindows(offset: number, length: number, window: number): WorkerWindow[] {
  const windows: WorkerWindow[] = [];
  for (let index = 0, start = offset; start < offset + length; index++, start += window) {
    const size = Math.min(window, offset + length - start);
    windows.push({ index, offset: start, length: size, brightenOffset: start, brightenLength: size });
  }
  return windows;
}

/** Out of place, every byte of the file is copied and only the range is brightened. */
function splitWholeFile(size: number, window: number, offset: number, length: number): WorkerWindow[] {
  return splitIntoWindows(0, size, window).map((w) => {
    const from = Math.max(w.offset, offset);
    const to = Math.min(w.offset + w.length, offset + length);
    return { ...w, brightenOffset: from, brightenLength: Math.max(0, to - from) };
  });
}

function peakRss(): number {
  return process.resourceUsage().maxRSS * 1024;
}

function buildReport(
  plan: RunPlan,
  strategyRequested: Strategy,
  result: { seconds: number; placement: string; fallbackReason?: string },
): Report {
  const bytes = plan.windows.reduce((sum, w) => sum + w.brightenLength, 0);
  const strategy: ResolvedStrategy = result.placement === 'overlay' ? 'mmap' : 'pread';
  return {
    path: plan.path,
    ...(plan.out !== undefined && { out: plan.out }),
    bytes,
    pixels: bytes / 8,
    seconds: result.seconds,
    gbps: result.seconds > 0 ? bytes / result.seconds / 1e9 : 0,
    kernel: plan.config.kernel,
    strategyRequested,
    strategy,
    ...(result.fallbackReason !== undefined && { fallbackReason: result.fallbackReason }),
    windows: plan.windows.length,
    window: plan.config.arenaBytes,
    workers: Math.max(1, Math.min(plan.workers, plan.windows.length)),
    journal: plan.journal !== undefined,
    peakRssBytes: peakRss(),
  };
}

function checkCommonOptions(o: Record<string, unknown>) {
  const kernel = optionalOneOf('kernel', o.kernel, KERNEL_NAMES, 'wasm-simd');
  const strategy = optionalOneOf('strategy', o.strategy, STRATEGIES, 'auto');
  const workers = o.workers === undefined ? 1 : integerInRange('workers', o.workers, 1, MAX_SLOTS);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw invalidParameterError('signal', 'an AbortSignal', o.signal);
  }
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') {
    throw invalidParameterError('onProgress', 'a function', o.onProgress);
  }
  const tuning = checkOptions('tuning', o.tuning);
  return {
    kernel,
    strategy,
    workers,
    durable: boolean('durable', o.durable, false),
    signal: o.signal as AbortSignal | undefined,
    onProgress: o.onProgress as ((progress: Progress) => void) | undefined,
    // The benchmark's levers, passed to every worker as they are.
    levers: {
      alignOverlays: boolean('tuning.alignOverlays', tuning.alignOverlays, true),
      populate: boolean('tuning.populate', tuning.populate, true),
      writeback: boolean('tuning.writeback', tuning.writeback, false),
      overlayMisalignment: integerInRange(
        'tuning.overlayMisalignment',
        tuning.overlayMisalignment ?? 0,
        0,
        2 ** 21 - 1,
      ),
    },
    hugepage: tuning.hugepage === undefined ? undefined : boolean('tuning.hugepage', tuning.hugepage, false),
    journalChunk:
      tuning.journalChunk === undefined
        ? undefined
        : pixelAligned(
            'tuning.journalChunk',
            integerInRange('tuning.journalChunk', tuning.journalChunk, 8, 2 ** 32),
          ),
  };
}

/**
 * Brightens a raw 16-bit RGBA file (8 bytes a pixel, little-endian), window by window.
 *
 * In place (the default), the file is locked (exclusive flock) and an undo journal
 * `FILE.rawbright-journal` is kept: if the process is killed at any moment, {@link resumeFile}
 * finishes the run with a result byte-identical to an uninterrupted one. With `out`, the input is
 * left untouched and the result is written to `OUT.rawbright-partial`, renamed to `out` only once
 * complete.
 *
 * @param path The raw file.
 * @param options See {@link BrightenOptions}; `by` is required.
 * @returns A {@link Report}.
 * @throws {RawbrightError} with a `code`: `ENOENT`, `EISDIR`, `EACCES`, `ERR_EMPTY_FILE`, `ERR_NOT_PIXEL_ALIGNED`,
 * `ERR_INVALID_ARG_VALUE`, `ERR_OUT_OF_RANGE`, `ERR_FILE_LOCKED`, `ERR_JOURNAL_EXISTS`, `EEXIST` (out exists),
 * `ERR_SAME_FILE`, `ENOSPC`, `EFBIG`, `ERR_ABORTED`, …
 * @example
 * ```ts
 * const report = await brightenFile('huge.raw', { by: 1000 });
 * console.log(`${report.gbps.toFixed(2)} GB/s`);
 * ```
 */
export async function brightenFile(path: string, options: BrightenOptions): Promise<Report> {
  const checkedPath = nonEmptyString('path', path);
  const o = checkOptions('options', options);
  if (o.by === undefined) throw invalidParameterError('by', 'an integer from -65535 to 65535', undefined);
  const by = integerInRange('by', o.by, -65535, 65535);
  const common = checkCommonOptions(o);
  const channels = optionalOneOf('channels', o.channels, CHANNELS, 'rgb');
  const out = o.out === undefined ? undefined : nonEmptyString('out', o.out);
  const givenWindow =
    o.window === undefined ? undefined : pixelAligned('window', byteCount('window', o.window));
  const strategy = resolveStrategy(common.strategy, givenWindow, out !== undefined);
  const windowSize = givenWindow ?? (strategy === 'pread' ? DEFAULT_PREAD_WINDOW : DEFAULT_WINDOW);
  if (windowSize === 0 || windowSize > MAX_WINDOW_BYTES) {
    throw invalidParameterError('window', 'a size from 8 bytes to 4 GiB', windowSize);
  }
  const overwrite = boolean('overwrite', o.overwrite, false);
  const useJournal = out === undefined && boolean('journal', o.journal, true);

  const file = MappedFile.open(checkedPath, { access: out === undefined ? 'readwrite' : 'read' });
  let partial: string | undefined;
  let journal: Journal | undefined;
  let started = false;
  try {
    const size = checkFileShape(file);
    // The sidecar is optional; when present it must describe this file (readSidecar checks the size).
    const sidecar = await readSidecar(checkedPath);
    const type = optionalOneOf('type', o.type, SAMPLE_TYPES, sidecar?.sampleType ?? 'uint16');
    const offset = pixelAligned('offset', optionalByteCount('offset', o.offset, 0));
    if (offset > size)
      throw new RawbrightError('ERR_OUT_OF_RANGE', 'offset is larger than the file', { path: checkedPath });
    const length = pixelAligned('length', optionalByteCount('length', o.length, size - offset));
    if (length > size - offset) {
      throw new RawbrightError('ERR_OUT_OF_RANGE', 'length is past the end of the file', {
        path: checkedPath,
      });
    }
    // The arena holds one window; windows past what a wasm32 memory can hold go through in pieces of the largest arena.
    // No larger than the bytes it will hold, so a small file never reserves a huge wasm memory.
    const arenaBytes = Math.min(
      windowSize,
      MAX_ARENA_BYTES - (MAX_ARENA_BYTES % 8),
      Math.max(8, out === undefined ? length : size),
    );
    if (common.signal?.aborted) throw abortedError(checkedPath, 0, 0, false);
    const params: BrightenParams = { delta: by, type, channels };

    if (out !== undefined) {
      if (canonicalTarget(out) === canonicalTarget(checkedPath) || sameFile(out, checkedPath)) {
        throw new RawbrightError(
          'ERR_SAME_FILE',
          `the output ${out} is the input file; leave out --out to brighten in place`,
          {
            path: out,
          },
        );
      }
      file.lock('shared');
      if (!overwrite && pathExists(out)) {
        throw new RawbrightError('EEXIST', `${out} already exists (use overwrite to replace it)`, {
          path: out,
        });
      }
      refuseSpecialOutput(out);
      // Half-brightened input must not be copied as if it were whole.
      refusePendingRun(file);
      // A name of its own, so that two runs writing the same output never publish each other's
      // unfinished file; the suffix marks a leftover of a killed run as unfinished.
      partial = `${out}.rawbright-partial-${randomBytes(4).toString('hex')}`;
      (await MappedFile.createAsync(partial, { size })).close();
    } else {
      file.lock('exclusive');
      refusePendingRun(file);
      reserveInPlace(file, offset, length);
    }

    const windows =
      out === undefined
        ? splitIntoWindows(offset, length, arenaBytes)
        : splitWholeFile(size, arenaBytes, offset, length);
    if (useJournal) {
      journal = Journal.create(journalPathFor(checkedPath), {
        version: 2,
        file: { path: checkedPath, ...fileIdentity(checkedPath) },
        by,
        type,
        channels,
        offset,
        length,
        window: arenaBytes,
        windows: windows.length,
        // Durable runs flush at every step, so they take whole windows as their undo unit.
        chunk: common.durable ? arenaBytes : Math.min(common.journalChunk ?? DEFAULT_CHUNK, arenaBytes),
        slots: Math.max(1, Math.min(common.workers, windows.length)),
        durable: common.durable,
      });
      journal.close();
      // The file itself names its journal, so every path to it finds the pending run.
      markPendingRun(file, journal.path);
      // Before any pixel changes, a durable run's journal and its name are on disk: after a power cut
      // the first window must find them (the workers flush only their slots).
      if (common.durable) {
        await syncPath(journal.path);
        syncFolder(dirname(journal.path));
      }
    }
    const plan: RunPlan = {
      path: checkedPath,
      ...(out !== undefined && { out }),
      windows,
      totalWindows: windows.length,
      bytes: windows.reduce((sum, w) => sum + w.length, 0),
      config: {
        path: checkedPath,
        ...(partial !== undefined && { out: partial }),
        strategy,
        kernel: common.kernel,
        params,
        arenaBytes,
        durable: common.durable,
        ...common.levers,
        // A new output's pages are not cached; the bench's lever panel measured an out-of-place overlay
        // at 2.07 GB/s with MADV_HUGEPAGE and 0.42 without (a later strategies run gave 0.42 with it
        // too, which is why 'auto' copies out of place).
        hugepage: common.hugepage ?? out !== undefined,
      },
      ...(journal !== undefined && { journal: { path: journal.path, params: journal.params } }),
      workers: common.workers,
      signal: common.signal,
      onProgress: common.onProgress,
    };
    started = true;
    const result =
      windows.length > 0
        ? await runWindows(plan)
        : { seconds: 0, placement: plan.config.strategy === 'mmap' ? 'overlay' : 'copy' };
    if (partial !== undefined) {
      if (common.durable) await syncPath(partial);
      publish(partial, out!, overwrite);
      partial = undefined;
    }
    if (journal !== undefined) finishRun(file, journal.path);
    return buildReport(plan, common.strategy, result);
  } catch (error) {
    // A run that changed nothing leaves nothing behind; an interrupted in-place run keeps its journal.
    const changedNothing = journal !== undefined && (!started || Journal.untouched(journal.path));
    if (journal !== undefined && changedNothing) finishRun(file, journal.path);
    if (partial !== undefined) rmSync(partial, { force: true });
    if (
      journal !== undefined &&
      !changedNothing &&
      errorCode(error) !== 'ERR_ABORTED' &&
      // A truncated file cannot be resumed (the journal no longer matches its size).
      errorCode(error) !== 'ERR_FILE_TRUNCATED' &&
      error instanceof Error
    ) {
      error.message += `; run 'rawbright resume ${checkedPath}' to finish`;
    }
    throw error;
  } finally {
    file.close();
  }
}

/** Ends an in-place run: its journal goes first, then the mark on the file that points to it. */
function finishRun(file: MappedFile, journalPath: string): void {
  rmSync(journalPath, { force: true });
  unmarkPendingRun(file);
}

/**
 * Gives a finished output its name: replacing an existing file with `overwrite`, otherwise only if
 * the name is still free (link fails with EEXIST rather than replace a file that appeared meanwhile).
 */
function publish(partial: string, out: string, overwrite: boolean): void {
  if (overwrite) {
    renameSync(partial, out);
    return;
  }
  try {
    linkSync(partial, out);
  } catch (error) {
    if (errorCode(error) === 'EEXIST') {
      throw new RawbrightError('EEXIST', `${out} already exists (use overwrite to replace it)`, {
        path: out,
      });
    }
    throw error;
  }
  unlinkSync(partial);
}

/**
 * The finished output is renamed over `out`: over a device node or a FIFO (think `--out /dev/null
 * --overwrite` as root) that would replace it rather than write to it, and over a directory it fails
 * only after all the work. Refuse both before starting.
 */
function refuseSpecialOutput(out: string): void {
  let info: Stats;
  try {
    info = statSync(out);
  } catch {
    return;
  }
  if (info.isFile()) return;
  const [code, what] = info.isDirectory() ? ['EISDIR', 'a directory'] : ['ENODEV', 'not a regular file'];
  throw new RawbrightError(code, `cannot overwrite ${out}: it is ${what}`, { path: out });
}

function pathExists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch (error) {
    return errorCode(error) !== 'ENOENT';
  }
}

/**
 * Finds a full disk or a file size limit before any pixel changes. A sparse file's holes need blocks
 * the first time a mapped window writes them, and on a full disk that is SIGBUS (or, prefaulted, an
 * EFAULT that reads like a truncation) part way through: allocate them now. And pwrite refuses any
 * byte at or past `ulimit -f`, even inside the file: rewrite the range's last byte with its own value.
 */
function reserveInPlace(file: MappedFile, offset: number, length: number): void {
  if (length === 0) return;
  try {
    file._handle.allocate(offset, length);
  } catch (error) {
    // A file system that cannot allocate ahead (glibc emulates it where it can) is no reason to refuse.
    const code = errorCode(error);
    if (code !== 'EOPNOTSUPP' && code !== 'ENOSYS' && code !== 'EINVAL')
      throw asRawbrightError(error, file.path);
  }
  const last = Buffer.alloc(1);
  file.read(offset + length - 1, last);
  file.write(offset + length - 1, last);
}

function syncFolder(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

async function syncPath(path: string): Promise<void> {
  const file = MappedFile.open(path, { access: 'readwrite' });
  try {
    await file.sync();
  } finally {
    file.close();
  }
}

export interface ResumeOptions
  extends Pick<BrightenOptions, 'kernel' | 'strategy' | 'workers' | 'durable' | 'signal' | 'onProgress'> {}

/** What {@link resumeFile} did: `resumed: false` when there was nothing to resume. */
export type ResumeReport = ({ resumed: true } & Report) | { resumed: false; path: string };

/**
 * Finishes an in-place run that was interrupted (killed, Ctrl-C, a full disk…): the windows that
 * were being changed are restored from the journal, then every window not yet done is brightened
 * with the run's original parameters. The result is byte-identical to an uninterrupted run.
 *
 * @param path The raw file (not the journal).
 * @returns `{ resumed: false }` when the file has no journal.
 * @throws {RawbrightError} `ERR_JOURNAL_CORRUPT` (the file is left as it is), `ERR_JOURNAL_MISMATCH`
 * (the journal belongs to another file or size), `ERR_FILE_LOCKED` (a run is live), …
 */
export async function resumeFile(path: string, options: ResumeOptions = {}): Promise<ResumeReport> {
  const checkedPath = nonEmptyString('path', path);
  const common = checkCommonOptions(checkOptions('options', options));
  // Looked for read-only first: a file with nothing to resume may well be read-only.
  const probe = MappedFile.open(checkedPath, { access: 'read' });
  let journalPath: string | undefined;
  try {
    journalPath = pendingJournal(probe);
  } finally {
    probe.close();
  }
  if (journalPath === undefined) return { resumed: false, path: checkedPath };
  const file = MappedFile.open(checkedPath, { access: 'readwrite' });
  try {
    file.lock('exclusive');
    let journal: Journal;
    try {
      journal = Journal.open(journalPath);
    } catch (error) {
      // Killed before its journal was written, the run changed nothing: there is nothing to resume.
      if (errorCode(error) !== 'ERR_JOURNAL_UNUSED') throw error;
      finishRun(file, journalPath);
      return { resumed: false, path: checkedPath };
    }
    // A durable run stays durable when resumed, unless the caller says otherwise.
    const durable = options.durable === undefined ? journal.params.durable === true : common.durable;
    let pending: PendingRange[];
    try {
      const identity = fileIdentity(checkedPath);
      const recorded = journal.params.file;
      if (identity.size !== recorded.size || identity.ino !== recorded.ino || identity.dev !== recorded.dev) {
        throw new RawbrightError(
          'ERR_JOURNAL_MISMATCH',
          `the journal ${journalPath} belongs to another file or size than ${checkedPath}; nothing was changed`,
          { path: journalPath },
        );
      }
      reserveInPlace(file, journal.params.offset, journal.params.length);
      pending = journal.restoreAndPlan(file, durable);
    } finally {
      journal.close();
    }
    const p = journal.params;
    const windows = pending.map((range) => ({
      ...range,
      brightenOffset: range.offset,
      brightenLength: range.length,
    }));
    const plan: RunPlan = {
      path: checkedPath,
      windows,
      totalWindows: p.windows,
      bytes: windows.reduce((sum, w) => sum + w.length, 0),
      config: {
        path: checkedPath,
        strategy: resolveStrategy(common.strategy, p.window, false),
        kernel: common.kernel,
        params: { delta: p.by, type: p.type, channels: p.channels },
        arenaBytes: p.window,
        durable,
        ...common.levers,
        hugepage: common.hugepage ?? false,
      },
      journal: { path: journalPath, params: p },
      // The journal has one slot per worker of the original run.
      workers: Math.min(common.workers, p.slots),
      signal: common.signal,
      onProgress: common.onProgress,
    };
    const result = windows.length > 0 ? await runWindows(plan) : { seconds: 0, placement: 'overlay' };
    finishRun(file, journalPath);
    return { resumed: true, ...buildReport(plan, common.strategy, result) };
  } finally {
    file.close();
  }
}

/**
 * Brightens several files one after another with the same options.
 * @returns One report per file, in order. The first failure stops the batch and is thrown.
 */
export async function brightenFiles(paths: readonly string[], options: BrightenOptions): Promise<Report[]> {
  if (!Array.isArray(paths)) throw invalidParameterError('paths', 'an array of paths', paths);
  if (options?.out !== undefined && paths.length > 1) {
    throw invalidParameterError('out', 'no out option when brightening several files', options.out);
  }
  const reports: Report[] = [];
  for (const path of paths) reports.push(await brightenFile(path, options));
  return reports;
}
