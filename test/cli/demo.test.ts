import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, expect, it } from 'vitest';
import { expectedBrighten, tempDir } from '../helpers/raw.js';

const DEMO = new URL('../../dist/demo.js', import.meta.url).pathname;
const tmp = tempDir();
afterAll(() => tmp.cleanup());

it('npm start (the demo) imports, brightens in place, exports and draws a before/after picture', async () => {
  // Asynchronous, so a slow machine never keeps this worker from answering vitest.
  const result = await promisify(execFile)(process.execPath, [DEMO, tmp.dir]);
  expect(result.stderr).toBe('');
  expect(result.stdout).toMatch(/8 windows overlaid into wasm memory \(mmap, wasm-simd\)/);
  for (const kernel of ['js', 'wasm', 'wasm-simd', 'native']) {
    expect(result.stdout).toMatch(new RegExp(`^  ${kernel} +\\d+\\.\\d+ GB/s`, 'm'));
  }
  const original = readFileSync(join(tmp.dir, 'astronaut-original.raw'));
  const brightened = readFileSync(join(tmp.dir, 'astronaut.raw'));
  expect(original.length).toBe(512 * 512 * 8);
  expect(brightened.equals(expectedBrighten(original, 12000))).toBe(true);
  const exported = await sharp(join(tmp.dir, 'astronaut-brightened.png')).metadata();
  expect(exported).toMatchObject({ width: 512, height: 512, depth: 'ushort' });
  const comparison = await sharp(join(tmp.dir, 'before-after.png')).metadata();
  expect(comparison).toMatchObject({ width: 512 * 2 + 16, height: 512 });
  expect(existsSync(join(tmp.dir, 'astronaut.raw.rawbright-journal'))).toBe(false);
  // The whole demo (import, eight windows, four kernels timed, export, picture): ~40 s on a loaded machine.
}, 180_000);
