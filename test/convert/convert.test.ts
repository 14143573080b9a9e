import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { fillGradient, fillNoise } from '../../dist/convert/create.js';
import { writeTiff } from '../../dist/convert/tiff-writer.js';
import { MappedFile } from '../../dist/file/mapped-file.js';
import {
  createImage,
  exportImage,
  imageInfo,
  importImage,
  previewImage,
  readSidecar,
} from '../../dist/index.js';
import { createKernel, KERNEL_NAMES, wasmDataEnd } from '../../dist/kernels/index.js';
import { randomBytes, tempDir } from '../helpers/raw.js';

const CLI = new URL('../../dist/cli/index.js', import.meta.url).pathname;
const COFFEE = new URL('../../samples/coffee.png', import.meta.url).pathname;
const ASTRONAUT = new URL('../../samples/astronaut.png', import.meta.url).pathname;
const tmp = tempDir();
afterAll(() => tmp.cleanup());

let counter = 0;
/** A fresh, empty folder for one test, so "nothing was written" can be checked by listing it. */
function folder(): string {
  const dir = join(tmp.dir, `case-${counter++}`);
  mkdirSync(dir);
  return dir;
}

/** Every file in a folder (hidden ones included) with a hash of its contents. */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    files[name] = createHash('sha256')
      .update(readFileSync(join(dir, name)))
      .digest('hex');
  }
  return files;
}

function samples16(bytes: Buffer | Uint8Array): Uint16Array {
  return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
}

/** Decodes an image with sharp alone, as 16-bit samples: an independent check of what rawbright wrote. */
async function decode16(
  path: string,
): Promise<{ data: Buffer; width: number; height: number; channels: number }> {
  const { data, info } = await sharp(path)
    .toColourspace('rgb16')
    .raw({ depth: 'ushort' })
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

async function rejection(promise: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('expected the promise to reject');
}

/** int16 samples as exported: value + 32768, that is, the top bit flipped. */
function offsetInt16(raw: Buffer): Buffer {
  const out = Buffer.from(raw);
  const words = samples16(out);
  for (let i = 0; i < words.length; i++) words[i] ^= 0x8000;
  return out;
}

/** Writes an 8- or 16-bit image with sharp from explicit samples. */
async function writeImage(
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

describe('createImage', () => {
  it('draws the gradient: R left to right, G top to bottom, B falling along the diagonal, opaque alpha', async () => {
    const raw = join(folder(), 'g.raw');
    const report = await createImage(raw, { width: 7, height: 5 });
    expect(report).toMatchObject({
      width: 7,
      height: 5,
      sampleType: 'uint16',
      pattern: 'gradient',
      bytes: 280,
    });
    const s = samples16(readFileSync(raw));
    const pixel = (x: number, y: number) => Array.from(s.subarray((y * 7 + x) * 4, (y * 7 + x) * 4 + 4));
    expect(pixel(0, 0)).toEqual([0, 0, 65535, 65535]);
    expect(pixel(6, 0)).toEqual([65535, 0, 65535 - Math.round((6 * 65535) / 10), 65535]);
    expect(pixel(0, 4)).toEqual([0, 65535, 65535 - Math.round((4 * 65535) / 10), 65535]);
    expect(pixel(6, 4)).toEqual([65535, 65535, 0, 65535]);
    expect(pixel(3, 2)).toEqual([
      Math.round((3 * 65535) / 6),
      Math.round((2 * 65535) / 4),
      65535 - Math.round((5 * 65535) / 10),
      65535,
    ]);
    expect(await readSidecar(raw)).toEqual({
      width: 7,
      height: 5,
      channels: 4,
      sampleType: 'uint16',
      byteOrder: 'little',
    });
  });

  it.each(['gradient', 'noise'] as const)(
    'makes the int16 %s the uint16 one minus 32768',
    async (pattern) => {
      const dir = folder();
      await createImage(join(dir, 'u.raw'), { width: 33, height: 17, pattern, seed: 9 });
      await createImage(join(dir, 'i.raw'), { width: 33, height: 17, pattern, seed: 9, type: 'int16' });
      const u = samples16(readFileSync(join(dir, 'u.raw')));
      const bytes = readFileSync(join(dir, 'i.raw'));
      const i16 = new Int16Array(bytes.buffer, bytes.byteOffset, bytes.length / 2);
      for (let k = 0; k < u.length; k++) expect(i16[k]).toBe(u[k] - 32768);
      expect((await readSidecar(join(dir, 'i.raw')))?.sampleType).toBe('int16');
    },
  );

  it('is deterministic for a seed, and different for another', async () => {
    const dir = folder();
    await createImage(join(dir, 'a.raw'), { width: 64, height: 64, pattern: 'noise', seed: 7 });
    await createImage(join(dir, 'b.raw'), { width: 64, height: 64, pattern: 'noise', seed: 7 });
    await createImage(join(dir, 'c.raw'), { width: 64, height: 64, pattern: 'noise', seed: 8 });
    const [a, b, c] = ['a', 'b', 'c'].map((n) => readFileSync(join(dir, `${n}.raw`)));
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
    const s = samples16(a);
    const distinct = new Set(Array.from(s.filter((_, i) => i % 4 === 0)));
    expect(distinct.size).toBeGreaterThan(3900); // 4096 uniform 16-bit reds: about 3971 distinct expected
    expect(s.filter((_, i) => i % 4 === 3).every((alpha) => alpha === 65535)).toBe(true);
  });

  it('fills the same pixels whatever the window boundaries, including across pixel index 2^32', () => {
    const whole = (
      fill: (words: Uint32Array, start: number, count: number) => void,
      start: number,
      count: number,
    ) => {
      const words = new Uint32Array(count * 2);
      fill(words, start, count);
      return words;
    };
    const pieces = (
      fill: (words: Uint32Array, start: number, count: number) => void,
      start: number,
      cuts: number[],
    ) => {
      const parts = cuts.slice(1).map((end, i) => whole(fill, start + cuts[i], end - cuts[i]));
      const out = new Uint32Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const part of parts) {
        out.set(part, at);
        at += part.length;
      }
      return out;
    };
    const noise = (words: Uint32Array, start: number, count: number) => fillNoise(words, start, count, 42, 0);
    const gradient = (words: Uint32Array, start: number, count: number) =>
      fillGradient(words, start, count, 37, 29, 0);
    expect(pieces(noise, 0, [0, 1, 100, 999, 1000])).toEqual(whole(noise, 0, 1000));
    expect(pieces(gradient, 0, [0, 5, 36, 37, 38, 500, 37 * 29])).toEqual(whole(gradient, 0, 37 * 29));
    const edge = 2 ** 32 - 3;
    expect(pieces(noise, edge, [0, 3, 6])).toEqual(whole(noise, edge, 6));
    expect(whole(noise, edge, 6).subarray(6, 12)).not.toEqual(whole(noise, 0, 3));
  });

  it('fills a file spanning several 64 MiB windows exactly as one pass in memory would', async () => {
    const raw = join(folder(), 'big.raw');
    const width = 4096;
    const height = 2100; // 65.6 MiB: two windows
    await createImage(raw, { width, height, pattern: 'gradient', type: 'int16' });
    const expected = new Uint32Array(width * height * 2);
    fillGradient(expected, 0, width * height, width, height, 0x80008000);
    const actual = readFileSync(raw);
    expect(actual.length).toBe(width * height * 8);
    expect(actual.equals(Buffer.from(expected.buffer))).toBe(true);
  });

  it.each([
    [{ width: 0, height: 5 }, /for width/],
    [{ width: 5, height: 1.5 }, /for height/],
    [{ width: 5, height: 5, type: 'float' }, /for type/],
    [{ width: 5, height: 5, pattern: 'plaid' }, /for pattern/],
    [{ width: 5, height: 5, seed: -1 }, /for seed/],
    [{ width: 5, height: 5, seed: 2 ** 32 }, /for seed/],
  ])('refuses %j with ERR_INVALID_ARG_VALUE and writes nothing', async (opts, message) => {
    const dir = folder();
    const error = await rejection(createImage(join(dir, 'x.raw'), opts as never));
    expect(error.code).toBe('ERR_INVALID_ARG_VALUE');
    expect(error.message).toMatch(message);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('export then import: lossless', () => {
  const cases = (['uint16', 'int16'] as const).flatMap((type) =>
    (['png', 'tif'] as const).flatMap((format) =>
      ([0, 1, 9] as const).flatMap((level) =>
        (['gradient', 'noise'] as const).map((pattern) => ({ type, format, level, pattern })),
      ),
    ),
  );

  it.each(cases)(
    '$type $pattern through $format at level $level',
    async ({ type, format, level, pattern }) => {
      const dir = folder();
      const raw = join(dir, 'in.raw');
      await createImage(raw, { width: 97, height: 61, type, pattern, seed: 3 });
      const original = readFileSync(raw);
      const out = join(dir, `out.${format}`);
      const report = await exportImage(raw, out, { compressionLevel: level });
      expect(report).toMatchObject({
        format: format === 'png' ? 'png' : 'tiff',
        bigtiff: false,
        sampleType: type,
        bytes: statSync(out).size,
      });

      // sharp alone reads the file as 16-bit RGBA holding the raw samples (int16: + 32768).
      const metadata = await sharp(out).metadata();
      expect(metadata).toMatchObject({
        format: format === 'png' ? 'png' : 'tiff',
        depth: 'ushort',
        channels: 4,
        hasAlpha: true,
      });
      const decoded = await decode16(out);
      const unsigned = type === 'uint16' ? original : offsetInt16(original);
      expect(decoded.data.equals(unsigned)).toBe(true);

      // And rawbright's own import gives back the same bytes.
      const back = join(dir, 'back.raw');
      const imported = await importImage(out, back);
      expect(imported).toMatchObject({ width: 97, height: 61, sourceBits: 16, sourceChannels: 4 });
      expect(readFileSync(back).equals(unsigned)).toBe(true);
      expect(readdirSync(dir).sort()).toEqual([
        'back.raw',
        'back.raw.json',
        'in.raw',
        'in.raw.json',
        `out.${format}`,
      ]);
    },
  );

  it.each(['png', 'tiff'] as const)(
    'stays lossless across strips and windows (%s, 9 MiB)',
    async (format) => {
      const dir = folder();
      const raw = join(dir, 'in.raw');
      await createImage(raw, { width: 1100, height: 1030, pattern: 'noise', seed: 11 });
      const out = join(dir, `out.${format}`);
      await exportImage(raw, out);
      expect((await decode16(out)).data.equals(readFileSync(raw))).toBe(true);
    },
  );

  it('exports a raw file without a sidecar from width, height and type', async () => {
    const dir = folder();
    const bytes = randomBytes(40 * 30 * 8, 5);
    writeFileSync(join(dir, 'bare.raw'), bytes);
    await exportImage(join(dir, 'bare.raw'), join(dir, 'bare.png'), { width: 40, height: 30, type: 'int16' });
    expect((await decode16(join(dir, 'bare.png'))).data.equals(offsetInt16(bytes))).toBe(true);
  });

  it('writes a BigTIFF that libtiff reads, and a classic TIFF below 4 GiB', async () => {
    const dir = folder();
    const raw = join(dir, 'in.raw');
    await createImage(raw, { width: 300, height: 200, pattern: 'noise' });
    const source = MappedFile.open(raw);
    try {
      for (const [name, level] of [
        ['big-deflate.tif', 1],
        ['big-plain.tif', 0],
      ] as const) {
        const target = await open(join(dir, name), 'wx');
        const result = await writeTiff(
          source,
          { width: 300, height: 200, signed: false, level, forceBigtiff: true },
          target,
        );
        await target.close();
        expect(result.bigtiff).toBe(true);
        const header = readFileSync(join(dir, name)).subarray(0, 8);
        expect(Array.from(header)).toEqual([0x49, 0x49, 43, 0, 8, 0, 0, 0]);
        expect((await decode16(join(dir, name))).data.equals(readFileSync(raw))).toBe(true);
      }
    } finally {
      source.close();
    }
    await exportImage(raw, join(dir, 'classic.tif'));
    expect(Array.from(readFileSync(join(dir, 'classic.tif')).subarray(0, 4))).toEqual([0x49, 0x49, 42, 0]);
  });
});

describe('importImage', () => {
  it('scales 8-bit samples by 257 exactly and adds opaque alpha', async () => {
    const dir = folder();
    const values = [0, 10, 255, 1, 2, 3, 127, 128, 254, 253, 100, 200];
    await writeImage(join(dir, 'rgb8.png'), values, 2, 3, 8);
    const report = await importImage(join(dir, 'rgb8.png'), join(dir, 'rgb8.raw'));
    expect(report).toMatchObject({
      width: 2,
      height: 2,
      sourceBits: 8,
      sourceChannels: 3,
      sampleType: 'uint16',
      bytes: 32,
    });
    const expected = [
      0, 2570, 65535, 65535, 257, 514, 771, 65535, 32639, 32896, 65278, 65535, 65021, 25700, 51400, 65535,
    ];
    expect(Array.from(samples16(readFileSync(join(dir, 'rgb8.raw'))))).toEqual(expected);
    expect(await readSidecar(join(dir, 'rgb8.raw'))).toEqual({
      width: 2,
      height: 2,
      channels: 4,
      sampleType: 'uint16',
      byteOrder: 'little',
    });
  });

  it('keeps 8-bit alpha, scaled', async () => {
    const dir = folder();
    await writeImage(join(dir, 'rgba8.png'), [1, 2, 3, 0, 4, 5, 6, 10, 7, 8, 9, 255], 3, 4, 8);
    await importImage(join(dir, 'rgba8.png'), join(dir, 'rgba8.raw'));
    expect(Array.from(samples16(readFileSync(join(dir, 'rgba8.raw'))))).toEqual(
      [1, 2, 3, 0, 4, 5, 6, 10, 7, 8, 9, 255].map((v) => v * 257),
    );
  });

  it.each([
    [
      '8-bit grey',
      [0, 10, 255, 77],
      1,
      8,
      [0, 0, 0, 65535, 2570, 2570, 2570, 65535, 65535, 65535, 65535, 65535, 19789, 19789, 19789, 65535],
    ],
    [
      '8-bit grey + alpha',
      [0, 255, 10, 0, 255, 128, 1, 1],
      2,
      8,
      [0, 0, 0, 65535, 2570, 2570, 2570, 0, 65535, 65535, 65535, 32896, 257, 257, 257, 257],
    ],
    [
      '16-bit grey',
      [0, 10, 65535, 12345],
      1,
      16,
      [0, 0, 0, 65535, 10, 10, 10, 65535, 65535, 65535, 65535, 65535, 12345, 12345, 12345, 65535],
    ],
    [
      '16-bit grey + alpha',
      [1, 2, 3, 4, 5, 6, 65535, 0],
      2,
      16,
      [1, 1, 1, 2, 3, 3, 3, 4, 5, 5, 5, 6, 65535, 65535, 65535, 0],
    ],
  ] as const)('turns %s into RGB(A)', async (_, values, channels, bits, expected) => {
    const dir = folder();
    await writeImage(join(dir, 'grey.png'), [...values], 2, channels, bits);
    const report = await importImage(join(dir, 'grey.png'), join(dir, 'grey.raw'));
    expect(report).toMatchObject({ sourceChannels: channels, sourceBits: bits });
    expect(Array.from(samples16(readFileSync(join(dir, 'grey.raw'))))).toEqual(expected);
  });

  it('imports 16-bit RGB TIFF samples unchanged, with opaque alpha', async () => {
    const dir = folder();
    const values = [0, 1, 65535, 40000, 12345, 54321];
    await writeImage(join(dir, 'rgb16.tif'), values, 2, 3, 16);
    await importImage(join(dir, 'rgb16.tif'), join(dir, 'rgb16.raw'));
    expect(Array.from(samples16(readFileSync(join(dir, 'rgb16.raw'))))).toEqual([
      0, 1, 65535, 65535, 40000, 12345, 54321, 65535,
    ]);
  });

  it('imports the coffee photograph: sharp’s own 8-bit decode × 257, opaque', async () => {
    const dir = folder();
    const report = await importImage(COFFEE, join(dir, 'coffee.raw'));
    expect(report).toMatchObject({
      width: 600,
      height: 400,
      sourceFormat: 'png',
      sourceBits: 8,
      sourceChannels: 3,
    });
    const { data } = await sharp(COFFEE).raw().toBuffer({ resolveWithObject: true });
    const raw = samples16(readFileSync(join(dir, 'coffee.raw')));
    expect(raw.length).toBe(600 * 400 * 4);
    for (let p = 0; p < 600 * 400; p++) {
      if (
        raw[p * 4] !== data[p * 3] * 257 ||
        raw[p * 4 + 1] !== data[p * 3 + 1] * 257 ||
        raw[p * 4 + 2] !== data[p * 3 + 2] * 257 ||
        raw[p * 4 + 3] !== 65535
      ) {
        throw new Error(`pixel ${p} differs`);
      }
    }
    expect(readdirSync(dir).sort()).toEqual(['coffee.raw', 'coffee.raw.json']);
  });
});

describe('brightening a 16-bit image (rgba) equals sharp’s own linear(1, delta)', () => {
  it.each(KERNEL_NAMES)('%s kernel', async (name) => {
    const dir = folder();
    await importImage(ASTRONAUT, join(dir, 'a.raw'));
    const original = readFileSync(join(dir, 'a.raw'));
    const offset = Math.ceil(wasmDataEnd() / 65536) * 65536;
    const memory = new WebAssembly.Memory({ initial: (offset + original.length) / 65536 + 1 });
    const kernel = createKernel(name, memory);
    for (const delta of [12345, -20000, 65535, -65535]) {
      const view = new Uint8Array(memory.buffer, offset, original.length);
      view.set(original);
      kernel.brighten(memory.buffer, offset, original.length, { delta, type: 'uint16', channels: 'rgba' });
      const reference = await sharp(samples16(original), { raw: { width: 512, height: 512, channels: 4 } })
        .linear([1, 1, 1, 1], [delta, delta, delta, delta])
        .toColourspace('rgb16')
        .raw({ depth: 'ushort' })
        .toBuffer();
      expect(Buffer.from(view).equals(reference)).toBe(true);
      expect(reference.equals(original)).toBe(false);
    }
  });
});

describe('previewImage', () => {
  it('writes a small 8-bit RGBA PNG of the asked width, never enlarged', async () => {
    const dir = folder();
    await createImage(join(dir, 'g.raw'), { width: 301, height: 203 });
    const report = await previewImage(join(dir, 'g.raw'), join(dir, 'p.png'), { width: 100 });
    expect(report).toMatchObject({ width: 100, height: 67, sourceWidth: 301, sourceHeight: 203 });
    expect(await sharp(join(dir, 'p.png')).metadata()).toMatchObject({
      format: 'png',
      width: 100,
      height: 67,
      depth: 'uchar',
      channels: 4,
    });
    const full = await previewImage(join(dir, 'g.raw'), join(dir, 'full.png'), { width: 5000 });
    expect(full).toMatchObject({ width: 301, height: 203 });
  });

  it('resizes an image taller than one strip in strips, seamlessly, and shows int16 as value + 32768', async () => {
    const dir = folder();
    const width = 2048;
    const height = 4300; // 67 MiB: more rows than one 64 MiB strip holds
    await createImage(join(dir, 'u.raw'), { width, height });
    await createImage(join(dir, 'i.raw'), { width, height, type: 'int16' });
    const report = await previewImage(join(dir, 'u.raw'), join(dir, 'u.png'), { width: 256 });
    expect(report).toMatchObject({ width: 256, height: 538 });
    await previewImage(join(dir, 'i.raw'), join(dir, 'i.png'));
    await previewImage(join(dir, 'u.raw'), join(dir, 'u1024.png'));
    const { data, info } = await sharp(join(dir, 'u.png')).raw().toBuffer({ resolveWithObject: true });
    expect(info).toMatchObject({ width: 256, height: 538, channels: 4 });
    // Every pixel close to the gradient it shows, across the strip boundary too.
    for (let y = 0; y < 538; y++) {
      for (let x = 0; x < 256; x += 15) {
        const p = (y * 256 + x) * 4;
        const sourceX = ((x + 0.5) * width) / 256 - 0.5;
        const sourceY = ((y + 0.5) * height) / 538 - 0.5;
        expect(Math.abs(data[p] - (sourceX / (width - 1)) * 255)).toBeLessThanOrEqual(2);
        expect(Math.abs(data[p + 1] - (sourceY / (height - 1)) * 255)).toBeLessThanOrEqual(2);
        expect(data[p + 3]).toBe(255);
      }
    }
    const [u, i] = await Promise.all(['u1024.png', 'i.png'].map((n) => sharp(join(dir, n)).raw().toBuffer()));
    expect(i.equals(u)).toBe(true);
  });
});

describe('imageInfo', () => {
  it('reports shape and exact per-channel min, max and mean (uint16 and int16)', async () => {
    const dir = folder();
    const raw = join(dir, 'two.raw');
    writeFileSync(raw, Buffer.from(Uint16Array.of(0, 10, 65535, 100, 2, 20, 5, 300).buffer));
    const u = await imageInfo(raw, { width: 2, height: 1 });
    expect(u).toMatchObject({
      width: 2,
      height: 1,
      channels: 4,
      sampleType: 'uint16',
      bytes: 16,
      pixels: 2,
      sidecar: undefined,
    });
    expect(u.stats).toEqual([
      { channel: 'red', min: 0, max: 2, mean: 1 },
      { channel: 'green', min: 10, max: 20, mean: 15 },
      { channel: 'blue', min: 5, max: 65535, mean: 32770 },
      { channel: 'alpha', min: 100, max: 300, mean: 200 },
    ]);
    const i = await imageInfo(raw, { width: 1, height: 2, type: 'int16' });
    expect(i.stats[2]).toEqual({ channel: 'blue', min: -1, max: 5, mean: 2 });
  });

  it('takes the shape from the sidecar, across windows', async () => {
    const dir = folder();
    await createImage(join(dir, 'g.raw'), { width: 4096, height: 2100 });
    const info = await imageInfo(join(dir, 'g.raw'));
    expect(info.sidecar).toBe(join(dir, 'g.raw.json'));
    expect(info.stats.map((s) => [s.min, s.max])).toEqual([
      [0, 65535],
      [0, 65535],
      [0, 65535],
      [65535, 65535],
    ]);
    expect(info.stats[1].mean).toBeCloseTo(32767.5, 0);
  });
});

describe('bad input: one clear error with a code, and nothing written', () => {
  async function expectRefusal(
    dir: string,
    action: () => Promise<unknown>,
    code: string,
    message: RegExp,
  ): Promise<void> {
    const before = snapshot(dir);
    const error = await rejection(action());
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('\n');
    expect(snapshot(dir)).toEqual(before);
  }

  it('import: a truncated PNG, a garbled PNG, a text file, a missing file, a missing folder', async () => {
    const dir = folder();
    const good = readFileSync(COFFEE);
    writeFileSync(join(dir, 'truncated.png'), good.subarray(0, good.length >> 1));
    const garbled = Buffer.from(good);
    for (let i = 2000; i < garbled.length - 2000; i += 997) garbled[i] ^= 0x5a;
    writeFileSync(join(dir, 'garbled.png'), garbled);
    writeFileSync(join(dir, 'notes.png'), 'not an image at all\n');
    await expectRefusal(
      dir,
      () => importImage(join(dir, 'truncated.png'), join(dir, 'o.raw')),
      'ERR_CORRUPT_IMAGE',
      /^cannot decode .*truncated\.png: /,
    );
    await expectRefusal(
      dir,
      () => importImage(join(dir, 'garbled.png'), join(dir, 'o.raw')),
      'ERR_CORRUPT_IMAGE',
      /garbled\.png/,
    );
    await expectRefusal(
      dir,
      () => importImage(join(dir, 'notes.png'), join(dir, 'o.raw')),
      'ERR_UNSUPPORTED_FORMAT',
      /notes\.png is not in an image format sharp can read$/,
    );
    await expectRefusal(
      dir,
      () => importImage(join(dir, 'none.png'), join(dir, 'o.raw')),
      'ENOENT',
      /^cannot open .*none\.png: no such file or directory$/,
    );
    await expectRefusal(
      dir,
      () => importImage(COFFEE, join(dir, 'no', 'o.raw')),
      'ENOENT',
      /the folder .*no does not exist$/,
    );
  });

  it('import, export, preview, create: an existing output without overwrite is left untouched', async () => {
    const dir = folder();
    await createImage(join(dir, 'a.raw'), { width: 8, height: 8 });
    writeFileSync(join(dir, 'taken.png'), 'mine');
    writeFileSync(join(dir, 'only-sidecar.raw.json'), 'mine');
    await expectRefusal(
      dir,
      () => importImage(COFFEE, join(dir, 'a.raw')),
      'EEXIST',
      /a\.raw already exists; use --overwrite/,
    );
    await expectRefusal(
      dir,
      () => importImage(COFFEE, join(dir, 'only-sidecar.raw')),
      'EEXIST',
      /only-sidecar\.raw\.json already exists/,
    );
    await expectRefusal(
      dir,
      () => exportImage(join(dir, 'a.raw'), join(dir, 'taken.png')),
      'EEXIST',
      /taken\.png already exists/,
    );
    await expectRefusal(
      dir,
      () => previewImage(join(dir, 'a.raw'), join(dir, 'taken.png')),
      'EEXIST',
      /taken\.png already exists/,
    );
    await expectRefusal(
      dir,
      () => createImage(join(dir, 'a.raw'), { width: 2, height: 2 }),
      'EEXIST',
      /a\.raw already exists/,
    );
  });

  it('with overwrite, replaces the output and its sidecar', async () => {
    const dir = folder();
    await createImage(join(dir, 'a.raw'), { width: 8, height: 8 });
    await importImage(COFFEE, join(dir, 'a.raw'), { overwrite: true });
    expect((await readSidecar(join(dir, 'a.raw')))?.width).toBe(600);
    await createImage(join(dir, 'a.raw'), { width: 3, height: 2, type: 'int16', overwrite: true });
    expect(await readSidecar(join(dir, 'a.raw'))).toMatchObject({ width: 3, height: 2, sampleType: 'int16' });
    writeFileSync(join(dir, 'out.png'), 'old');
    await exportImage(join(dir, 'a.raw'), join(dir, 'out.png'), { overwrite: true });
    expect((await sharp(join(dir, 'out.png')).metadata()).width).toBe(3);
    await previewImage(join(dir, 'a.raw'), join(dir, 'out.png'), { overwrite: true });
    expect((await sharp(join(dir, 'out.png')).metadata()).depth).toBe('uchar');
    expect(readdirSync(dir).sort()).toEqual(['a.raw', 'a.raw.json', 'out.png']);
  });

  it('export, preview and info: missing, corrupt, mismatched or contradicted sidecars', async () => {
    const dir = folder();
    const raw = join(dir, 'r.raw');
    writeFileSync(raw, Buffer.alloc(4 * 3 * 8));
    const out = join(dir, 'o.png');
    await expectRefusal(
      dir,
      () => exportImage(raw, out),
      'ERR_SIDECAR_MISSING',
      /r\.raw has no sidecar \(.*r\.raw\.json\); give its width and height/,
    );
    await expectRefusal(dir, () => previewImage(raw, out), 'ERR_SIDECAR_MISSING', /has no sidecar/);
    await expectRefusal(dir, () => imageInfo(raw), 'ERR_SIDECAR_MISSING', /has no sidecar/);
    await expectRefusal(
      dir,
      () => exportImage(raw, out, { width: 4, height: 4 }),
      'ERR_SIZE_MISMATCH',
      /^4x4 pixels make 128 bytes but .*r\.raw holds 96 bytes$/,
    );
    writeFileSync(`${raw}.json`, '{"width": 4, "height": 3');
    await expectRefusal(
      dir,
      () => exportImage(raw, out),
      'ERR_SIDECAR_INVALID',
      /r\.raw\.json is not valid JSON$/,
    );
    writeFileSync(
      `${raw}.json`,
      JSON.stringify({ width: 4, height: 4, channels: 4, sampleType: 'uint16', byteOrder: 'little' }),
    );
    await expectRefusal(
      dir,
      () => exportImage(raw, out),
      'ERR_SIDECAR_MISMATCH',
      /says 4x4 pixels \(128 bytes\) but the raw file holds 96 bytes$/,
    );
    await expectRefusal(dir, () => imageInfo(raw), 'ERR_SIDECAR_MISMATCH', /says 4x4 pixels/);
    writeFileSync(
      `${raw}.json`,
      JSON.stringify({ width: 4, height: 3, channels: 4, sampleType: 'uint16', byteOrder: 'little' }),
    );
    await expectRefusal(
      dir,
      () => exportImage(raw, out, { type: 'int16', width: 4 }),
      'ERR_SIDECAR_CONFLICT',
      /says 4x3 uint16 but the options say type int16$/,
    );
    await expectRefusal(dir, () => exportImage(join(dir, 'gone.raw'), out), 'ENOENT', /gone\.raw/);
    await expectRefusal(dir, () => imageInfo(join(dir, 'gone.raw')), 'ENOENT', /gone\.raw/);
  });

  it('export: an unsupported output format, the input itself, a bad compression level', async () => {
    const dir = folder();
    const raw = join(dir, 'r.raw');
    await createImage(raw, { width: 4, height: 3 });
    await expectRefusal(
      dir,
      () => exportImage(raw, join(dir, 'o.jpg')),
      'ERR_UNSUPPORTED_FORMAT',
      /must end in \.png, \.tif or \.tiff$/,
    );
    await expectRefusal(
      dir,
      () => previewImage(raw, join(dir, 'o.tif')),
      'ERR_UNSUPPORTED_FORMAT',
      /must end in \.png$/,
    );
    await expectRefusal(
      dir,
      () => exportImage(raw, raw, { overwrite: true }),
      'ERR_UNSUPPORTED_FORMAT',
      /r\.raw/,
    );
    const png = join(dir, 'r.png');
    await expectRefusal(
      dir,
      () => exportImage(png, png, { overwrite: true }),
      'ERR_SAME_FILE',
      /onto itself$/,
    );
    await expectRefusal(
      dir,
      () => exportImage(raw, join(dir, 'o.png'), { compressionLevel: 10 }),
      'ERR_INVALID_ARG_VALUE',
      /for compressionLevel/,
    );
  });
});

describe('an interrupted run', () => {
  it('never leaves a file that looks finished: killed mid-create, the raw file and sidecar do not exist', async () => {
    const dir = folder();
    const child = spawn(
      'node',
      [CLI, 'create', join(dir, 'big.raw'), '--width', '16384', '--height', '4096'],
      {
        stdio: 'ignore',
      },
    );
    const exited = new Promise((done) => child.on('exit', done));
    // Wait for the work in progress to appear, then kill the process without warning.
    const deadline = Date.now() + 20_000;
    while (!readdirSync(dir).some((name) => name.includes('.rawbright-')) && Date.now() < deadline) {
      await new Promise((done) => setTimeout(done, 2));
    }
    child.kill('SIGKILL');
    await exited;
    const names = readdirSync(dir);
    expect(names).not.toContain('big.raw');
    expect(names).not.toContain('big.raw.json');
    expect(names.every((name) => /^\.big\.raw(\.json)?\.rawbright-\d+-\w+\.tmp$/.test(name))).toBe(true);
  });
});

describe('the CLI', () => {
  function rawbright(...args: string[]) {
    return spawnSync('node', [CLI, ...args], { encoding: 'utf8' });
  }
  function expectOneLineError(result: ReturnType<typeof rawbright>, status: number, message: RegExp) {
    expect(result.status).toBe(status);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^rawbright: [^\n]+\n$/);
    expect(result.stderr).toMatch(message);
  }

  it('create, info, export, import, preview: exit 0 and one line each', () => {
    const dir = folder();
    const raw = join(dir, 'c.raw');
    const created = rawbright(
      'create',
      raw,
      '--width',
      '120',
      '--height',
      '80',
      '--type',
      'int16',
      '--pattern',
      'noise',
      '--seed',
      '4',
    );
    expect(created.stderr).toBe('');
    expect(created.status).toBe(0);
    expect(created.stdout).toMatch(
      /^created .*c\.raw: 120x80 int16 noise \(seed 4\), 75 KiB in [\d.]+ s \(.*\), sidecar .*c\.raw\.json\n$/,
    );

    const info = rawbright('info', raw);
    expect(info.status).toBe(0);
    expect(info.stdout).toMatch(/pixels {4}120 x 80 \(9600\), 4 channels RGBA, int16 little-endian/);
    expect(info.stdout).toMatch(/^alpha +32767 +32767 +32767\.00$/m);
    const json = JSON.parse(rawbright('info', raw, '--json').stdout);
    expect(json).toMatchObject({ width: 120, height: 80, sampleType: 'int16', bytes: 76800 });

    const exported = rawbright('export', raw, join(dir, 'c.tif'), '--compression', '6');
    expect(exported.status).toBe(0);
    expect(exported.stdout).toMatch(
      /^exported .*c\.raw \(120x80 int16, samples \+ 32768\) -> .*c\.tif: 16-bit TIFF, .*\n$/,
    );

    const imported = rawbright('import', join(dir, 'c.tif'), join(dir, 'back.raw'));
    expect(imported.status).toBe(0);
    expect(imported.stdout).toMatch(
      /^imported .*c\.tif \(tiff, 16-bit, 4 channels\) -> .*back\.raw: 120x80 uint16 RGBA, .*\n$/,
    );
    expect(readFileSync(join(dir, 'back.raw')).equals(offsetInt16(readFileSync(raw)))).toBe(true);

    const preview = rawbright(
      'preview',
      join(dir, 'back.raw'),
      join(dir, 'p.png'),
      '--width',
      '60',
      '--json',
    );
    expect(preview.status).toBe(0);
    expect(JSON.parse(preview.stdout)).toMatchObject({ width: 60, height: 40 });
    expect(existsSync(join(dir, 'p.png'))).toBe(true);
  });

  it('exits 1 with one line for a runtime failure, for every command', () => {
    const dir = folder();
    const missing = join(dir, 'missing.raw');
    expectOneLineError(
      rawbright('info', missing),
      1,
      /cannot open .*missing\.raw: no such file or directory/,
    );
    expectOneLineError(rawbright('export', missing, join(dir, 'o.png')), 1, /missing\.raw/);
    expectOneLineError(rawbright('preview', missing, join(dir, 'o.png')), 1, /missing\.raw/);
    expectOneLineError(
      rawbright('import', join(dir, 'missing.png'), join(dir, 'o.raw')),
      1,
      /missing\.png: no such file/,
    );
    rawbright('create', join(dir, 'x.raw'), '--width', '2', '--height', '2');
    expectOneLineError(
      rawbright('create', join(dir, 'x.raw'), '--width', '2', '--height', '2'),
      1,
      /x\.raw already exists; use --overwrite/,
    );
    expect(readdirSync(dir).sort()).toEqual(['x.raw', 'x.raw.json']);
  });

  it('exits 2 with one line for a usage error', () => {
    const dir = folder();
    const raw = join(dir, 'u.raw');
    expectOneLineError(
      rawbright('create', raw, '--width', 'abc', '--height', '2'),
      2,
      /--width must be a whole number, not "abc"/,
    );
    expectOneLineError(
      rawbright('create', raw, '--width', '2'),
      2,
      /required option '--height <pixels>' not specified/,
    );
    expectOneLineError(
      rawbright('create', raw, '--width', '0', '--height', '2'),
      2,
      /Expected an integer from 1 to 2147483647 for width but received 0/,
    );
    expectOneLineError(
      rawbright('create', raw, '--width', '2', '--height', '2', '--pattern', 'plaid'),
      2,
      /--pattern must be one of gradient, noise/,
    );
    expectOneLineError(
      rawbright('export', raw, join(dir, 'o.png'), '--type', 'float'),
      2,
      /--type must be one of uint16, int16/,
    );
    expectOneLineError(
      rawbright('export', raw, join(dir, 'o.png'), '--compression', '11'),
      2,
      /for compressionLevel/,
    );
    expectOneLineError(rawbright('info'), 2, /missing required argument 'raw'/);
    expect(readdirSync(dir)).toEqual([]);
  });
});
