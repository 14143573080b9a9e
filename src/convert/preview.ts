/**
 * `previewImage`: a small 8-bit PNG of a raw image, to look at. sharp resizes strip by strip: each strip
 * of rows is handed to sharp as a view of its mapped window (no copy for uint16) and shrunk to the
 * preview's width and its share of the preview's rows; the small results are stacked and encoded once.
 * An image that fits one strip is resized in one go.
 */
import { RawbrightError } from '../errors.js';
import {
  commitOutput,
  type OutputPlan,
  planOutput,
  removeQuietly,
  syncFile,
  writeFailure,
} from '../file/output.js';
import type { SampleType } from '../kernels/types.js';
import { boolean, integerInRange, options, type PathLike, pathArgument } from '../validate.js';
import { openRawSource, type RawSource } from './raw-source.js';
import { MAX_DIMENSION } from './sidecar.js';
import { checkRowWidth, rowsPerStrip, STRIP_BYTES } from './strips.js';

/** Options of {@link previewImage}. */
export interface PreviewOptions {
  /** The preview's width in pixels, 1 to 65535; never more than the image's [1024]. */
  width?: number;
  /** Replace an existing output [false]. */
  overwrite?: boolean;
  /** The raw image's width, for a raw file without a sidecar (1 to 2^31 - 1; a bad value is named `rawWidth`). */
  rawWidth?: number;
  /** The raw image's height, for a raw file without a sidecar (1 to 2^31 - 1; named `rawHeight`). */
  rawHeight?: number;
  /** The raw image's sample type [the sidecar's, else 'uint16']; int16 is shown as value + 32768. */
  type?: SampleType;
  /** Called after each strip with the raw bytes read so far and the raw file's size (for a progress bar). */
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
}

/** What {@link previewImage} did. */
export interface PreviewReport {
  input: string;
  output: string;
  width: number;
  height: number;
  sourceWidth: number;
  sourceHeight: number;
  bytes: number;
  seconds: number;
}

/** The default preview width. */
export const DEFAULT_PREVIEW_WIDTH = 1024;
/** The preview's own pixels (16-bit while being stacked) must stay small: 256 MiB. */
const MAX_PREVIEW_BYTES = 256 * 1024 * 1024;

/** Copies int16 samples into `scratch` as value + 32768 (top bit flipped) and returns the filled part. */
function flipTopBits(bytes: Uint8Array, scratch: Uint16Array): Uint16Array {
  const copy = scratch.subarray(0, bytes.length / 2);
  copy.set(new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2));
  const words = new Uint32Array(copy.buffer, copy.byteOffset, copy.length / 2);
  for (let i = 0; i < words.length; i++) words[i] ^= 0x80008000;
  return copy;
}

type Sharp = typeof import('sharp').default;

/** The preview's size in pixels. */
interface PreviewSize {
  width: number;
  height: number;
}

/**
 * A raw shape option checked under its own name: `width` is the preview's, so a bad `rawWidth` must not be
 * reported as `width` (openRawSource, which checks it again, knows it only as the raw file's `width`).
 */
function rawDimension(name: 'rawWidth' | 'rawHeight', value: number | undefined): number | undefined {
  return value === undefined ? undefined : integerInRange(name, value, 1, MAX_DIMENSION);
}

/** Checks the paths and options, in that order, and that the output ends in `.png`. */
function checkPreviewArgs(raw: PathLike, out: PathLike, opts: PreviewOptions) {
  const rawPath = pathArgument('raw', raw);
  const outPath = pathArgument('out', out);
  const o = options('options', opts) as PreviewOptions;
  const wanted = o.width === undefined ? DEFAULT_PREVIEW_WIDTH : integerInRange('width', o.width, 1, 65535);
  rawDimension('rawWidth', o.rawWidth);
  rawDimension('rawHeight', o.rawHeight);
  const overwrite = boolean('overwrite', o.overwrite, false);
  if (!outPath.toLowerCase().endsWith('.png')) {
    throw new RawbrightError(
      'ERR_UNSUPPORTED_FORMAT',
      `cannot write a preview to ${outPath}: the name must end in .png`,
      {
        path: outPath,
      },
    );
  }
  return { rawPath, outPath, o, wanted, overwrite };
}

/** The preview's size: `wanted` wide at most, the aspect ratio kept; refused past 256 MiB of pixels. */
function previewSize(source: RawSource, wanted: number, rawPath: string): PreviewSize {
  const { width, height } = source.meta;
  checkRowWidth(width, rawPath);
  const previewWidth = Math.min(wanted, width);
  const previewHeight = Math.max(1, Math.round((height * previewWidth) / width));
  if (previewWidth * previewHeight * 8 > MAX_PREVIEW_BYTES) {
    throw new RawbrightError(
      'ERR_PREVIEW_TOO_LARGE',
      `a preview of ${rawPath} would be ${previewWidth}x${previewHeight} pixels; ask for a smaller width`,
      { path: rawPath },
    );
  }
  return { width: previewWidth, height: previewHeight };
}

/**
 * Shrinks the image strip by strip into the preview's 16-bit RGBA pixels, reporting progress after each
 * strip.
 */
async function shrinkStrips(
  sharp: Sharp,
  source: RawSource,
  preview: PreviewSize,
  onProgress: PreviewOptions['onProgress'],
): Promise<Uint16Array> {
  const { width, height, sampleType } = source.meta;
  const { width: previewWidth, height: previewHeight } = preview;
  // Strips of whole preview rows: preview rows [top, bottom) come from image rows [top·H/h, bottom·H/h).
  const budgetRows = rowsPerStrip(width, STRIP_BYTES);
  const rowsPerPreviewStrip =
    height <= budgetRows
      ? previewHeight
      : Math.max(1, Math.floor(((budgetRows - 1) * previewHeight) / height));
  const stacked = new Uint16Array(previewWidth * previewHeight * 4);
  // int16 strips go to sharp as a shifted copy; one buffer serves every strip (each is awaited in turn).
  let scratch: Uint16Array | undefined;
  for (let top = 0; top < previewHeight; top += rowsPerPreviewStrip) {
    const bottom = Math.min(previewHeight, top + rowsPerPreviewStrip);
    const y0 = Math.floor((top * height) / previewHeight);
    const y1 = bottom === previewHeight ? height : Math.floor((bottom * height) / previewHeight);
    const rows = y1 - y0;
    const window = source.file.map({ offset: y0 * width * 8, length: rows * width * 8 });
    try {
      const bytes = new Uint8Array(window.buffer);
      let pixels: Uint16Array = new Uint16Array(window.buffer);
      if (sampleType === 'int16') {
        if (scratch === undefined || scratch.length < pixels.length) scratch = new Uint16Array(pixels.length);
        pixels = flipTopBits(bytes, scratch);
      }
      const small = await sharp(pixels, {
        raw: { width, height: rows, channels: 4 },
        limitInputPixels: false,
      })
        .resize(previewWidth, bottom - top, { fit: 'fill' })
        .toColourspace('rgb16')
        .raw({ depth: 'ushort' })
        .toBuffer();
      stacked.set(new Uint16Array(small.buffer, small.byteOffset, small.length / 2), top * previewWidth * 4);
    } finally {
      window.close();
    }
    onProgress?.(y1 * width * 8, height * width * 8);
  }
  return stacked;
}

/** Encodes the stacked pixels as an 8-bit PNG into the plan's temporary file, syncs it and commits it. */
async function writePreviewPng(
  sharp: Sharp,
  stacked: Uint16Array,
  preview: PreviewSize,
  plan: OutputPlan,
  outPath: string,
): Promise<number> {
  try {
    const info = await sharp(stacked, { raw: { width: preview.width, height: preview.height, channels: 4 } })
      .toColourspace('srgb')
      .png()
      .toFile(plan.temporary);
    await syncFile(plan.temporary);
    await commitOutput(plan);
    return info.size;
  } catch (error) {
    await removeQuietly(plan.temporary);
    throw writeFailure(error, outPath);
  }
}

/**
 * Writes an 8-bit RGBA PNG preview of a raw image, `width` pixels wide (the image's own width if smaller),
 * with the height that keeps the aspect ratio.
 * @param raw The raw file.
 * @param out The PNG to write.
 * @param opts `{ width = 1024, overwrite = false, rawWidth, rawHeight, type }`.
 * @returns What was written.
 * @throws {RawbrightError} The errors of {@link exportImage} for the raw file, `ERR_UNSUPPORTED_FORMAT` for an
 * output not ending in `.png`, `ERR_PREVIEW_TOO_LARGE` when the preview itself would pass 256 MiB.
 * @example
 * ```ts
 * await previewImage('huge.raw', 'huge-preview.png', { width: 800 });
 * ```
 */
export async function previewImage(
  raw: PathLike,
  out: PathLike,
  opts: PreviewOptions = {},
): Promise<PreviewReport> {
  const started = performance.now();
  const { rawPath, outPath, o, wanted, overwrite } = checkPreviewArgs(raw, out, opts);
  // Loaded on first use, as in importImage: commands that never convert should not pay for libvips.
  const { default: sharp } = await import('sharp');
  const source = await openRawSource(rawPath, { width: o.rawWidth, height: o.rawHeight, type: o.type });
  try {
    const preview = previewSize(source, wanted, rawPath);
    const plan = await planOutput(outPath, overwrite);
    const stacked = await shrinkStrips(sharp, source, preview, o.onProgress);
    const bytes = await writePreviewPng(sharp, stacked, preview, plan, outPath);
    return {
      input: rawPath,
      output: outPath,
      width: preview.width,
      height: preview.height,
      sourceWidth: source.meta.width,
      sourceHeight: source.meta.height,
      bytes,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    source.file.close();
  }
}
