import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, folder, offsetInt16 } from '../helpers/convert.js';

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
      /^created .*c\.raw: 120x80 int16 noise \(seed 4\), 75 KiB in [\d.]+ m?s \(.*\), sidecar .*c\.raw\.json\n$/,
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
      /^rawbright: --width must be an integer from 1 to 2147483647, not 0\n$/,
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
      /^rawbright: --compression must be an integer from 0 to 9, not /,
    );
    expectOneLineError(rawbright('info'), 2, /missing required argument 'raw'/);
    expect(readdirSync(dir)).toEqual([]);
  });
});
