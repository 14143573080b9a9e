import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createImage, imageInfo } from '../../dist/index.js';
import { folder } from '../helpers/convert.js';

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
