/**
 * A streaming 16-bit RGBA TIFF encoder for raw files of any size, written for the same reason as the PNG
 * one (sharp needs the whole image as one buffer, capped at 4 GiB). TIFF suits strips: each strip of rows
 * is compressed on its own (zlib deflate with the horizontal predictor, several strips at once on the
 * libuv thread pool) and written in order; the directory (IFD) with the strip offsets goes at the end.
 *
 * Classic TIFF addresses at most 4 GiB. The header's 16 bytes are reserved up front and the variant is
 * chosen once the size is known: classic TIFF when everything fits below 4 GiB, BigTIFF (64-bit offsets)
 * otherwise. Byte order is little-endian ("II"), the raw file's own, so uncompressed uint16 strips are the
 * raw bytes unchanged.
 */

import type { FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import { deflate } from 'node:zlib';
import type { MappedFile } from '../file/mapped-file.js';
import type { EncodeOptions } from './png-writer.js';
import { RAW_BYTES_PER_PIXEL } from './sidecar.js';
import { mapRowStrips, rowsPerStrip } from './strips.js';

const deflateAsync = promisify(deflate);

/** Uncompressed bytes per TIFF strip: big enough for deflate, small enough for any reader's buffers. */
const TIFF_STRIP_BYTES = 1024 * 1024;
/** Strips compressed at once: two cores, plus one queued so neither waits. */
const IN_FLIGHT = 3;
const WINDOW_BYTES = 64 * 1024 * 1024;
const HEADER_BYTES = 16;
const CLASSIC_LIMIT = 2 ** 32;

const SHORT = 3;
const LONG = 4;
const RATIONAL = 5;
const ASCII = 2;
const LONG8 = 16;
const TYPE_BYTES: Record<number, number> = { [SHORT]: 2, [LONG]: 4, [RATIONAL]: 8, [ASCII]: 1, [LONG8]: 8 };

interface Entry {
  tag: number;
  type: number;
  /** For RATIONAL, numerator/denominator pairs flattened; for ASCII, byte values including the final NUL. */
  values: number[];
}

/** The result of {@link writeTiff}. */
export interface TiffResult {
  bytes: number;
  bigtiff: boolean;
}

/**
 * Applies the TIFF horizontal predictor (Predictor = 2) to rows of 16-bit RGBA: each sample becomes its
 * difference from the same sample of the pixel to its left, modulo 2^16. `xor` 0x8000 maps int16 to
 * `value + 32768`; it cancels out in the differences, so only the first pixel of each row needs it.
 */
function predictRows(source: Uint8Array, width: number, rows: number, xor: number): Uint16Array {
  const rowSamples = width * 4;
  const samples = new Uint16Array(source.buffer, source.byteOffset, rows * rowSamples);
  const out = new Uint16Array(samples.length);
  for (let row = 0; row < rows; row++) {
    const base = row * rowSamples;
    out[base] = samples[base] ^ xor;
    out[base + 1] = samples[base + 1] ^ xor;
    out[base + 2] = samples[base + 2] ^ xor;
    out[base + 3] = samples[base + 3] ^ xor;
    for (let i = base + 4; i < base + rowSamples; i++) out[i] = samples[i] - samples[i - 4];
  }
  return out;
}

function flipTopBits(source: Uint8Array): Uint8Array {
  const out = new Uint8Array(source);
  const words = new Uint32Array(out.buffer, 0, out.length >>> 2);
  for (let i = 0; i < words.length; i++) words[i] ^= 0x80008000;
  return out;
}

function entryBytes(entry: Entry): number {
  return TYPE_BYTES[entry.type] * (entry.type === RATIONAL ? entry.values.length / 2 : entry.values.length);
}

function writeValues(view: DataView, at: number, entry: Entry): void {
  const size = entry.type === RATIONAL ? 4 : TYPE_BYTES[entry.type];
  entry.values.forEach((value, i) => {
    const offset = at + i * size;
    if (size === 1) view.setUint8(offset, value);
    else if (size === 2) view.setUint16(offset, value, true);
    else if (size === 4) view.setUint32(offset, value, true);
    else view.setBigUint64(offset, BigInt(value), true);
  });
}

/**
 * Lays out one image file directory at `position`: the entries (sorted by tag, as TIFF requires), the
 * next-IFD offset (0), then every value too long to sit in its entry.
 */
function buildIfd(entries: Entry[], position: number, bigtiff: boolean): Uint8Array {
  const sorted = [...entries].sort((a, b) => a.tag - b.tag);
  const countBytes = bigtiff ? 8 : 2;
  const entrySize = bigtiff ? 20 : 12;
  const fieldSize = bigtiff ? 8 : 4;
  const tableBytes = countBytes + sorted.length * entrySize + fieldSize;
  let overflow = tableBytes;
  const placement = sorted.map((entry) => {
    const bytes = entryBytes(entry);
    if (bytes <= fieldSize) return -1;
    const at = overflow;
    overflow += bytes + (bytes & 1);
    return at;
  });
  const out = new Uint8Array(overflow);
  const view = new DataView(out.buffer);
  if (bigtiff) view.setBigUint64(0, BigInt(sorted.length), true);
  else view.setUint16(0, sorted.length, true);
  sorted.forEach((entry, i) => {
    const at = countBytes + i * entrySize;
    const count = entry.type === RATIONAL ? entry.values.length / 2 : entry.values.length;
    view.setUint16(at, entry.tag, true);
    view.setUint16(at + 2, entry.type, true);
    if (bigtiff) view.setBigUint64(at + 4, BigInt(count), true);
    else view.setUint32(at + 4, count, true);
    const field = at + 4 + (bigtiff ? 8 : 4);
    if (placement[i] < 0) {
      writeValues(view, field, entry);
    } else {
      if (bigtiff) view.setBigUint64(field, BigInt(position + placement[i]), true);
      else view.setUint32(field, position + placement[i], true);
      writeValues(view, placement[i], entry);
    }
  });
  return out;
}

function header(ifdOffset: number, bigtiff: boolean): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES);
  const view = new DataView(out.buffer);
  out[0] = 0x49; // 'I'
  out[1] = 0x49;
  if (bigtiff) {
    view.setUint16(2, 43, true);
    view.setUint16(4, 8, true); // bytes per offset
    view.setBigUint64(8, BigInt(ifdOffset), true);
  } else {
    view.setUint16(2, 42, true);
    view.setUint32(4, ifdOffset, true);
  }
  return out;
}

async function writeAll(handle: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let done = 0;
  while (done < data.length) {
    const { bytesWritten } = await handle.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}

/**
 * Writes the raw image as a 16-bit RGBA TIFF (RGB with unassociated alpha, chunky, strips) to an open,
 * empty file: deflate with the horizontal predictor at levels 1–9, uncompressed at level 0.
 * @param source The raw file, opened for reading.
 * @param opts `{ width, height, signed, level, forceBigtiff = false }`: `forceBigtiff` writes a BigTIFF even
 * below 4 GiB (for readers that want one, and for testing the layout on small images).
 * @param target The output file, opened for writing.
 * @returns The file's size and whether it is a BigTIFF.
 */
export async function writeTiff(
  source: MappedFile,
  opts: EncodeOptions & { forceBigtiff?: boolean },
  target: FileHandle,
): Promise<TiffResult> {
  const { width, height, signed, level } = opts;
  const rowBytes = width * RAW_BYTES_PER_PIXEL;
  const xor = signed ? 0x8000 : 0;
  const stripRows = rowsPerStrip(width, TIFF_STRIP_BYTES);
  const windowRows = stripRows * Math.max(1, Math.floor(WINDOW_BYTES / (stripRows * rowBytes)));
  const offsets: number[] = [];
  const counts: number[] = [];
  let position = HEADER_BYTES;
  const append = async (data: Uint8Array) => {
    offsets.push(position);
    counts.push(data.length);
    await writeAll(target, data, position);
    position += data.length;
  };

  const pending: Promise<Buffer>[] = [];
  try {
    for (const window of mapRowStrips(source, width, height, windowRows, opts.onRows)) {
      for (let row = 0; row < window.rows; row += stripRows) {
        const rows = Math.min(stripRows, window.rows - row);
        const bytes = window.bytes.subarray(row * rowBytes, (row + rows) * rowBytes);
        if (level === 0) {
          // The write finishes before the window is unmapped: the loop awaits it.
          await append(signed ? flipTopBits(bytes) : bytes);
          continue;
        }
        const predicted = predictRows(bytes, width, rows, xor);
        const compressed = deflateAsync(new Uint8Array(predicted.buffer), { level });
        // Marked handled now: it may fail while an earlier strip is awaited; it is awaited (and throws) in turn.
        compressed.catch(() => undefined);
        pending.push(compressed);
        if (pending.length >= IN_FLIGHT) await append(await (pending.shift() as Promise<Buffer>));
      }
    }
    while (pending.length > 0) await append(await (pending.shift() as Promise<Buffer>));
  } finally {
    // Let compressions already queued settle before the caller closes the file.
    await Promise.allSettled(pending);
  }

  position += position & 1; // the IFD starts on a word boundary
  const ifdOffset = position;
  const entries = (bigtiff: boolean): Entry[] => [
    { tag: 256, type: LONG, values: [width] }, // ImageWidth
    { tag: 257, type: LONG, values: [height] }, // ImageLength
    { tag: 258, type: SHORT, values: [16, 16, 16, 16] }, // BitsPerSample
    { tag: 259, type: SHORT, values: [level === 0 ? 1 : 8] }, // Compression: none / Adobe deflate
    { tag: 262, type: SHORT, values: [2] }, // PhotometricInterpretation: RGB
    { tag: 273, type: bigtiff ? LONG8 : LONG, values: offsets }, // StripOffsets
    { tag: 277, type: SHORT, values: [4] }, // SamplesPerPixel
    { tag: 278, type: LONG, values: [stripRows] }, // RowsPerStrip
    { tag: 279, type: bigtiff ? LONG8 : LONG, values: counts }, // StripByteCounts
    { tag: 282, type: RATIONAL, values: [72, 1] }, // XResolution
    { tag: 283, type: RATIONAL, values: [72, 1] }, // YResolution
    { tag: 284, type: SHORT, values: [1] }, // PlanarConfiguration: chunky
    { tag: 296, type: SHORT, values: [2] }, // ResolutionUnit: inch
    { tag: 305, type: ASCII, values: [...Buffer.from('rawbright\0', 'latin1')] }, // Software
    ...(level === 0 ? [] : [{ tag: 317, type: SHORT, values: [2] }]), // Predictor: horizontal
    { tag: 338, type: SHORT, values: [2] }, // ExtraSamples: unassociated alpha
    { tag: 339, type: SHORT, values: [1, 1, 1, 1] }, // SampleFormat: unsigned
  ];
  let bigtiff = false;
  let ifd = buildIfd(entries(false), ifdOffset, false);
  if (opts.forceBigtiff === true || ifdOffset + ifd.length >= CLASSIC_LIMIT) {
    bigtiff = true;
    ifd = buildIfd(entries(true), ifdOffset, true);
  }
  await writeAll(target, ifd, ifdOffset);
  await writeAll(target, header(ifdOffset, bigtiff), 0);
  return { bytes: ifdOffset + ifd.length, bigtiff };
}
