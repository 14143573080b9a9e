/**
 * The brighten kernel contract shared by every implementation (JavaScript, wasm scalar, wasm SIMD,
 * native): the types, and the one argument check they all run before touching memory.
 *
 * Semantics: a pixel is `bands` 16-bit samples (see ../pixels.ts); each changed sample x of band b becomes
 * `min(max(x + delta[b], lo), hi)`, computed exactly, where [lo, hi] is [0, max] for `'uint16'` (max 65535
 * unless given) and [-32768, 32767] for `'int16'`. The changed samples are every band's, except alpha's (the
 * last band of 2 and 4) unless `alpha` is true; unchanged samples keep their bytes whatever they hold. With
 * `byteOrder: 'big'` each sample is byte-swapped on load and store.
 */
import { invalidParameterError, RawbrightError } from '../errors.js';
import {
  alphaBand,
  BAND_COUNTS,
  type Bands,
  type ByteOrder,
  bytesPerPixel,
  type Channels,
  DEFAULT_BANDS,
  type SampleType,
  sampleRange,
} from '../pixels.js';

export type { Bands, ByteOrder, Channels, SampleType } from '../pixels.js';
export { CHANNEL_MODES, SAMPLE_TYPES } from '../pixels.js';

/** The kernel implementations. */
export type KernelName = 'js' | 'wasm' | 'wasm-simd' | 'native';

/** Every kernel name, reference first. */
export const KERNEL_NAMES: readonly KernelName[] = Object.freeze(['js', 'wasm', 'wasm-simd', 'native']);

/** The largest |delta|: anything larger saturates every sample of either type anyway. */
const MAX_DELTA = 65535;

/** What a brighten call does to each pixel. */
export interface BrightenParams {
  /**
   * Added to every changed sample: one whole number from -65535 to 65535, or one per band (index = band,
   * exactly `bands` entries; the alpha band's entry is used only when alpha changes).
   */
  delta: number | readonly number[];
  type: SampleType;
  /** Samples per pixel [4]. */
  bands?: Bands;
  /** Also change the alpha band (the last of 2 and 4; 1 and 3 bands have none, so it changes nothing) [false]. */
  alpha?: boolean;
  /**
   * Legacy form of `bands: 4` plus `alpha`: `'rgb'` leaves alpha alone, `'rgba'` changes it. Giving bands or
   * alpha as well is allowed only when they agree.
   */
  channels?: Channels;
  /** How each sample's two bytes are ordered ['little']: `'big'` for FITS, PNM and big-endian TIFF or raw. */
  byteOrder?: ByteOrder;
  /**
   * uint16 only: the largest value a changed sample may take, 1..65535 [65535] (PNM maxval, e.g. 4095 for
   * 12-bit data). Results are clamped to [0, max], so a changed sample already above max becomes max even
   * with delta 0.
   */
  max?: number;
  /**
   * An adjust chain (see ./ops.ts), applied instead of `delta` (give `delta: 0`): checked ops, one value per
   * band. A chain of one whole-number add runs as brighten; any other chain goes through a 65,536-entry table
   * per band, built once per chain.
   */
  ops?: readonly import('./ops.js').CheckedOp[];
}

/** The legacy form (one delta, 4-band pixels, channels): what the file benchmark and its reference program take. */
export interface RgbaBrightenParams extends BrightenParams {
  delta: number;
  channels: Channels;
  bands?: undefined;
  alpha?: undefined;
  byteOrder?: undefined;
  max?: undefined;
  ops?: undefined;
}

/** One brighten implementation. */
export interface Kernel {
  readonly name: KernelName;
  /**
   * Brightens bytes [byteOffset, byteOffset + byteLength) of buffer in place. byteOffset is any byte (odd ones
   * included) and starts a pixel; byteLength is a multiple of 2 × bands.
   * The wasm kernels require `buffer` to be their memory's current buffer (memory.buffer) and throw otherwise.
   * @param buffer the bytes (an ArrayBuffer; the JavaScript kernel also takes a SharedArrayBuffer)
   * @param byteOffset first byte, any offset (odd ones included)
   * @param byteLength a multiple of 2 × bands (whole pixels)
   * @param params delta, sample type, layout
   * @throws {RawbrightError} `ERR_INVALID_ARG_VALUE` for a bad argument, `ERR_OUT_OF_RANGE` when the range is
   *   outside the buffer, `ERR_FOREIGN_BUFFER` when a wasm kernel is given another buffer
   */
  brighten(buffer: ArrayBuffer, byteOffset: number, byteLength: number, params: BrightenParams): void;
  /**
   * wasm-simd only, for a plain brighten (no ops, or ops that add): brightens as {@link Kernel.brighten} does,
   * chunk by chunk under the undo journal's protocol, recording each chunk into a journal slot mapped into the
   * kernel's memory (see src/brighten/journal.ts, check `sum`).
   * @returns the steps left of `chunks.budget` (0: it ran out and the run stopped there; -1 without a
   *   budget), or undefined when these parameters need another kernel loop (the caller records from JS)
   */
  brightenJournaled?(
    buffer: ArrayBuffer,
    byteOffset: number,
    byteLength: number,
    params: BrightenParams,
    chunks: JournaledChunks,
  ): number | undefined;
}

/** Where and how {@link Kernel.brightenJournaled} records: a slot of the journal, mapped into the memory. */
export interface JournaledChunks {
  /** Byte offset in the memory of the slot's header page (its ring follows one page on). */
  slot: number;
  /** Chunk size in bytes, a multiple of 96 (the kernel's block). */
  chunk: number;
  /** The journal's number of the range's first chunk. */
  first: number;
  /** Protocol steps to take before stopping, as a kill would (tests) [all]. */
  budget?: number;
}

/**
 * A kernel with its own loop for the adjust tables (./ops.ts): js (TypeScript), wasm and wasm-simd (one
 * scalar wasm loop, tables in the wasm memory), native (C++). Used by createKernel's ops wrapper, which has
 * checked the arguments already.
 */
export interface TableKernel extends Kernel {
  /**
   * Applies the per-band tables to [byteOffset, byteOffset + byteLength) in place.
   * @param tables from buildTables, for the call's layout
   * @param bigEndian whether samples are stored big-endian
   */
  applyTables(
    buffer: ArrayBuffer,
    byteOffset: number,
    byteLength: number,
    tables: import('./ops.js').OpTables,
    bigEndian: boolean,
  ): void;
  /**
   * SIMD invert (hi + lo − x on every changed sample), where the kernel has one (wasm-simd): used for tables
   * proven equal to invert on all inputs. Arguments as brighten's, already checked.
   */
  invert?(buffer: ArrayBuffer, byteOffset: number, byteLength: number, checked: CheckedParams): void;
  /**
   * A linear chain (add, gain, levels, invert) as exact f64 SIMD arithmetic, where the kernel has it (wasm-simd,
   * native): the program from ./linear.ts, arguments already checked.
   */
  linear?(
    buffer: ArrayBuffer,
    byteOffset: number,
    byteLength: number,
    program: import('./linear.js').LinearProgram,
    checked: CheckedParams,
  ): void;
}

/** The checked form of a brighten call's parameters. */
export interface CheckedParams {
  bands: Bands;
  /** One delta per band; 0 for a band that does not change (alpha unless asked). */
  deltas: readonly number[];
  /** Per band, the largest result: max for changed bands, the type's own maximum for unchanged ones. */
  highs: readonly number[];
  /** The smallest result: 0 (uint16) or -32768 (int16). */
  low: number;
  signed: boolean;
  /** Whether the alpha band changes (false for 1 and 3 bands, which have none). */
  alpha: boolean;
  bigEndian: boolean;
  /** The upper clamp of changed samples: 65535 unless given (uint16), 32767 for int16. */
  max: number;
  /** True when the call cannot change a byte (every delta 0, no clamp below the type's maximum). */
  unchanged: boolean;
}

function isBuffer(value: unknown): value is ArrayBuffer {
  return (
    value instanceof ArrayBuffer ||
    (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer)
  );
}

const DELTA_RANGE = `an integer from -${MAX_DELTA} to ${MAX_DELTA}`;

function checkDelta(name: string, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < -MAX_DELTA || (value as number) > MAX_DELTA) {
    throw invalidParameterError(name, DELTA_RANGE, value);
  }
  // `+ 0` turns -0 into 0 so every kernel sees the same delta.
  return (value as number) + 0;
}

/** Bands and alpha from the new fields and the legacy `channels`, refusing contradictions. */
function checkLayout(bands: unknown, alpha: unknown, channels: unknown): { bands: Bands; alpha: boolean } {
  if (bands !== undefined && !(BAND_COUNTS as readonly unknown[]).includes(bands)) {
    throw invalidParameterError('bands', `one of ${BAND_COUNTS.join(', ')}`, bands);
  }
  if (alpha !== undefined && typeof alpha !== 'boolean')
    throw invalidParameterError('alpha', 'a boolean', alpha);
  if (channels === undefined)
    return { bands: (bands as Bands | undefined) ?? DEFAULT_BANDS, alpha: alpha === true };
  if (channels !== 'rgb' && channels !== 'rgba') {
    throw invalidParameterError('channels', "one of 'rgb', 'rgba'", channels);
  }
  const channelsAlpha = channels === 'rgba';
  if (bands !== undefined && bands !== DEFAULT_BANDS) {
    throw invalidParameterError('bands', `4 with channels '${channels}' (or no channels)`, bands);
  }
  if (alpha !== undefined && alpha !== channelsAlpha) {
    throw invalidParameterError(
      'alpha',
      `${channelsAlpha} with channels '${channels}' (or no channels)`,
      alpha,
    );
  }
  return { bands: DEFAULT_BANDS, alpha: channelsAlpha };
}

/**
 * Checks one brighten call's arguments (a handful of comparisons: kernels run it once per call, never per
 * sample) and returns the parameters in the form the loops use.
 * @param buffer the buffer the kernel will write
 * @param byteOffset first byte
 * @param byteLength number of bytes, a multiple of 2 × bands
 * @param params delta, type and layout (see {@link BrightenParams})
 * @returns per-band deltas and clamps, and the layout
 * @throws {RawbrightError} `ERR_INVALID_ARG_VALUE` for a bad argument, `ERR_OUT_OF_RANGE` when
 *   [byteOffset, byteOffset + byteLength) is not inside the buffer
 */
export function checkBrightenArgs(
  buffer: unknown,
  byteOffset: unknown,
  byteLength: unknown,
  params: unknown,
): CheckedParams {
  if (!isBuffer(buffer)) throw invalidParameterError('buffer', 'an ArrayBuffer', buffer);
  if (!Number.isSafeInteger(byteOffset) || (byteOffset as number) < 0) {
    throw invalidParameterError('byteOffset', 'a whole number of bytes from 0 to 2^53 - 1', byteOffset);
  }
  if (params === null || typeof params !== 'object')
    throw invalidParameterError('params', 'an object', params);
  const p = params as Record<string, unknown>;
  const { bands, alpha } = checkLayout(p.bands, p.alpha, p.channels);
  const pixelBytes = bytesPerPixel(bands);
  if (
    !Number.isSafeInteger(byteLength) ||
    (byteLength as number) < 0 ||
    (byteLength as number) % pixelBytes !== 0
  ) {
    throw invalidParameterError(
      'byteLength',
      `a whole number of ${pixelBytes}-byte pixels (a multiple of ${pixelBytes})`,
      byteLength,
    );
  }
  const offset = byteOffset as number;
  const length = byteLength as number;
  if (offset > buffer.byteLength || length > buffer.byteLength - offset) {
    throw new RawbrightError(
      'ERR_OUT_OF_RANGE',
      `the range of ${length} bytes at offset ${offset} is outside the buffer of ${buffer.byteLength} bytes`,
    );
  }
  const { type, byteOrder, max } = p;
  if (type !== 'uint16' && type !== 'int16')
    throw invalidParameterError('type', "one of 'uint16', 'int16'", type);
  if (byteOrder !== undefined && byteOrder !== 'little' && byteOrder !== 'big') {
    throw invalidParameterError('byteOrder', "one of 'little', 'big'", byteOrder);
  }
  const range = sampleRange(type);
  if (max !== undefined) {
    if (type === 'int16') {
      throw invalidParameterError(
        'max',
        'no max with int16 samples (they saturate at -32768 and 32767)',
        max,
      );
    }
    if (!Number.isInteger(max) || (max as number) < 1 || (max as number) > range.max) {
      throw invalidParameterError('max', `an integer from 1 to ${range.max}`, max);
    }
  }
  const high = (max as number | undefined) ?? range.max;

  let given: readonly number[];
  if (Array.isArray(p.delta)) {
    if (p.delta.length !== bands) {
      throw invalidParameterError('delta.length', `${bands} (one delta per band)`, p.delta.length);
    }
    given = p.delta.map((d, band) => checkDelta(`delta[${band}]`, d));
  } else {
    given = new Array<number>(bands).fill(checkDelta('delta', p.delta));
  }
  const alphaIndex = alphaBand(bands);
  const changes = (band: number) => band !== alphaIndex || alpha;
  const deltas = given.map((d, band) => (changes(band) ? d : 0));
  const highs = deltas.map((_, band) => (changes(band) ? high : range.max));
  return {
    bands,
    deltas,
    highs,
    low: range.min,
    signed: type === 'int16',
    alpha: alpha && alphaIndex !== undefined,
    bigEndian: byteOrder === 'big',
    max: high,
    unchanged: high === range.max && deltas.every((d) => d === 0),
  };
}
