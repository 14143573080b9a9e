/**
 * The brighten pipeline's options: their types, defaults and the one place they are checked. Checking
 * happens before any file is opened, so a bad option never costs a lock or a byte.
 */
import { invalidParameterError } from '../errors.js';
import { checkOps, MAX_OPS } from '../kernels/ops.js';
import { KERNEL_NAMES, type KernelName } from '../kernels/types.js';
import {
  BAND_COUNTS,
  type Bands,
  BYTE_ORDERS,
  type ByteOrder,
  CHANNEL_MODES,
  type Channels,
  type SampleType,
} from '../pixels.js';
import {
  boolean,
  byteCount,
  options as checkOptions,
  integerInRange,
  MAX_WINDOW_BYTES,
  oneOf,
  optionalOneOf,
  type PathLike,
  pathArgument,
} from '../validate.js';
import { MAX_SLOTS } from './journal.js';
import type { Progress } from './pool.js';
import type { ResolvedStrategy } from './protocol.js';

/** `'mmap'`: file pages mapped straight into wasm memory; `'pread'`: copied in and out; `'auto'`: the fastest here. */
export type Strategy = 'auto' | ResolvedStrategy;
export const STRATEGIES: readonly Strategy[] = ['auto', 'mmap', 'pread'];

/**
 * The default window for overlays: large enough to amortise the per-window cost (mapping, prefault,
 * unmapping), small enough to keep memory low. Measured by `rawbright bench`: 4 MiB to 1 GiB all ran
 * at 6.2–6.9 GB/s; below 2 MiB the page cache's 2 MiB folios are split and writes crawl.
 */
export const DEFAULT_WINDOW = 64 * 1024 * 1024;
/** The default window for copies: small enough to stay in the CPU cache (4 MiB: 4.2 GB/s, 64 MiB: 3.1). */
const DEFAULT_PREAD_WINDOW = 4 * 1024 * 1024;
/** Overlays smaller than a 2 MiB folio crawl (~0.4 GB/s): `'auto'` copies such windows instead. */
const SMALLEST_FAST_OVERLAY = 2 * 1024 * 1024;

export interface BrightenOptions {
  /** The delta added to every sample, an integer from −65535 to 65535 (required). */
  by: number;
  /** Sample type [the sidecar's `sampleType`, else `'uint16'`]. */
  type?: SampleType;
  /** `'rgb'` leaves alpha alone, `'rgba'` brightens it too [`'rgb'`]; the same as `alpha`. */
  channels?: Channels;
  /** Change alpha samples too (the last band of 2 and 4; TIFF ExtraSamples alpha; PAM *_ALPHA) [false]. */
  alpha?: boolean;
  /** Headerless raw files: samples a pixel, 1 to 4 [4]. TIFF, FITS and PNM files say this themselves. */
  bands?: Bands;
  /** Headerless raw files: the samples' byte order [`'little'`]. */
  byteOrder?: ByteOrder;
  /** Headerless raw files: bytes of a leading header left as they are [0]. */
  header?: number | bigint;
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
  /** Write the result to this new file (a path, Buffer or `file:` URL) and leave the input untouched. */
  out?: PathLike;
  /** Replace an existing `out` [false]. */
  overwrite?: boolean;
  /**
   * Worker threads, each with its own wasm instance, on disjoint windows; `'auto'`: a second one only for a
   * file of 1 GiB or more on a machine with a core free (see ./workers.ts) [`'auto'`].
   */
  workers?: number | 'auto';
  /**
   * Run the first worker on the calling thread, with no worker thread to start for it (saves its start-up,
   * 40-95 ms; with more workers, the others run on worker threads beside it). The event loop runs only
   * between windows, so this is for callers like a CLI that wait anyway [false].
   */
  inThread?: boolean;
  /** Keep an undo journal so a killed in-place run can be resumed [true for in-place runs]. */
  journal?: boolean;
  /** fsync every window, so even a power cut loses nothing (slow: disk speed) [false]. */
  durable?: boolean;
  /**
   * Stops the run after the window in hand (an in-place run keeps its journal, for `resumeFile`); the promise
   * rejects with a `RawbrightError` whose `name` is `'AbortError'`, `code` `'ERR_ABORTED'`, `cause` the
   * signal's reason.
   */
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
    /** The journal's undo chunk in bytes, a multiple of 8 (clipped to the window) [48 KiB where the wasm-simd kernel records the journal itself, else 1 MiB]; set, JavaScript records it. */
    journalChunk?: number;
  };
}

export interface ResumeOptions
  extends Pick<
    BrightenOptions,
    'kernel' | 'strategy' | 'workers' | 'inThread' | 'durable' | 'signal' | 'onProgress'
  > {
  /** Accept the file as it is: drop the pending run (its mark and journal) without changing a pixel [false]. */
  discard?: boolean;
}

/** The options every run shares (brighten and resume), checked. */
export type CommonOptions = ReturnType<typeof checkCommonOptions>;

/** A brighten call's options, checked; the file-dependent ones (type, offset, length) are checked once the file is open. */
export interface CheckedBrighten {
  path: string;
  by: number;
  channels: Channels;
  alpha: boolean;
  bands: Bands | undefined;
  byteOrder: ByteOrder | undefined;
  header: number | undefined;
  out: string | undefined;
  overwrite: boolean;
  strategy: ResolvedStrategy;
  windowSize: number;
  useJournal: boolean;
  common: CommonOptions;
  /**
   * An adjust run's ops (see ../kernels/ops.ts), undefined for brighten; checked against each layout's bands
   * once the file is open, before anything changes.
   */
  ops?: unknown;
  /** Still unchecked: they depend on the file and its sidecar. */
  type: unknown;
  offset: unknown;
  length: unknown;
}

/**
 * Resolves `'auto'`: the overlay (zero copy, 2 MiB aligned, prefaulted) is the fast path for a
 * cached file brightened in place. A new output file is not cached: faulting its pages in through a
 * mapping ran at 0.4 GB/s where pwrite ran at 3.7, so out-of-place runs copy. So do windows smaller
 * than a page-cache folio, which an overlay would split.
 */
export function resolveStrategy(
  strategy: Strategy,
  window: number | undefined,
  outOfPlace: boolean,
): ResolvedStrategy {
  if (strategy !== 'auto') return strategy;
  return outOfPlace || (window !== undefined && window < SMALLEST_FAST_OVERLAY) ? 'pread' : 'mmap';
}

/** A byte count that must hold whole 8-byte pixels. */
export function pixelAligned(name: string, value: number): number {
  if (value % 8 !== 0) throw invalidParameterError(name, 'a multiple of 8 bytes (one RGBA16 pixel)', value);
  return value;
}

/** Checks the options brighten and resume share. */
export function checkCommonOptions(o: Record<string, unknown>) {
  const kernel = optionalOneOf('kernel', o.kernel, KERNEL_NAMES, 'wasm-simd');
  const strategy = optionalOneOf('strategy', o.strategy, STRATEGIES, 'auto');
  const workers: number | 'auto' =
    o.workers === undefined || o.workers === 'auto'
      ? 'auto'
      : typeof o.workers === 'number'
        ? integerInRange('workers', o.workers, 1, MAX_SLOTS)
        : invalid('workers', `'auto' or an integer from 1 to ${MAX_SLOTS}`, o.workers);
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
    inThread: boolean('inThread', o.inThread, false),
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

function invalid(name: string, expected: string, value: unknown): never {
  throw invalidParameterError(name, expected, value);
}

function checkBands(value: unknown): Bands {
  if (!(BAND_COUNTS as readonly unknown[]).includes(value))
    throw invalidParameterError('bands', 'one of 1, 2, 3, 4', value);
  return value as Bands;
}

/**
 * Checks an adjust call's arguments: those of brighten, without `by`, with `ops` (an array of 1 to MAX_OPS
 * ops; their values are checked against the bands once the file is open).
 */
export function checkAdjustOptions(path: unknown, options: unknown): CheckedBrighten {
  const o = checkOptions('options', options);
  if (o.by !== undefined) throw invalidParameterError('by', "no by for adjust (use an 'add' op)", o.by);
  if (!Array.isArray(o.ops) || o.ops.length === 0 || o.ops.length > MAX_OPS) {
    throw invalidParameterError('ops', `an array of 1 to ${MAX_OPS} operations`, o.ops);
  }
  // The ops' shape, every value included, as far as it does not depend on the bands (up to 4 per op).
  checkOps(
    o.ops.map((op: unknown) => widen(op)),
    4,
  );
  return { ...checkBrightenOptions(path, { ...o, ops: undefined, by: 0 }), ops: o.ops };
}

/** An op whose per-band arrays are padded to 4 entries, so its values can be checked before the bands are known. */
function widen(op: unknown): unknown {
  if (op === null || typeof op !== 'object' || Array.isArray(op)) return op;
  const pad = (v: unknown) =>
    Array.isArray(v) && v.length >= 1 && v.length < 4
      ? [...v, ...new Array<unknown>(4 - v.length).fill(v[v.length - 1])]
      : v;
  const o = op as Record<string, unknown>;
  return {
    ...o,
    ...('value' in o && { value: pad(o.value) }),
    ...('black' in o && { black: pad(o.black) }),
    ...('white' in o && { white: pad(o.white) }),
  };
}

/** Checks a brighten call's arguments, all that can be checked without the file. */
export function checkBrightenOptions(path: unknown, options: unknown): CheckedBrighten {
  const checkedPath = pathArgument('path', path);
  const o = checkOptions('options', options);
  if (o.by === undefined) throw invalidParameterError('by', 'an integer from -65535 to 65535', undefined);
  const by = integerInRange('by', o.by, -65535, 65535);
  const common = checkCommonOptions(o);
  const channels = optionalOneOf('channels', o.channels, CHANNEL_MODES, o.alpha === true ? 'rgba' : 'rgb');
  const alpha = boolean('alpha', o.alpha, channels === 'rgba');
  if (alpha !== (channels === 'rgba')) {
    throw invalidParameterError(
      'alpha',
      `the same as channels '${channels}' (${channels === 'rgba'})`,
      o.alpha,
    );
  }
  const out = o.out === undefined ? undefined : pathArgument('out', o.out);
  const givenWindow =
    o.window === undefined ? undefined : pixelAligned('window', byteCount('window', o.window));
  const strategy = resolveStrategy(common.strategy, givenWindow, out !== undefined);
  const windowSize = givenWindow ?? (strategy === 'pread' ? DEFAULT_PREAD_WINDOW : DEFAULT_WINDOW);
  if (windowSize === 0 || windowSize > MAX_WINDOW_BYTES) {
    throw invalidParameterError('window', 'a size from 8 bytes to 4 GiB', windowSize);
  }
  return {
    path: checkedPath,
    by,
    channels,
    alpha,
    bands: o.bands === undefined ? undefined : checkBands(o.bands),
    byteOrder: o.byteOrder === undefined ? undefined : oneOf('byteOrder', o.byteOrder, BYTE_ORDERS),
    header: o.header === undefined ? undefined : byteCount('header', o.header),
    out,
    overwrite: boolean('overwrite', o.overwrite, false),
    strategy,
    windowSize,
    useJournal: out === undefined && boolean('journal', o.journal, true),
    common,
    type: o.type,
    offset: o.offset,
    length: o.length,
  };
}
