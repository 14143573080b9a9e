/**
 * `imageInfo`: what a raw file holds: its shape (from the sidecar or options) and, from one pass over its
 * pixels window by window, each channel's minimum, maximum and mean.
 */
import type { SampleType } from '../kernels/types.js';
import { options, type PathLike, pathArgument } from '../validate.js';
import { openRawSource, type RawShapeOptions } from './raw-source.js';
import { RAW_BYTES_PER_PIXEL } from './sidecar.js';
import { ranges } from './strips.js';

/** The four channels, in file order. */
export const CHANNEL_NAMES = ['red', 'green', 'blue', 'alpha'] as const;

/** Statistics of one channel, in the file's sample type (int16 values are signed). */
export interface ChannelStats {
  channel: (typeof CHANNEL_NAMES)[number];
  min: number;
  max: number;
  mean: number;
}

/** What {@link imageInfo} reports. */
export interface ImageInfo {
  path: string;
  /** The sidecar the shape came from, if any. */
  sidecar: string | undefined;
  width: number;
  height: number;
  channels: 4;
  sampleType: SampleType;
  byteOrder: 'little';
  /** The file's size: width × height × 8. */
  bytes: number;
  pixels: number;
  /** Red, green, blue, alpha. */
  stats: ChannelStats[];
  seconds: number;
}

/** Pixels per window: 64 MiB. */
const WINDOW_PIXELS = (64 * 1024 * 1024) / RAW_BYTES_PER_PIXEL;

/**
 * Adds `samples` (RGBA interleaved) to running per-channel minima, maxima and sums. Each call's sums stay
 * exact: a window of 8 Mi pixels sums to at most 2^39 per channel.
 */
function accumulateStats(
  samples: Uint16Array | Int16Array,
  min: number[],
  max: number[],
  sum: number[],
): void {
  // One pass with the four channels in locals: a pass per channel would read the window four times.
  let [minR, minG, minB, minA] = min;
  let [maxR, maxG, maxB, maxA] = max;
  let sumR = 0;
  let sumG = 0;
  let sumB = 0;
  let sumA = 0;
  for (let i = 0; i + 3 < samples.length; i += 4) {
    const r = samples[i];
    const g = samples[i + 1];
    const b = samples[i + 2];
    const a = samples[i + 3];
    if (r < minR) minR = r;
    if (r > maxR) maxR = r;
    if (g < minG) minG = g;
    if (g > maxG) maxG = g;
    if (b < minB) minB = b;
    if (b > maxB) maxB = b;
    if (a < minA) minA = a;
    if (a > maxA) maxA = a;
    sumR += r;
    sumG += g;
    sumB += b;
    sumA += a;
  }
  min.splice(0, 4, minR, minG, minB, minA);
  max.splice(0, 4, maxR, maxG, maxB, maxA);
  sum[0] += sumR;
  sum[1] += sumG;
  sum[2] += sumB;
  sum[3] += sumA;
}

/**
 * Describes a raw image and measures its pixels.
 * @param raw The raw file.
 * @param opts `{ width, height, type }` for a raw file without a sidecar (with one, they must agree with it).
 * @returns Shape, size and per-channel statistics.
 * @throws {RawbrightError} `ENOENT`, `ERR_SIDECAR_MISSING`, `ERR_SIDECAR_INVALID`, `ERR_SIDECAR_MISMATCH`,
 * `ERR_SIDECAR_CONFLICT`, `ERR_SIZE_MISMATCH`, `ERR_INVALID_ARG_VALUE`.
 * @example
 * ```ts
 * const info = await imageInfo('photo.raw');
 * console.log(info.width, info.height, info.stats[0].mean);
 * ```
 */
export async function imageInfo(raw: PathLike, opts: RawShapeOptions = {}): Promise<ImageInfo> {
  const started = performance.now();
  const rawPath = pathArgument('raw', raw);
  const o = options('options', opts) as RawShapeOptions;
  const source = await openRawSource(rawPath, { width: o.width, height: o.height, type: o.type });
  try {
    const { width, height, sampleType } = source.meta;
    const pixels = width * height;
    const min = [
      Number.POSITIVE_INFINITY,
      Number.POSITIVE_INFINITY,
      Number.POSITIVE_INFINITY,
      Number.POSITIVE_INFINITY,
    ];
    const max = [
      Number.NEGATIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
    ];
    const sum = [0, 0, 0, 0];
    for (const { start, count } of ranges(pixels, WINDOW_PIXELS)) {
      const window = source.file.map({
        offset: start * RAW_BYTES_PER_PIXEL,
        length: count * RAW_BYTES_PER_PIXEL,
      });
      try {
        window.advise('sequential');
        const samples =
          sampleType === 'int16' ? new Int16Array(window.buffer) : new Uint16Array(window.buffer);
        accumulateStats(samples, min, max, sum);
      } finally {
        window.close();
      }
    }
    return {
      path: source.file.path,
      sidecar: source.sidecar,
      width,
      height,
      channels: 4,
      sampleType,
      byteOrder: 'little',
      bytes: pixels * RAW_BYTES_PER_PIXEL,
      pixels,
      stats: CHANNEL_NAMES.map((channel, c) => ({
        channel,
        min: min[c],
        max: max[c],
        mean: sum[c] / pixels,
      })),
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    source.file.close();
  }
}
