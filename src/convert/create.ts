/**
 * `createImage`: synthetic raw images of any size, for tests and benchmarks. The file is preallocated,
 * then filled window by window through mapped windows (each populated up front, so the fill takes no
 * page faults), and gets its sidecar. The content depends only on the pattern, the seed and each pixel's
 * position, never on the window size, so a given command always makes the same bytes.
 *
 * - `gradient`: R rises left to right, G top to bottom, B falls along the diagonal; alpha is opaque.
 * - `noise`: R, G, B uniformly random (a hash of the seed and the pixel's index); alpha is opaque.
 *
 * An int16 image holds the uint16 image minus 32768, sample by sample, so exporting it (which adds 32768)
 * gives the same picture as the uint16 one.
 */
import { RawbrightError } from '../errors.js';
import { MappedFile } from '../file/mapped-file.js';
import { planOutput, removeQuietly, writeFailure, writeNewTextFile } from '../file/output.js';
import { SAMPLE_TYPES, type SampleType } from '../kernels/types.js';
import {
  boolean,
  integerInRange,
  oneOf,
  optionalOneOf,
  options,
  type PathLike,
  pathArgument,
} from '../validate.js';
import {
  commitRawWithSidecar,
  formatSidecar,
  MAX_DIMENSION,
  RAW_BYTES_PER_PIXEL,
  type RawImageMetadata,
  sidecarPath,
} from './sidecar.js';
import { ranges } from './strips.js';

/** The synthetic patterns. */
export type Pattern = 'gradient' | 'noise';
/** Every pattern, for validation and help texts. */
export const PATTERNS: readonly Pattern[] = Object.freeze(['gradient', 'noise']);

/** Options of {@link createImage}. */
export interface CreateImageOptions {
  /** Pixels per row, 1 to 2^31 − 1 (required). */
  width: number;
  /** Rows, 1 to 2^31 − 1 (required). */
  height: number;
  /** Sample type ['uint16']. */
  type?: SampleType;
  /** What to draw ['gradient']. */
  pattern?: Pattern;
  /** The noise seed, a whole number from 0 to 2^32 − 1 [1]. */
  seed?: number;
  /** Replace an existing raw file and sidecar [false]. */
  overwrite?: boolean;
  /** Called after each window with the bytes written so far and the file's size (for a progress bar). */
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
}

/** What {@link createImage} did. */
export interface CreateReport {
  output: string;
  sidecar: string;
  width: number;
  height: number;
  sampleType: SampleType;
  pattern: Pattern;
  seed: number;
  bytes: number;
  seconds: number;
}

/** Pixels per window: 64 MiB, a multiple of 2 MiB so every window starts on a huge-page boundary of the file. */
const WINDOW_PIXELS = (64 * 1024 * 1024) / RAW_BYTES_PER_PIXEL;
const TWO_POW_32 = 2 ** 32;

/** A 32-bit integer hash with good avalanche (lowbias32, by Chris Wellons); a bijection on 32-bit values. */
function hash32(value: number): number {
  let x = value >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * Fills `count` pixels starting at pixel index `start` (row-major) with the gradient, as pairs of 32-bit
 * words (R | G << 16, B | A << 16), top bits flipped by `flip` for int16.
 */
export function fillGradient(
  words: Uint32Array,
  start: number,
  count: number,
  width: number,
  height: number,
  flip: number,
): void {
  const kx = width > 1 ? 65535 / (width - 1) : 0;
  const ky = height > 1 ? 65535 / (height - 1) : 0;
  const kd = width + height > 2 ? 65535 / (width + height - 2) : 0;
  let pixel = start;
  let out = 0;
  const end = start + count;
  while (pixel < end) {
    const y = Math.floor(pixel / width);
    const x0 = pixel - y * width;
    const x1 = Math.min(width, x0 + (end - pixel));
    const green = Math.round(y * ky) << 16;
    for (let x = x0; x < x1; x++, out += 2) {
      words[out] = (Math.round(x * kx) | green) ^ flip;
      words[out + 1] = ((65535 - Math.round((x + y) * kd)) | 0xffff0000) ^ flip;
    }
    pixel += x1 - x0;
  }
}

/** Fills `count` pixels from index `start` with seeded noise (opaque alpha); see {@link fillGradient} for the layout. */
export function fillNoise(
  words: Uint32Array,
  start: number,
  count: number,
  seed: number,
  flip: number,
): void {
  const seedMix = hash32(seed ^ 0x5bd1e995);
  let high = Math.floor(start / TWO_POW_32);
  let highMix = hash32(seedMix ^ hash32(high));
  let low = start % TWO_POW_32;
  for (let i = 0, out = 0; i < count; i++, out += 2) {
    const a = hash32(low ^ highMix);
    const b = hash32(a ^ 0x9e3779b9);
    words[out] = a ^ flip;
    words[out + 1] = ((b & 0xffff) | 0xffff0000) ^ flip;
    low++;
    if (low === TWO_POW_32) {
      low = 0;
      high++;
      highMix = hash32(seedMix ^ hash32(high));
    }
  }
}

/**
 * Creates a synthetic raw image and its sidecar. Multi-gigabyte files take seconds: the space is allocated
 * at once and the pixels are written straight into the file's mapped pages.
 * @param raw The raw file to create; the sidecar goes to `raw + '.json'`.
 * @param opts `{ width, height, type = 'uint16', pattern = 'gradient', seed = 1, overwrite = false }`.
 * @returns What was written.
 * @throws {RawbrightError} `ERR_INVALID_ARG_VALUE`, `EEXIST`, `ENOSPC` (the disk cannot hold it; nothing is left
 * behind), `ENOENT` (no such folder).
 * @example
 * ```ts
 * await createImage('big.raw', { width: 16384, height: 16384, pattern: 'noise', seed: 7 }); // 2 GiB
 * ```
 */
export async function createImage(raw: PathLike, opts: CreateImageOptions): Promise<CreateReport> {
  const started = performance.now();
  const rawPath = pathArgument('raw', raw);
  const o = options('options', opts);
  const width = integerInRange('width', o.width, 1, MAX_DIMENSION);
  const height = integerInRange('height', o.height, 1, MAX_DIMENSION);
  const sampleType = optionalOneOf('type', o.type, SAMPLE_TYPES, 'uint16');
  const pattern = o.pattern === undefined ? 'gradient' : oneOf('pattern', o.pattern, PATTERNS);
  const seed = o.seed === undefined ? 1 : integerInRange('seed', o.seed, 0, TWO_POW_32 - 1);
  const overwrite = boolean('overwrite', o.overwrite, false);
  const onProgress = (opts as CreateImageOptions).onProgress;
  const pixels = width * height;
  if (pixels * RAW_BYTES_PER_PIXEL > Number.MAX_SAFE_INTEGER) {
    throw new RawbrightError(
      'ERR_INVALID_ARG_VALUE',
      `${width}x${height} pixels are more bytes than a file can hold`,
    );
  }
  const meta: RawImageMetadata = { width, height, channels: 4, sampleType, byteOrder: 'little' };
  const flip = sampleType === 'int16' ? 0x80008000 : 0;

  const rawPlan = await planOutput(rawPath, overwrite);
  const sidecarPlan = await planOutput(sidecarPath(rawPath), overwrite);
  try {
    const file = await MappedFile.createAsync(rawPlan.temporary, { size: pixels * RAW_BYTES_PER_PIXEL });
    try {
      for (const { start, count } of ranges(pixels, WINDOW_PIXELS)) {
        const window = file.map({ offset: start * RAW_BYTES_PER_PIXEL, length: count * RAW_BYTES_PER_PIXEL });
        try {
          window.populate();
          const words = new Uint32Array(window.buffer);
          if (pattern === 'gradient') fillGradient(words, start, count, width, height, flip);
          else fillNoise(words, start, count, seed, flip);
        } finally {
          window.close();
        }
        onProgress?.((start + count) * RAW_BYTES_PER_PIXEL, pixels * RAW_BYTES_PER_PIXEL);
        // A turn of the event loop between windows, so a progress bar draws and Ctrl-C is heard.
        await new Promise((resolve) => setImmediate(resolve));
      }
      await file.sync();
    } finally {
      file.close();
    }
    await writeNewTextFile(sidecarPlan.temporary, formatSidecar(meta, sidecarPlan.path));
    await commitRawWithSidecar(rawPlan, sidecarPlan);
  } catch (error) {
    await Promise.all([removeQuietly(rawPlan.temporary), removeQuietly(sidecarPlan.temporary)]);
    throw writeFailure(error, rawPath);
  }
  return {
    output: rawPath,
    sidecar: sidecarPlan.path,
    width,
    height,
    sampleType,
    pattern,
    seed,
    bytes: pixels * RAW_BYTES_PER_PIXEL,
    seconds: (performance.now() - started) / 1000,
  };
}
