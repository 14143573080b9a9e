import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { expectedBrighten, randomBytes, sha256, tempDir, writeRaw } from '../helpers/raw.js';

const SCRIPT = new URL('../../samples/batch-brighten.mjs', import.meta.url).pathname;
const tmp = tempDir();
afterAll(() => tmp.cleanup());

it('samples/batch-brighten.mjs brightens every .raw in a folder through the API', () => {
  const inputs = [randomBytes(64 * 1024, 1), randomBytes(8 * 1000, 2)];
  writeRaw(join(tmp.dir, 'a.raw'), inputs[0]);
  writeRaw(join(tmp.dir, 'b.raw'), inputs[1]);
  writeRaw(join(tmp.dir, 'notes.txt'), Buffer.from('left alone'));
  const result = spawnSync('node', [SCRIPT, tmp.dir, '-500'], { encoding: 'utf8' });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  expect(result.stdout).toMatch(/2 of 2 files brightened/);
  expect(readFileSync(join(tmp.dir, 'a.raw')).equals(expectedBrighten(inputs[0], -500))).toBe(true);
  expect(readFileSync(join(tmp.dir, 'b.raw')).equals(expectedBrighten(inputs[1], -500))).toBe(true);
  expect(readFileSync(join(tmp.dir, 'notes.txt'), 'utf8')).toBe('left alone');
});

it('with --out it leaves the inputs untouched, and a bad file makes it exit 1', () => {
  const dir = join(tmp.dir, 'in');
  const out = join(tmp.dir, 'out');
  mkdirSync(dir);
  mkdirSync(out);
  writeRaw(join(dir, 'good.raw'), randomBytes(8 * 512, 3));
  writeRaw(join(dir, 'odd.raw'), Buffer.alloc(13));
  const before = sha256(join(dir, 'good.raw'));
  const result = spawnSync('node', [SCRIPT, dir, '700', '--out', out], { encoding: 'utf8' });
  expect(result.status).toBe(1);
  expect(result.stderr).toMatch(
    /odd\.raw: .*not a whole number of 8-byte RGBA16 pixels \(ERR_NOT_PIXEL_ALIGNED\)/,
  );
  expect(sha256(join(dir, 'good.raw'))).toBe(before);
  expect(
    readFileSync(join(out, 'good.raw')).equals(expectedBrighten(readFileSync(join(dir, 'good.raw')), 700)),
  ).toBe(true);
});
