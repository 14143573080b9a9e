/**
 * The brighten kernel contract shared by every implementation (JavaScript, wasm scalar, wasm SIMD,
 * native): the types, and the one argument check they all run before touching memory.
 *
 * Semantics: each 16-bit sample x of the chosen channels becomes `min(max(x + delta, MIN), MAX)`,
 * computed exactly, where [MIN, MAX] is [0, 65535] for `'uint16'` and [-32768, 32767] for `'int16'`.
 * Pixels are 8 bytes: samples R, G, B, A, each little-endian.
 */
import { invalidParameterError, RawbrightError } from '../errors.js';

/** How a 16-bit sample is read: unsigned (PNG, TIFF) or signed (the original `MyColor` struct). */
export type SampleType = 'uint16' | 'int16';
/** Which samples change: `'rgb'` leaves alpha alone, `'rgba'` brightens alpha too. */
export type Channels = 'rgb' | 'rgba';
/** The kernel implementations. */
export type KernelName = 'js' | 'wasm' | 'wasm-simd' | 'native';

/** Every kernel name, reference first. */
export const KERNEL_NAMES: readonly KernelName[] = Object.freeze(['js', 'wasm', 'wasm-simd', 'native']);
/** The sample types, for validation and help texts. */
export const SAMPLE_TYPES: readonly SampleType[] = Object.freeze(['uint16', 'int16']);
/** The channel modes, for validation and help texts. */
export const CHANNEL_MODES: readonly Channels[] = Object.freeze(['rgb', 'rgba']);

/** Bytes per pixel: four 16-bit samples. */
export const BYTES_PER_PIXEL = 8;
/** The largest |delta|: anything larger saturates every sample of either type anyway. */
export const MAX_DELTA = 65535;

/** What a brighten call does to each pixel. */
export interface BrightenParams {
  /** Added to every chosen sample, a whole number from -65535 to 65535. */
  delta: number;
  type: SampleType;
  channels: Channels;
}

/** One brighten implementation. */
export interface Kernel {
  readonly name: KernelName;
  /**
   * Brightens bytes [byteOffset, byteOffset + byteLength) of buffer in place. byteLength % 8 === 0, byteOffset any.
   * The wasm kernels require `buffer` to be their memory's current buffer (memory.buffer) and throw otherwise.
   * @param buffer the bytes (an ArrayBuffer; the JavaScript kernel also takes a SharedArrayBuffer)
   * @param byteOffset first byte, any offset (odd ones included)
   * @param byteLength a multiple of 8 (whole pixels)
   * @param params delta, sample type and channels
   * @throws {RawbrightError} `ERR_INVALID_ARG_VALUE` for a bad argument, `ERR_OUT_OF_RANGE` when the range is
   *   outside the buffer, `ERR_FOREIGN_BUFFER` when a wasm kernel is given another buffer
   */
  brighten(buffer: ArrayBuffer, byteOffset: number, byteLength: number, params: BrightenParams): void;
}

/** The checked form of a brighten call's parameters. */
export interface CheckedParams {
  delta: number;
  signed: boolean;
  alpha: boolean;
}

function isBuffer(value: unknown): value is ArrayBuffer {
  return (
    value instanceof ArrayBuffer ||
    (typeof SharedArrayBuffer !== 'undefined' && value instanceof SharedArrayBuffer)
  );
}

/**
 * Checks one brighten call's arguments (a handful of comparisons: kernels run it once per call, never per
 * sample) and returns the parameters in the form the loops use.
 * @param buffer the buffer the kernel will write
 * @param byteOffset first byte
 * @param byteLength number of bytes, a multiple of 8
 * @param params delta, type and channels
 * @returns delta, whether samples are signed, whether alpha changes
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
  if (!Number.isSafeInteger(byteLength) || (byteLength as number) < 0 || (byteLength as number) % 8 !== 0) {
    throw invalidParameterError(
      'byteLength',
      'a whole number of 8-byte pixels (a multiple of 8)',
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
  if (params === null || typeof params !== 'object')
    throw invalidParameterError('params', 'an object', params);
  const { delta, type, channels } = params as Record<string, unknown>;
  if (!Number.isInteger(delta) || (delta as number) < -MAX_DELTA || (delta as number) > MAX_DELTA) {
    throw invalidParameterError('delta', `an integer from -${MAX_DELTA} to ${MAX_DELTA}`, delta);
  }
  if (type !== 'uint16' && type !== 'int16')
    throw invalidParameterError('type', "one of 'uint16', 'int16'", type);
  if (channels !== 'rgb' && channels !== 'rgba') {
    throw invalidParameterError('channels', "one of 'rgb', 'rgba'", channels);
  }
  // `+ 0` turns -0 into 0 so every kernel sees the same delta.
  return { delta: (delta as number) + 0, signed: type === 'int16', alpha: channels === 'rgba' };
}
