// Fixtures and checks shared by the conversion tests (test/convert/*, test/cli/convert.test.ts).
// Importing this makes a temporary folder for the test file, removed after it.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, expect } from 'vitest';
import { tempDir } from './raw.js';

export const CLI = new URL('../../dist/cli/index.js', import.meta.url).pathname;
export const COFFEE = new URL('../../samples/coffee.png', import.meta.url).pathname;
export const ASTRONAUT = new URL('../../samples/astronaut.png', import.meta.url).pathname;
const tmp = tempDir();
afterAll(() => tmp.cleanup());

let counter = 0;
/** A fresh, empty folder for one test, so "nothing was written" can be checked by listing it. */
export function folder(): string {
  const dir = join(tmp.dir, `case-${counter++}`);
  mkdirSync(dir);
  return dir;
}

/** Every file in a folder (hidden ones included) with a hash of its contents. */
export function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    files[name] = createHash('sha256')
      .update(readFileSync(join(dir, name)))
      .digest('hex');
  }
  return files;
}

export function samples16(bytes: Buffer | Uint8Array): Uint16Array {
  return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
}

/** Decodes an image with sharp alone, as 16-bit samples: an independent check of what rawbright wrote. */
export async function decode16(
  path: string,
): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(path)
    .toColourspace('rgb16')
    .raw({ depth: 'ushort' })
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

export async function rejection(promise: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('expected the promise to reject');
}

/** int16 samples as exported: value + 32768, that is, the top bit flipped. */
export function offsetInt16(raw: Buffer): Buffer {
  const out = Buffer.from(raw);
  const words = samples16(out);
  for (let i = 0; i < words.length; i++) words[i] ^= 0x8000;
  return out;
}

/** Writes an 8- or 16-bit image with sharp from explicit samples. */
export async function writeImage(
  path: string,
  samples: number[],
  width: number,
  channels: 1 | 2 | 3 | 4,
  bits: 8 | 16,
): Promise<void> {
  const height = samples.length / width / channels;
  const raw = { width, height, channels };
  const input = bits === 8 ? Uint8Array.from(samples) : Uint16Array.from(samples);
  let image = sharp(input, { raw });
  if (bits === 16) image = image.toColourspace(channels <= 2 ? 'grey16' : 'rgb16');
  else if (channels <= 2) image = image.toColourspace('b-w');
  await (path.endsWith('.tif') ? image.tiff({ compression: 'lzw' }) : image.png()).toFile(path);
  // The fixture itself must have the channels and depth it claims, or the test proves nothing.
  expect(await sharp(path).metadata()).toMatchObject({ channels, depth: bits === 8 ? 'uchar' : 'ushort' });
}
