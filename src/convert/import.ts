/**
 * `importImage`: any image sharp can read becomes a raw RGBA 16-bit little-endian file plus its sidecar.
 *
 * sharp decodes once, row by row, into a temporary libvips `.v` file in the output's folder (sharp's raw
 * output is a single in-memory buffer, which for a multi-gigabyte image would be the whole image in
 * process memory; a `.v` file is written as rows are decoded). The pixels are then widened into the
 * preallocated raw file window by window: grey becomes R = G = B, a missing alpha becomes opaque, and 8-bit
 * samples become 16-bit exactly (× 257, so 255 → 65535 and 10 → 2570; libvips's own 8 → 16-bit colour
 * conversion is not exact). The temporary file needs as much disk as the decoded image (half for 8-bit).
 *
 * Pixel values are taken as stored: an embedded ICC profile is not applied (CMYK is converted to sRGB, the
 * one conversion raw RGBA needs), nor is EXIF orientation.
 */
import { stat } from 'node:fs/promises';
import type { Metadata } from 'sharp';
import { errorCode, RawbrightError } from '../errors.js';
import { MappedFile } from '../file/mapped-file.js';
import {
  type OutputPlan,
  planOutput,
  removeQuietly,
  temporaryName,
  writeFailure,
  writeNewTextFile,
} from '../file/output.js';
import { boolean, options, type PathLike, pathArgument } from '../validate.js';
import {
  commitRawWithSidecar,
  formatSidecar,
  RAW_BYTES_PER_PIXEL,
  type RawImageMetadata,
  sidecarPath,
} from './sidecar.js';
import { ranges } from './strips.js';
import { readVipsHeader, VIPS_HEADER_BYTES, type VipsHeader } from './vips-file.js';

/** Options of {@link importImage}. */
export interface ImportOptions {
  /** Replace an existing raw file and sidecar [false]. */
  overwrite?: boolean;
  /**
   * Called as the raw file is written, with its bytes written so far and its size (for a progress bar; the
   * decoding before it reports nothing).
   */
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
}

/** What {@link importImage} did. */
export interface ImportReport {
  input: string;
  /** The raw file written. */
  output: string;
  /** The sidecar written next to it. */
  sidecar: string;
  width: number;
  height: number;
  sampleType: 'uint16';
  /** The raw file's size: width × height × 8. */
  bytes: number;
  /** The input's format as sharp names it (`png`, `jpeg`, `tiff`, …). */
  sourceFormat: string;
  /** Bits per sample of the decoded input: 8 or 16. */
  sourceBits: number;
  /** Samples per pixel of the decoded input: 1 (grey) to 4 (RGBA). */
  sourceChannels: number;
  seconds: number;
}

/** Pixels widened per window pair: 64 MiB of raw output. */
const CHUNK_PIXELS = (64 * 1024 * 1024) / RAW_BYTES_PER_PIXEL;
const OPAQUE = 0xffff;

/**
 * Widens `pixels` pixels of 1–4 bands of uchar or ushort samples into RGBA uint16: grey is copied to R, G
 * and B, a missing alpha is 65535, and 8-bit samples are multiplied by 257.
 * @param source The decoded samples (for ushort, at an even byte offset).
 * @param header The bands and sample size of `source`.
 * @param target Room for `pixels * 4` samples.
 */
function widenToRgba16(
  source: Uint8Array,
  header: Pick<VipsHeader, 'bands' | 'sampleBytes'>,
  target: Uint16Array,
  pixels: number,
): void {
  const { bands } = header;
  const s: Uint8Array | Uint16Array =
    header.sampleBytes === 2 ? new Uint16Array(source.buffer, source.byteOffset, pixels * bands) : source;
  const scale = header.sampleBytes === 2 ? 1 : 257;
  if (bands === 4) {
    if (scale === 1) target.set(s.subarray(0, pixels * 4));
    else for (let i = 0; i < pixels * 4; i++) target[i] = s[i] * 257;
  } else if (bands === 3) {
    for (let p = 0, i = 0, o = 0; p < pixels; p++, i += 3, o += 4) {
      target[o] = s[i] * scale;
      target[o + 1] = s[i + 1] * scale;
      target[o + 2] = s[i + 2] * scale;
      target[o + 3] = OPAQUE;
    }
  } else if (bands === 2) {
    for (let p = 0, i = 0, o = 0; p < pixels; p++, i += 2, o += 4) {
      const grey = s[i] * scale;
      target[o] = grey;
      target[o + 1] = grey;
      target[o + 2] = grey;
      target[o + 3] = s[i + 1] * scale;
    }
  } else {
    for (let p = 0, o = 0; p < pixels; p++, o += 4) {
      const grey = s[p] * scale;
      target[o] = grey;
      target[o + 1] = grey;
      target[o + 2] = grey;
      target[o + 3] = OPAQUE;
    }
  }
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0].trim().replace(/[.:]$/, '');
}

/** Turns a sharp failure into one sentence with a code. */
function sharpError(error: unknown, input: string, stage: 'read' | 'decode'): RawbrightError {
  const message = error instanceof Error ? error.message : String(error);
  if (/unsupported image format/i.test(message)) {
    return new RawbrightError('ERR_UNSUPPORTED_FORMAT', `${input} is not in an image format sharp can read`, {
      path: input,
      cause: error,
    });
  }
  if (/no space left/i.test(message)) {
    return new RawbrightError('ENOSPC', `cannot import ${input}: no space left on the output's disk`, {
      path: input,
      cause: error,
    });
  }
  // libvips's first line is only "wbuffer_write: write failed"; the cause comes later in the message.
  if (/file too large/i.test(message)) {
    return new RawbrightError(
      'EFBIG',
      `cannot import ${input}: file too large for the output (the file size limit, ulimit -f, or the file system)`,
      { path: input, cause: error },
    );
  }
  const verb = stage === 'read' ? 'read' : 'decode';
  return new RawbrightError('ERR_CORRUPT_IMAGE', `cannot ${verb} ${input}: ${firstLine(error)}`, {
    path: input,
    cause: error,
  });
}

/** The colour space to decode into: the image's own (grey or RGB, 8 or 16 bits), so no sample is changed. */
function decodeSpace(depth: string | undefined, channels: number): 'b-w' | 'srgb' | 'grey16' | 'rgb16' {
  const grey = channels <= 2;
  if (depth === 'uchar') return grey ? 'b-w' : 'srgb';
  return grey ? 'grey16' : 'rgb16';
}

async function checkInput(input: string): Promise<void> {
  try {
    const info = await stat(input);
    if (info.isDirectory())
      throw new RawbrightError('EISDIR', `cannot import ${input}: it is a directory`, { path: input });
    // libvips would wait forever on a FIFO with no writer, and read a device until it ends.
    if (!info.isFile()) {
      throw new RawbrightError('ENODEV', `cannot import ${input}: it is not a regular file`, { path: input });
    }
  } catch (error) {
    if (error instanceof RawbrightError) throw error;
    const code = errorCode(error) ?? 'EIO';
    const reason = code === 'ENOENT' ? 'no such file or directory' : (error as Error).message;
    throw new RawbrightError(code, `cannot open ${input}: ${reason}`, { path: input, cause: error });
  }
}

/** Widens the decoded `.v` file into a new raw file, window pair by window pair. */
async function widenIntoRaw(
  decodedPath: string,
  header: VipsHeader,
  rawPath: string,
  onProgress?: (bytesDone: number, bytesTotal: number) => void,
): Promise<void> {
  const decoded = await MappedFile.openAsync(decodedPath, { access: 'read' });
  try {
    const pixels = header.width * header.height;
    const raw = await MappedFile.createAsync(rawPath, { size: pixels * RAW_BYTES_PER_PIXEL });
    try {
      const pixelBytes = header.bands * header.sampleBytes;
      for (const { start, count } of ranges(pixels, CHUNK_PIXELS)) {
        const source = decoded.map({
          offset: VIPS_HEADER_BYTES + start * pixelBytes,
          length: count * pixelBytes,
        });
        const target = raw.map({ offset: start * RAW_BYTES_PER_PIXEL, length: count * RAW_BYTES_PER_PIXEL });
        try {
          source.advise('sequential');
          target.populate();
          widenToRgba16(new Uint8Array(source.buffer), header, new Uint16Array(target.buffer), count);
        } finally {
          source.close();
          target.close();
        }
        onProgress?.((start + count) * RAW_BYTES_PER_PIXEL, pixels * RAW_BYTES_PER_PIXEL);
      }
      await raw.sync();
    } finally {
      raw.close();
    }
  } finally {
    decoded.close();
  }
}

/**
 * Imports an image (PNG, TIFF, JPEG, WebP, GIF, AVIF, SVG: whatever sharp reads) as a raw RGBA uint16
 * little-endian file, and writes the sidecar `OUT.raw.json`. Memory stays flat whatever the image size;
 * sharp's pixel limit is lifted, since nothing here holds the image in memory (only disk space bounds it).
 * @param input The image file.
 * @param outRaw The raw file to write; its sidecar is `outRaw + '.json'`.
 * @param opts `{ overwrite = false }`.
 * @returns What was written.
 * @throws {RawbrightError} `ENOENT` (no input), `ERR_UNSUPPORTED_FORMAT`, `ERR_CORRUPT_IMAGE`, `EEXIST` (output
 * exists without `overwrite`), `ENOSPC`, `ERR_INVALID_ARG_VALUE`. Nothing is left behind on failure.
 * @example
 * ```ts
 * const report = await importImage('photo.png', 'photo.raw');
 * console.log(report.width, report.height); // and photo.raw.json says so too
 * ```
 */
export async function importImage(
  input: PathLike,
  outRaw: PathLike,
  opts: ImportOptions = {},
): Promise<ImportReport> {
  const started = performance.now();
  const inputPath = pathArgument('input', input);
  const outputPath = pathArgument('outRaw', outRaw);
  const o = options('options', opts) as ImportOptions;
  const overwrite = boolean('overwrite', o.overwrite, false);
  await checkInput(inputPath);
  const rawPlan: OutputPlan = await planOutput(outputPath, overwrite);
  const sidecarPlan: OutputPlan = await planOutput(sidecarPath(outputPath), overwrite);

  // Loaded on first use: sharp (libvips) costs a fifth of a second and 30 MB to load, which commands
  // that never convert (brighten, bench) should not pay.
  const { default: sharp } = await import('sharp');
  let metadata: Metadata;
  try {
    metadata = await sharp(inputPath, { limitInputPixels: false }).metadata();
  } catch (error) {
    throw sharpError(error, inputPath, 'read');
  }
  const sourceChannels = metadata.channels ?? 3;
  const space = decodeSpace(metadata.depth, sourceChannels);

  const decodedPath = temporaryName(outputPath, '.v');
  try {
    try {
      await sharp(inputPath, { limitInputPixels: false, sequentialRead: true, ignoreIcc: true })
        .toColourspace(space)
        .toFile(decodedPath);
    } catch (error) {
      throw sharpError(error, inputPath, 'decode');
    }
    const decoded = await MappedFile.openAsync(decodedPath, { access: 'read' });
    let header: VipsHeader;
    try {
      header = readVipsHeader(decoded);
    } finally {
      decoded.close();
    }
    await widenIntoRaw(decodedPath, header, rawPlan.temporary, o.onProgress);
    await removeQuietly(decodedPath);

    const meta: RawImageMetadata = {
      width: header.width,
      height: header.height,
      channels: 4,
      sampleType: 'uint16',
      byteOrder: 'little',
    };
    await writeNewTextFile(sidecarPlan.temporary, formatSidecar(meta, sidecarPlan.path));
    await commitRawWithSidecar(rawPlan, sidecarPlan);
    return {
      input: inputPath,
      output: outputPath,
      sidecar: sidecarPlan.path,
      width: header.width,
      height: header.height,
      sampleType: 'uint16',
      bytes: header.width * header.height * RAW_BYTES_PER_PIXEL,
      sourceFormat: metadata.format ?? 'unknown',
      sourceBits: header.sampleBytes * 8,
      sourceChannels: header.bands,
      seconds: (performance.now() - started) / 1000,
    };
  } catch (error) {
    await Promise.all([removeQuietly(rawPlan.temporary), removeQuietly(sidecarPlan.temporary)]);
    throw writeFailure(error, outputPath);
  } finally {
    await removeQuietly(decodedPath);
  }
}
