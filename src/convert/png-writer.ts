/**
 * A streaming 16-bit RGBA PNG encoder for raw files of any size. sharp (libvips) encodes PNG from one
 * input image, and a raw file only reaches sharp as a buffer, which Node caps at 4 GiB; so the export
 * writes the PNG itself: strips of rows are mapped, filtered into big-endian PNG rows, and fed to one
 * zlib deflate stream (on the libuv thread pool), whose output becomes IDAT chunks. Memory stays at a
 * few strips whatever the image size. sharp reads the result back in the tests, as an independent check.
 *
 * PNG stores samples big-endian; raw files are little-endian. Rows use filter type 1 (Sub) when
 * compressing: each byte minus the same byte of the pixel to its left, which for photographs and
 * gradients roughly halves the compressed size compared with no filter, for one pass over the row.
 */

import type { FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createDeflate } from 'node:zlib';
import type { MappedFile } from '../file/mapped-file.js';
import { RAW_BYTES_PER_PIXEL } from './sidecar.js';
import { mapRowStrips, rowsPerStrip } from './strips.js';

if (endianness() !== 'LE')
  throw new Error('rawbright reads raw files through typed arrays and needs a little-endian CPU');

/** What to encode. */
export interface EncodeOptions {
  width: number;
  height: number;
  /** int16 samples: stored as `value + 32768` (flip the top bit), since PNG and TIFF samples are unsigned. */
  signed: boolean;
  /** zlib level 0 (stored, no filter) to 9. */
  level: number;
  /** Called with the rows read so far, after each strip (progress). */
  onRows?: (rowsDone: number) => void;
}

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
const PNG_STRIP_BYTES = 8 * 1024 * 1024;
const IDAT_BYTES = 256 * 1024;

function pngChunk(type: string, data: Uint8Array): Buffer {
  const chunk = Buffer.allocUnsafe(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write(type, 4, 'latin1');
  chunk.set(data, 8);
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + data.length)), 8 + data.length);
  return chunk;
}

/**
 * Turns rows of little-endian RGBA16 samples into PNG scanlines: a filter byte, then big-endian samples,
 * Sub-filtered when `sub`. With `xor` = 0x8000 (int16), the top bit of every sample is flipped; under the
 * Sub filter that flip cancels out everywhere but the first pixel of a row (x ^ 0x80 is x + 128 mod 256).
 */
function pngScanlines(source: Uint8Array, width: number, rows: number, xor: number, sub: boolean): Buffer {
  const rowSamples = width * 4;
  const rowBytes = width * RAW_BYTES_PER_PIXEL;
  const samples = new Uint16Array(source.buffer, source.byteOffset, rows * rowSamples);
  const out = Buffer.allocUnsafe(rows * (rowBytes + 1));
  const line = new Uint16Array(rowSamples);
  const lineBytes = new Uint8Array(line.buffer);
  for (let row = 0; row < rows; row++) {
    const base = row * rowSamples;
    for (let k = 0; k < 4; k++) {
      const v = samples[base + k] ^ xor;
      line[k] = (v >>> 8) | ((v & 0xff) << 8);
    }
    if (sub) {
      for (let i = 4; i < rowSamples; i++) {
        const v = samples[base + i];
        const left = samples[base + i - 4];
        line[i] = (((v >>> 8) - (left >>> 8)) & 0xff) | (((v - left) & 0xff) << 8);
      }
    } else {
      for (let i = 4; i < rowSamples; i++) {
        const v = samples[base + i] ^ xor;
        line[i] = (v >>> 8) | ((v & 0xff) << 8);
      }
    }
    const at = row * (rowBytes + 1);
    out[at] = sub ? 1 : 0;
    out.set(lineBytes, at + 1);
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
 * Writes the raw image as a 16-bit RGBA PNG (colour type 6, no interlace) to an open, empty file.
 * @param source The raw file, opened for reading.
 * @param opts `{ width, height, signed, level }`.
 * @param target The output file, opened for writing.
 * @returns The PNG's size in bytes.
 */
export async function writePng(source: MappedFile, opts: EncodeOptions, target: FileHandle): Promise<number> {
  const { width, height, signed, level } = opts;
  const xor = signed ? 0x8000 : 0;
  const sub = level > 0;
  let position = 0;
  const append = async (data: Uint8Array) => {
    await writeAll(target, data, position);
    position += data.length;
  };

  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 16; // bits per sample
  header[9] = 6; // truecolour with alpha
  await append(SIGNATURE);
  await append(pngChunk('IHDR', header));

  function* scanlines(): Generator<Buffer> {
    for (const strip of mapRowStrips(
      source,
      width,
      height,
      rowsPerStrip(width, PNG_STRIP_BYTES),
      opts.onRows,
    )) {
      yield pngScanlines(strip.bytes, width, strip.rows, xor, sub);
    }
  }
  // When a write fails (a full disk), pipeline() tears the streams down and may reject with its own
  // AbortError ("The operation was aborted"): keep the write's error, which names the cause.
  let writeError: unknown;
  try {
    await pipeline(
      // One strip read ahead at most: the deflate stream's own queue holds the rest.
      Readable.from(scanlines(), { objectMode: true, highWaterMark: 1 }),
      createDeflate({ level, memLevel: 9, chunkSize: IDAT_BYTES }),
      async (compressed: AsyncIterable<Buffer>) => {
        try {
          for await (const data of compressed) await append(pngChunk('IDAT', data));
        } catch (error) {
          writeError = error;
          throw error;
        }
      },
    );
  } catch (error) {
    throw writeError ?? error;
  }
  await append(pngChunk('IEND', new Uint8Array(0)));
  return position;
}
