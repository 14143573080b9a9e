import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { createImage, previewImage } from '../../dist/index.js';
import { folder } from '../helpers/convert.js';

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
