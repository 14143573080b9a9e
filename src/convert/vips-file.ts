/**
 * Reads the header of a libvips native (`.v`) file. The import asks sharp to decode into one, because a
 * `.v` file is written row by row as the decoder produces rows (bounded memory, one decode pass), and its
 * pixel data is a plain array right after a 64-byte header, which the import then maps window by window.
 * See https://www.libvips.org/API/current/file-format.html for the layout.
 */
import { RawbrightError } from '../errors.js';
import type { MappedFile } from '../file/mapped-file.js';

/** Bytes before the pixel data. */
export const VIPS_HEADER_BYTES = 64;

/** The two band formats the import asks sharp for. */
export type VipsBandFormat = 'uchar' | 'ushort';

/** The fields of a `.v` header the import needs. */
export interface VipsHeader {
  width: number;
  height: number;
  /** Samples per pixel, 1 (grey), 2 (grey, alpha), 3 (RGB) or 4 (RGBA). */
  bands: number;
  format: VipsBandFormat;
  /** Bytes per sample: 1 or 2. */
  sampleBytes: number;
}

// The magic bytes libvips writes on a little-endian machine, whose pixel data is then little-endian too.
const MAGIC_LITTLE_ENDIAN = [0xb6, 0xa6, 0xf2, 0x08];
const BAND_FORMATS: Record<number, VipsBandFormat> = { 0: 'uchar', 2: 'ushort' };

/**
 * Reads and checks the header of a `.v` file written by sharp on this machine.
 * @param file The `.v` file, opened for reading.
 * @returns Its dimensions and pixel format.
 * @throws {RawbrightError} `ERR_UNSUPPORTED_FORMAT` for anything but 1–4 bands of uncoded uchar or ushort
 * little-endian samples, or a file too short for the pixels its header promises.
 */
export function readVipsHeader(file: MappedFile): VipsHeader {
  const bytes = new Uint8Array(VIPS_HEADER_BYTES);
  const read = file.size >= VIPS_HEADER_BYTES ? file.read(0, bytes) : 0;
  const fail = (problem: string) =>
    new RawbrightError('ERR_UNSUPPORTED_FORMAT', `the decoded image ${file.path} ${problem}`, {
      path: file.path,
    });
  if (read < VIPS_HEADER_BYTES || !MAGIC_LITTLE_ENDIAN.every((b, i) => bytes[i] === b)) {
    throw fail('is not a little-endian libvips file');
  }
  const view = new DataView(bytes.buffer);
  const width = view.getInt32(4, true);
  const height = view.getInt32(8, true);
  const bands = view.getInt32(12, true);
  const format = BAND_FORMATS[view.getInt32(20, true)];
  const coding = view.getInt32(24, true);
  if (width < 1 || height < 1) throw fail(`has impossible dimensions ${width}x${height}`);
  if (format === undefined || coding !== 0)
    throw fail('holds samples that are not 8- or 16-bit unsigned integers');
  if (bands < 1 || bands > 4) throw fail(`has ${bands} bands; expected 1 to 4`);
  const sampleBytes = format === 'uchar' ? 1 : 2;
  if (file.size < VIPS_HEADER_BYTES + width * height * bands * sampleBytes)
    throw fail('is shorter than its pixels');
  return { width, height, bands, format, sampleBytes };
}
