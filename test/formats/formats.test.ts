/**
 * Files written by other programs (tifffile, astropy, netpbm), brightened in place and with --out, then
 * read back by those programs; every byte outside the pixel data (as the writing library reports it)
 * unchanged; files rawbright must not change refused before a byte changes; damaged headers refused.
 */
import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brightenFiles } from '../../dist/index.js';
import { sha256, tempDir } from '../helpers/raw.js';

const CLI = new URL('../../dist/cli/index.js', import.meta.url).pathname;
const HELPER = new URL('./other-programs.py', import.meta.url).pathname;
/** Debian's python3, where python3-tifffile and python3-astropy are installed (`.ci/run` installs them). */
const PYTHON = '/usr/bin/python3';
const DELTA = 1234;
const tmp = tempDir();
afterAll(() => tmp.cleanup());

function rawbright(args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
}

function python(args: string[]): string {
  const result = spawnSync(PYTHON, [HELPER, ...args], { encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) {
    throw new Error(
      `${PYTHON} ${args[0]} failed (are python3-tifffile, python3-astropy and python3-numpy installed? .ci/run installs them): ${result.stderr}`,
    );
  }
  return result.stdout;
}

type Manifest = Record<string, { extents: [number, number][]; kind: string }>;

/** Bytes outside the extents must be identical. */
function outsideExtentsEqual(before: Buffer, after: Buffer, extents: [number, number][]): boolean {
  if (before.length !== after.length) return false;
  const inside = new Uint8Array(before.length);
  for (const [offset, length] of extents) inside.fill(1, offset, offset + length);
  for (let i = 0; i < before.length; i++) if (!inside[i] && before[i] !== after[i]) return false;
  return true;
}

describe('files written by tifffile and astropy', () => {
  const dir = join(tmp.dir, 'others');
  let manifest: Manifest;

  beforeAll(() => {
    spawnSync('mkdir', ['-p', dir]);
    manifest = JSON.parse(python(['make', dir]));
    for (const name of Object.keys(manifest)) copyFileSync(join(dir, name), join(dir, `orig-${name}`));
  });

  it('are brightened in place: the writer reads back the expected samples, every other byte is unchanged', () => {
    const names = Object.keys(manifest);
    const result = rawbright([
      'brighten',
      ...names.map((n) => join(dir, n)),
      '--by',
      String(DELTA),
      '--json',
    ]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(JSON.parse(python(['check', dir, String(DELTA)]))).toEqual(
      Object.fromEntries(names.map((n) => [n, true])),
    );
    for (const name of names) {
      const before = readFileSync(join(dir, `orig-${name}`));
      const after = readFileSync(join(dir, name));
      expect(after.equals(before), `${name} changed`).toBe(false);
      expect(outsideExtentsEqual(before, after, manifest[name]!.extents), `${name} outside its pixels`).toBe(
        true,
      );
    }
    expect(readdirSync(dir).filter((n) => n.includes('rawbright'))).toEqual([]);
  });

  it('a batch on worker threads (brightenFiles), the worker kept from file to file and layout to layout, gives the same samples', async () => {
    // Another folder of the same files, on a worker thread kept between runs (each file's own arena size
    // gives it its own kernel): TIFF strips, tiles, planar, BigTIFF of either byte order, int16, a FITS with
    // a BZERO.
    const batch = join(tmp.dir, 'others-on-workers');
    spawnSync('mkdir', ['-p', batch]);
    const made: Manifest = JSON.parse(python(['make', batch]));
    const names = Object.keys(made);
    for (const name of names) copyFileSync(join(batch, name), join(batch, `orig-${name}`));
    const reports = await brightenFiles(
      names.map((n) => join(batch, n)),
      { by: DELTA, workers: 1 },
    );
    expect(reports.map((r) => r.thread)).toEqual(names.map(() => 'worker'));
    expect(JSON.parse(python(['check', batch, String(DELTA)]))).toEqual(
      Object.fromEntries(names.map((n) => [n, true])),
    );
    expect(readdirSync(batch).filter((n) => n.includes('rawbright'))).toEqual([]);
  });

  it('info describes each file from its own header, with per-band statistics', () => {
    const result = rawbright(['info', join(dir, 'orig-mixed.fits'), '--json']);
    expect(result.status).toBe(0);
    const info = JSON.parse(result.stdout);
    expect(info.format).toBe('fits');
    expect(info.extents.map(([offset, length]: number[]) => [offset, length])).toEqual(
      manifest['mixed.fits']!.extents,
    );
    expect(info.images.map((i: { changed: boolean }) => i.changed)).toEqual([true, false, true]);
    // The unsigned primary image holds 0 and 65535 (the helper plants the extremes): BZERO is applied.
    expect(info.stats[0]).toMatchObject({ layout: 0, band: 0, min: 0, max: 65535 });
    const tiff = JSON.parse(rawbright(['info', join(dir, 'orig-tiles-rgba.tif'), '--json']).stdout);
    expect(tiff.layouts).toEqual([{ type: 'uint16', byteOrder: 'little', bands: 4, hasAlpha: true }]);
    expect(tiff.stats).toHaveLength(4);
  });

  it('with --out: the input is untouched and the output equals the in-place result', () => {
    for (const name of ['strips-rgb.tif', 'planar-rgba.tif', 'mixed.fits']) {
      const input = join(dir, `orig-${name}`);
      const before = sha256(input);
      const out = join(dir, `out-${name}`);
      const result = rawbright(['brighten', input, '--by', String(DELTA), '--out', out]);
      expect(result.stderr).toBe('');
      expect(sha256(input)).toBe(before);
      expect(readFileSync(out).equals(readFileSync(join(dir, name)))).toBe(true);
    }
  });
});

describe('PNM written by netpbm and by hand', () => {
  /** Big-endian samples, saturating at maxval. */
  function expectedPnm(
    data: Buffer,
    start: number,
    maxval: number,
    delta: number,
    bands = 1,
    alpha = -1,
  ): Buffer {
    const out = Buffer.from(data);
    for (let at = start, i = 0; at + 1 < out.length; at += 2, i++) {
      if (i % bands === alpha) continue;
      out.writeUInt16BE(Math.min(maxval, Math.max(0, out.readUInt16BE(at) + delta)), at);
    }
    return out;
  }

  it('a 12-bit PGM from pgmramp | pamdepth saturates at its maxval', () => {
    const made = spawnSync('sh', ['-c', 'pgmramp -lr 300 20 | pamdepth 4095'], { maxBuffer: 1 << 24 });
    expect(made.status, 'netpbm (pgmramp, pamdepth) is needed: .ci/run installs it').toBe(0);
    const path = join(tmp.dir, 'ramp.pgm');
    writeFileSync(path, made.stdout);
    const header = 'P5\n300 20\n4095\n'.length;
    expect(made.stdout.subarray(0, header).toString('latin1')).toBe('P5\n300 20\n4095\n');
    const expected = expectedPnm(made.stdout, header, 4095, 3000);
    const result = rawbright(['brighten', path, '--by', '3000']);
    expect(result.stderr).toBe('');
    expect(readFileSync(path).equals(expected)).toBe(true);
    // netpbm reads it back: pamdepth to 65535 works only on a well-formed file.
    expect(spawnSync('sh', ['-c', `pamfile ${path}`], { encoding: 'utf8' }).stdout).toMatch(
      /300 by 20.*maxval 4095/,
    );
  });

  it('a PAM with RGB_ALPHA leaves alpha alone, and --alpha changes it', () => {
    const header = 'P7\nWIDTH 5\nHEIGHT 3\nDEPTH 4\nMAXVAL 65535\nTUPLTYPE RGB_ALPHA\nENDHDR\n';
    const samples = Buffer.alloc(5 * 3 * 4 * 2);
    for (let i = 0; i < samples.length / 2; i++) samples.writeUInt16BE((i * 7919) % 65536, i * 2);
    const file = Buffer.concat([Buffer.from(header, 'latin1'), samples]);
    const path = join(tmp.dir, 'rgba.pam');
    writeFileSync(path, file);
    expect(rawbright(['brighten', path, '--by', '-500']).status).toBe(0);
    expect(readFileSync(path).equals(expectedPnm(file, header.length, 65535, -500, 4, 3))).toBe(true);
    writeFileSync(path, file);
    expect(rawbright(['brighten', path, '--by', '-500', '--alpha']).status).toBe(0);
    expect(readFileSync(path).equals(expectedPnm(file, header.length, 65535, -500))).toBe(true);
  });
});

describe('headerless raw of any layout', () => {
  it('--bands 3 --byte-order big --header 100 --type int16', () => {
    const header = Buffer.from('x'.repeat(100));
    const samples = Buffer.alloc(6 * 1001);
    for (let i = 0; i < samples.length / 2; i++) samples.writeInt16BE(((i * 40503) % 65536) - 32768, i * 2);
    const path = join(tmp.dir, 'layout.raw');
    writeFileSync(path, Buffer.concat([header, samples]));
    const result = rawbright([
      'brighten',
      path,
      '--by',
      '20000',
      '--bands',
      '3',
      '--byte-order',
      'big',
      '--header',
      '100',
      '--type',
      'int16',
    ]);
    expect(result.stderr).toBe('');
    const expected = Buffer.from(samples);
    for (let at = 0; at < expected.length; at += 2) {
      expected.writeInt16BE(Math.min(32767, expected.readInt16BE(at) + 20000), at);
    }
    expect(readFileSync(path).equals(Buffer.concat([header, expected]))).toBe(true);
  });

  it('the same file named twice in one command is brightened once', () => {
    const path = join(tmp.dir, 'twice.raw');
    writeFileSync(path, Buffer.alloc(64, 0));
    const result = rawbright(['brighten', path, join(tmp.dir, '.', 'twice.raw'), '--by', '5']);
    expect(result.status).toBe(0);
    expect(readFileSync(path).readUInt16LE(0)).toBe(5);
  });
});

describe('files rawbright must not change are refused before a byte changes', () => {
  const dir = join(tmp.dir, 'refused');

  beforeAll(() => {
    spawnSync('mkdir', ['-p', dir]);
    const script = `
import numpy as np, tifffile, zipfile, os
from astropy.io import fits
d = ${JSON.stringify(dir)}
a = np.arange(64 * 32, dtype=np.uint16).reshape(64, 32)
tifffile.imwrite(os.path.join(d, 'zlib.tif'), a, compression='zlib')
tifffile.imwrite(os.path.join(d, '8bit.tif'), np.zeros((64, 64), np.uint8))
tifffile.imwrite(os.path.join(d, 'float.tif'), np.zeros((32, 32), np.float32))
tifffile.imwrite(os.path.join(d, '32bit.tif'), np.zeros((32, 32), np.uint32))
fits.PrimaryHDU(np.zeros((16, 16), np.float32)).writeto(os.path.join(d, 'float.fits'))
with zipfile.ZipFile(os.path.join(d, 'archive.zip'), 'w') as z:
    z.writestr('a.txt', 'x' * 5000)
`;
    const made = spawnSync(PYTHON, ['-c', script], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`python3-tifffile/astropy are needed: ${made.stderr}`);
    writeFileSync(
      join(dir, 'grey8.pgm'),
      Buffer.concat([Buffer.from('P5\n8 8\n255\n'), Buffer.alloc(64, 9)]),
    );
    copyFileSync(new URL('../../samples/coffee.png', import.meta.url).pathname, join(dir, 'coffee.png'));
    const gzip = spawnSync('gzip', ['-c', CLI]);
    writeFileSync(join(dir, 'script.gz'), gzip.stdout);
    // An ELF executable, padded to a multiple of 8 bytes so that size alone would not stop it.
    const elf = readFileSync('/bin/true');
    writeFileSync(join(dir, 'program'), Buffer.concat([elf, Buffer.alloc((8 - (elf.length % 8)) % 8)]));
  });

  const expectations: [string, RegExp][] = [
    ['zlib.tif', /is a Deflate-compressed TIFF .*rawbright import/],
    ['8bit.tif', /8-bit samples/],
    ['float.tif', /floating-point/],
    ['32bit.tif', /32-bit samples/],
    ['float.fits', /without a 16-bit integer image/],
    ['grey8.pgm', /8-bit Netpbm image/],
    [
      'coffee.png',
      /looks like a PNG image; rawbright changes raw 16-bit pixel data in place: convert it with `rawbright import` first/,
    ],
    ['archive.zip', /looks like a zip archive/],
    ['script.gz', /looks like a gzip-compressed file/],
    ['program', /looks like an ELF executable/],
  ];

  it.each(expectations)('%s: one line, exit 1, unchanged', (name, message) => {
    const path = join(dir, name);
    const before = sha256(path);
    const result = rawbright(['brighten', path, '--by', '100']);
    expect(result.signal).toBeNull();
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(message);
    expect(sha256(path)).toBe(before);
    expect(existsSync(`${path}.rawbright-journal`)).toBe(false);
  });

  it('flags that contradict what a file says about itself are errors', () => {
    const path = join(tmp.dir, 'contradict.pgm');
    writeFileSync(path, Buffer.concat([Buffer.from('P5\n2 2\n65535\n'), Buffer.alloc(8)]));
    const before = sha256(path);
    for (const flags of [
      ['--bands', '3'],
      ['--byte-order', 'little'],
      ['--header', '10'],
      ['--type', 'int16'],
    ]) {
      const result = rawbright(['brighten', path, '--by', '1', ...flags]);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/Netpbm file/);
    }
    expect(sha256(path)).toBe(before);
  });
});

describe('damaged headers: a one-line error, never a crash, a hang or a write', () => {
  /** A small uncompressed little-endian TIFF written by hand: one strip of 4×2 grey pixels. */
  function tinyTiff(patch?: (b: Buffer) => void): Buffer {
    const b = Buffer.alloc(8 + 2 + 8 * 12 + 4 + 16);
    b.write('II', 0, 'latin1');
    b.writeUInt16LE(42, 2);
    b.writeUInt32LE(8, 4);
    b.writeUInt16LE(8, 8);
    const entries: [number, number, number][] = [
      [256, 3, 4],
      [257, 3, 2],
      [258, 3, 16],
      [259, 3, 1],
      [262, 3, 1],
      [273, 4, 110],
      [277, 3, 1],
      [279, 4, 16],
    ];
    entries.forEach(([tag, type, value], i) => {
      const at = 10 + i * 12;
      b.writeUInt16LE(tag, at);
      b.writeUInt16LE(type, at + 2);
      b.writeUInt32LE(1, at + 4);
      if (type === 3) b.writeUInt16LE(value, at + 8);
      else b.writeUInt32LE(value, at + 8);
    });
    b.writeUInt32LE(0, 10 + 8 * 12);
    patch?.(b);
    return b;
  }

  it('the hand-written TIFF itself is accepted (so the damages below are what is refused)', () => {
    const path = join(tmp.dir, 'tiny.tif');
    const bytes = tinyTiff();
    writeFileSync(path, bytes);
    expect(rawbright(['brighten', path, '--by', '1']).status).toBe(0);
    const after = readFileSync(path);
    expect(after.subarray(0, 110).equals(bytes.subarray(0, 110))).toBe(true);
    expect(after.readUInt16LE(110)).toBe(1);
  });

  /** A damage that writes one 32-bit (or 16-bit) little-endian value at `offset`. */
  const write =
    (offset: number, value: number, bytes: 2 | 4 = 4) =>
    (b: Buffer): Buffer => {
      if (bytes === 2) b.writeUInt16LE(value, offset);
      else b.writeUInt32LE(value, offset);
      return b;
    };
  const damages: [string, (b: Buffer) => Buffer][] = [
    ['a directory that points to itself (a loop)', write(10 + 8 * 12, 8)],
    ['the first directory past the end', write(4, 1 << 30)],
    ['a strip past the end', write(10 + 5 * 12 + 8, 1 << 20)],
    ['an absurd entry count', write(8, 60000, 2)],
    ['a strip over its own directory', write(10 + 5 * 12 + 8, 8)],
    ['a file cut inside its directory', (b) => b.subarray(0, 40)],
    ['a strip holding half a pixel', write(10 + 7 * 12 + 8, 15)],
  ];

  it.each(damages)('TIFF: %s', (_name, damage) => {
    const path = join(tmp.dir, `damaged-${_name.replace(/\W+/g, '-')}.tif`);
    writeFileSync(path, damage(tinyTiff()));
    const before = sha256(path);
    const result = rawbright(['brighten', path, '--by', '1']);
    expect(result.signal).toBeNull();
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/damaged (Big)?TIFF file/);
    expect(sha256(path)).toBe(before);
  });

  it.each([
    [
      'cut before its END card',
      (h: string) =>
        h
          .slice(0, 2880 - 80 * 30)
          .padEnd(2880, ' ')
          .replace(/END {77}/, ''),
    ],
    [
      'NAXIS1 larger than the file',
      (h: string) => h.replace(/NAXIS1 {2}= +\d+/, `NAXIS1  = ${'9'.repeat(12).padStart(20)}`),
    ],
  ])('FITS: %s', (_name, damage) => {
    const card = (text: string) => text.padEnd(80, ' ');
    const header = [
      card('SIMPLE  =                    T'),
      card('BITPIX  =                   16'),
      card('NAXIS   =                    2'),
      card('NAXIS1  =                   10'),
      card('NAXIS2  =                   10'),
      card('END'),
    ]
      .join('')
      .padEnd(2880, ' ');
    const path = join(tmp.dir, `damaged-${_name.replace(/\W+/g, '-')}.fits`);
    writeFileSync(path, Buffer.concat([Buffer.from(damage(header), 'latin1'), Buffer.alloc(2880)]));
    const before = sha256(path);
    const result = rawbright(['brighten', path, '--by', '1']);
    expect(result.signal).toBeNull();
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/damaged FITS file/);
    expect(sha256(path)).toBe(before);
  });
});

describe('killed and resumed', () => {
  it.each(['big.tif', 'big.fits'])('%s: the result equals an uninterrupted run', async (name) => {
    const dir = join(tmp.dir, `kill-${name}`);
    spawnSync('mkdir', ['-p', dir]);
    const path = join(dir, name);
    const script = name.endsWith('.tif')
      ? `import numpy as np, tifffile; tifffile.imwrite(${JSON.stringify(path)}, np.random.default_rng(3).integers(0, 65536, (2, 1024, 2048, 3), dtype=np.uint16), photometric='rgb', rowsperstrip=64)`
      : `import numpy as np; from astropy.io import fits; fits.PrimaryHDU(np.random.default_rng(3).integers(0, 65536, (4096, 4096), dtype=np.uint16)).writeto(${JSON.stringify(path)})`;
    const made = spawnSync(PYTHON, ['-c', script], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    const reference = join(dir, `reference-${name}`);
    copyFileSync(path, reference);
    const original = sha256(path);
    expect(rawbright(['brighten', reference, '--by', '777', '--no-journal']).status).toBe(0);
    // Killed once its journal exists and part of the work is done, then resumed.
    const child = spawn(process.execPath, [
      CLI,
      'brighten',
      path,
      '--by',
      '777',
      '--window',
      '1MiB',
      '--strategy',
      'pread',
    ]);
    const journal = `${path}.rawbright-journal`;
    const deadline = Date.now() + 20_000;
    while (!existsSync(journal) && child.exitCode === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1));
    }
    await new Promise((r) => setTimeout(r, 15));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    // The kill lands part way, and resume finishes the run; or it lands while the journal is being
    // made, before any pixel changed: then there is nothing to resume and the file is as it was.
    const resumed = rawbright(['resume', path, '--json']);
    expect(resumed.stderr).toBe('');
    expect(resumed.status).toBe(0);
    expect(existsSync(journal)).toBe(false);
    const { resumed: finished } = JSON.parse(resumed.stdout) as { resumed: boolean };
    expect(sha256(path)).toBe(finished ? sha256(reference) : original);
  });
});
