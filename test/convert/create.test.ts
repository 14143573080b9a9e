import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fillGradient, fillNoise } from '../../dist/convert/create.js';
import { createImage, readSidecar } from '../../dist/index.js';
import { CLI, folder, rejection, samples16 } from '../helpers/convert.js';

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
