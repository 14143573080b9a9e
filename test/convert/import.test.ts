import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { importImage, readSidecar } from '../../dist/index.js';
import { COFFEE, folder, samples16, writeImage } from '../helpers/convert.js';

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
