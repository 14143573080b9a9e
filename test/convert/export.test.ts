import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { writeTiff } from '../../dist/convert/tiff-writer.js';
import { MappedFile } from '../../dist/file/mapped-file.js';
import { createImage, exportImage, importImage } from '../../dist/index.js';
import { decode16, folder, offsetInt16 } from '../helpers/convert.js';
import { randomBytes } from '../helpers/raw.js';

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
