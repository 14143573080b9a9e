// The .NET document's examples in their Node form (samples/dotnet-mapping): two processes on the
// persisted map "ImgA", and the BinaryWriter / BinaryReader pattern over view streams.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { expectedBrighten, randomBytes, tempDir } from '../helpers/raw.js';

const SAMPLES = new URL('../../samples/dotnet-mapping/', import.meta.url).pathname;
const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** Runs a sample with a runtime folder of its own, so its map names meet no one else's. */
function runSample(script: string, args: string[]) {
  const runtime = fs.mkdtempSync(path.join(tmp.dir, 'run-'));
  const result = spawnSync(process.execPath, [path.join(SAMPLES, script), ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, XDG_RUNTIME_DIR: runtime },
  });
  // Every name was released: the registry folder is empty.
  expect(fs.readdirSync(path.join(runtime, 'rawbright'))).toEqual([]);
  return result;
}

it('persisted.mjs and open-existing.mjs: two processes brighten two views of one named map', () => {
  const image = path.join(tmp.dir, 'image.data');
  const bytes = randomBytes(16 * 1024 * 1024, 1);
  fs.writeFileSync(image, bytes);
  const [offset, length] = [8 * 1024 * 1024, 4 * 1024 * 1024];
  const result = runSample('persisted.mjs', [image, '--offset', String(offset), '--length', String(length)]);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  expect(result.stdout).toContain(`Process two brightened 2000000 bytes from byte 4000000 of ${image} by 20`);
  expect(result.stdout).toContain('Both edits are in the file');
  // MyColor.Brighten: int16 channels, alpha included, saturating at 32767 (and never below -32768).
  const one = expectedBrighten(bytes, 10, 'int16', 'rgba', offset, length);
  const both = expectedBrighten(one, 20, 'int16', 'rgba', 4_000_000, 2_000_000);
  expect(fs.readFileSync(image).equals(both)).toBe(true);
});

it('view-streams.mjs: A, B and C write booleans through view streams and A reads them back', () => {
  const result = runSample('view-streams.mjs', []);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  expect(result.stdout).toBe('Process A says: True\nProcess B says: False\nProcess C says: True\n');
});

it('two-views.mjs: two processes brighten disjoint views of one file at once, each holding a range lock', () => {
  const [offset, length] = [8 * 1024 * 1024, 4 * 1024 * 1024];
  const result = spawnSync(
    process.execPath,
    [
      path.join(SAMPLES, 'two-views.mjs'),
      '--offset',
      String(offset),
      '--length',
      String(length),
      '--size',
      String(16 * 1024 * 1024),
    ],
    { encoding: 'utf8', timeout: 60_000 },
  );
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  expect(result.stdout).toContain('Process two holds bytes 4000000 … 6000000 (pid -1)');
  expect(result.stdout).toMatch(
    /An overlapping lock is refused: bytes 5999992…6000008 of .* \(exclusive lock on bytes 4000000…6000000; OFD locks report pid -1/,
  );
  expect(result.stdout).toContain(`Process one brightened ${length} bytes from byte ${offset} by 10`);
  expect(result.stdout).toContain('Process two brightened 2000000 bytes from byte 4000000 by 20');
  expect(result.stdout).toContain('The file equals both edits applied (16777216 bytes checked)');
});
