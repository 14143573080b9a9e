/** The CLI prints errors in its own words (flags, not API option names), keeping each error's code. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { brightenFile, exportImage, previewImage } from '../../dist/index.js';

const CLI = new URL('../../dist/cli/index.js', import.meta.url).pathname;
const tmp = mkdtempSync(join(tmpdir(), 'rawbright-messages-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const rawbright = (args: string[]) => spawnSync('node', [CLI, ...args], { encoding: 'utf8' });

let counter = 0;
/** A 16x8 raw file, with a uint16 sidecar unless `sidecar` is false. */
function raw(sidecar = true): string {
  const path = join(tmp, `m-${counter++}.raw`);
  writeFileSync(path, Buffer.alloc(16 * 8 * 8, 0x22));
  if (sidecar)
    writeFileSync(
      `${path}.json`,
      JSON.stringify({ width: 16, height: 8, channels: 4, sampleType: 'uint16', byteOrder: 'little' }),
    );
  return path;
}

describe('CLI error messages', () => {
  it.each([
    [
      '--by out of range',
      (f: string) => ['brighten', f, '--by', '70000'],
      2,
      '--by must be an integer from -65535 to 65535, not 70000',
    ],
    [
      '--window not pixel aligned',
      (f: string) => ['brighten', f, '--by', '1', '--window', '12'],
      2,
      '--window must be a multiple of 8 bytes (one RGBA16 pixel), not 12',
    ],
    [
      '--out exists',
      (f: string) => ['brighten', f, '--by', '1', '--out', f.replace(/\.raw$/, '.raw.json')],
      1,
      /already exists; use --overwrite to replace it$/,
    ],
    [
      '--out is the input',
      (f: string) => ['brighten', f, '--by', '1', '--out', f],
      1,
      /is the input file; leave out --out to brighten in place$/,
    ],
    [
      'export over an existing file',
      (f: string) => {
        writeFileSync(`${f}.png`, 'not yet');
        return ['export', f, `${f}.png`];
      },
      1,
      /already exists; use --overwrite to replace it$/,
    ],
    [
      'create --width 0',
      (f: string) => ['create', `${f}.new`, '--width', '0', '--height', '1'],
      2,
      '--width must be an integer from 1 to 2147483647, not 0',
    ],
    [
      'preview --raw-width 0 (preview has a --width of its own)',
      (f: string) => ['preview', f, `${f}.png`, '--raw-width', '0', '--raw-height', '8'],
      2,
      '--raw-width must be an integer from 1 to 2147483647, not 0',
    ],
    [
      'preview --raw-height 0',
      (f: string) => ['preview', f, `${f}.png`, '--raw-width', '16', '--raw-height', '0'],
      2,
      '--raw-height must be an integer from 1 to 2147483647, not 0',
    ],
    [
      "preview --width 0 is the preview's",
      (f: string) => ['preview', f, `${f}.png`, '--width', '0', '--raw-width', '16', '--raw-height', '8'],
      2,
      '--width must be an integer from 1 to 65535, not 0',
    ],
    [
      'export --raw-width contradicting the sidecar',
      (f: string) => ['export', f, `${f}.png`, '--raw-width', '3'],
      1,
      /says 16x8 uint16 but the options say --raw-width 3$/,
    ],
  ] as const)('%s', (_, args, status, expected) => {
    const path = raw();
    const result = rawbright([...args(path)]);
    expect(result.status).toBe(status);
    const line = result.stderr.replace(/^rawbright: /, '').replace(/\n$/, '');
    if (typeof expected === 'string') expect(line).toBe(expected);
    else expect(line).toMatch(expected);
    expect(result.stderr).not.toMatch(/ of type |overwrite: true|the \w+ option/);
  });

  it('a headerless flag on a TIFF names the flag', () => {
    const tif = join(tmp, 'little.tif');
    // A minimal little-endian TIFF: 1x1, one 16-bit sample, uncompressed.
    const b = Buffer.alloc(8 + 2 + 8 * 12 + 4 + 2);
    b.write('II', 0);
    b.writeUInt16LE(42, 2);
    b.writeUInt32LE(8, 4);
    b.writeUInt16LE(8, 8);
    const tags: [number, number, number][] = [
      [256, 3, 1],
      [257, 3, 1],
      [258, 3, 16],
      [259, 3, 1],
      [262, 3, 1],
      [273, 4, 8 + 2 + 96 + 4],
      [277, 3, 1],
      [279, 4, 2],
    ];
    tags.forEach(([tag, type, value], i) => {
      const at = 10 + i * 12;
      b.writeUInt16LE(tag, at);
      b.writeUInt16LE(type, at + 2);
      b.writeUInt32LE(1, at + 4);
      if (type === 3) b.writeUInt16LE(value, at + 8);
      else b.writeUInt32LE(value, at + 8);
    });
    writeFileSync(tif, b);
    const result = rawbright(['brighten', tif, '--by', '1', '--bands', '3']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/leave out --bands \(it applies to headerless raw files\)\n$/);
    expect(readFileSync(tif).equals(b)).toBe(true);
  });

  it('--json failure records carry the same words and the code', () => {
    const path = raw();
    const result = rawbright(['brighten', path, '--by', '1', '--type', 'int16', '--json']);
    expect(result.status).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({
      path,
      status: 'failed',
      code: 'ERR_SIDECAR_CONFLICT',
      message: `the sidecar ${path}.json says 16x8 uint16 but the options say --type int16`,
    });
  });

  it('the library keeps its own words', async () => {
    const path = raw();
    await expect(brightenFile(path, { by: 70000 })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
      message: 'Expected an integer from -65535 to 65535 for by but received 70000 of type number',
    });
    writeFileSync(`${path}.png`, 'not yet');
    await expect(exportImage(path, `${path}.png`)).rejects.toMatchObject({
      code: 'EEXIST',
      message: expect.stringMatching(/already exists; pass overwrite: true to replace it$/),
    });
    await expect(brightenFile(path, { by: 1, out: path })).rejects.toThrow(/leave out the out option/);
    await expect(
      previewImage(path, `${path}.small.png`, { rawWidth: 0, rawHeight: 8 }),
    ).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
      message: 'Expected an integer from 1 to 2147483647 for rawWidth but received 0 of type number',
    });
  });
});
