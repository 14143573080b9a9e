/**
 * Files written by ImageMagick (convert) and libvips (vips), adjusted and brightened in place through the
 * CLI, then read back by the program that wrote them and compared with the chain computed by numpy in
 * float64 (clip after every op, rint at the end). Bytes outside the pixel data tifffile reports stay as
 * they were; compressed files are refused untouched.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { adjustFlags, type Step } from '../helpers/adjust-reference.js';
import { tempDir } from '../helpers/raw.js';

const CLI = new URL('../../dist/cli/index.js', import.meta.url).pathname;
const PYTHON = '/usr/bin/python3';
// /usr/local/bin may hold a stand-in named convert: the real ImageMagick is Debian's.
const CONVERT = '/usr/bin/convert';
const VIPS = '/usr/bin/vips';
const tmp = tempDir();
afterAll(() => tmp.cleanup());

const W = 67;
const H = 45;

function run(command: string, args: string[]): Buffer {
  const done = spawnSync(command, args, { maxBuffer: 64 * 1024 * 1024 });
  expect(done.status, `${command} ${args.join(' ')}: ${done.stderr}`).toBe(0);
  return done.stdout;
}

function rawbright(args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
}

/** Random little-endian uint16 samples with the edge values first. */
function samples(count: number, seed: number): Buffer {
  const bytes = Buffer.alloc(2 * count);
  let x = seed;
  for (let i = 0; i < count; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    bytes.writeUInt16LE(x >>> 16, 2 * i);
  }
  for (const [i, v] of [0, 65535, 1, 65534].entries()) bytes.writeUInt16LE(v, 2 * i);
  return bytes;
}

/** The pixels as the writing program reads them back: little-endian uint16, interleaved. */
function readBack(writer: 'convert' | 'vips', path: string, map: string): Buffer {
  if (writer === 'convert') return run(CONVERT, [path, '-depth', '16', '-endian', 'LSB', `${map}:-`]);
  const out = `${path}.readback.raw`;
  run(VIPS, ['rawsave', path, out]);
  return readFileSync(out);
}

/** numpy's chain on `before` (bands interleaved; alpha, the last band, left alone) equals `after`. */
const CHECK = `
import json, sys
import numpy as np
before, after, bands, alpha, hi, chain = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == '1', float(sys.argv[5]), json.loads(sys.argv[6])
x = np.fromfile(before, dtype='<u2').reshape(-1, bands).astype(np.float64)
got = np.fromfile(after, dtype='<u2').reshape(-1, bands).astype(np.float64)
lo = 0.0
c = x[:, :bands - 1] if alpha else x
for op in chain:
    if op[0] == 'add': c = c + op[1]
    elif op[0] == 'gain': c = c * op[1]
    elif op[0] == 'levels': c = (c - op[1]) * (hi - lo) / (op[2] - op[1]) + lo
    elif op[0] == 'gamma': c = lo + (hi - lo) * ((c - lo) / (hi - lo)) ** (1.0 / op[1])
    elif op[0] == 'invert': c = hi + lo - c
    c = np.clip(c, lo, hi)
want = x.copy()
if alpha: want[:, :bands - 1] = np.rint(c)
else: want = np.rint(c)
print(json.dumps(bool(np.array_equal(got, want))))
`;

/** Byte positions that differ between two files lie inside the TIFF's strips or tiles (tifffile's view). */
const INSIDE_PIXELS = `
import sys, tifffile
a, b = open(sys.argv[1], 'rb').read(), open(sys.argv[2], 'rb').read()
with tifffile.TiffFile(sys.argv[1]) as t:
    spans = [(o, o + n) for p in t.pages for o, n in zip(p.dataoffsets, p.databytecounts)]
changed = [i for i in range(len(a)) if a[i] != b[i]]
print('true' if len(a) == len(b) and changed and all(any(s <= i < e for s, e in spans) for i in changed) else 'false')
`;

// A table chain (gamma) and an arithmetic one.
const CHAINS: Step[][] = [
  [
    ['levels', 1000, 60000],
    ['gamma', 1.8],
    ['gain', 1.05],
    ['add', -300.5],
  ],
  [['gain', 0.9], ['add', 1234], ['invert']],
];

interface Case {
  name: string;
  writer: 'convert' | 'vips';
  file: string;
  bands: number;
  alpha: boolean;
  /** The map ImageMagick reads back with (rgb, rgba, gray). */
  map: string;
  tiff: boolean;
  make: (source: string, path: string) => void;
}

const rawMap = (bands: number) => (bands === 4 ? 'rgba' : bands === 3 ? 'rgb' : 'gray');
const imFrom = (bands: number, extra: string[]) => (source: string, path: string) =>
  run(CONVERT, [
    '-size',
    `${W}x${H}`,
    '-depth',
    '16',
    '-endian',
    'LSB',
    `${rawMap(bands)}:${source}`,
    ...extra,
    path,
  ]);
const vipsFrom = (bands: number, save: string[]) => (source: string, path: string) => {
  const image = `${path}.v`;
  run(VIPS, ['rawload', source, image, String(W), String(H), String(bands), '--format', 'ushort']);
  run(VIPS, [save[0]!, image, path, ...save.slice(1)]);
};

const CASES: Case[] = [
  {
    name: 'ImageMagick RGB TIFF',
    writer: 'convert',
    file: 'im.tif',
    bands: 3,
    alpha: false,
    map: 'rgb',
    tiff: true,
    make: imFrom(3, ['-compress', 'none']),
  },
  {
    name: 'ImageMagick big-endian RGB TIFF',
    writer: 'convert',
    file: 'im-be.tif',
    bands: 3,
    alpha: false,
    map: 'rgb',
    tiff: true,
    make: imFrom(3, ['-endian', 'MSB', '-compress', 'none']),
  },
  {
    name: 'ImageMagick RGBA TIFF (alpha left alone)',
    writer: 'convert',
    file: 'im-rgba.tif',
    bands: 4,
    alpha: true,
    map: 'rgba',
    tiff: true,
    make: imFrom(4, ['-compress', 'none']),
  },
  {
    name: 'ImageMagick 16-bit PPM',
    writer: 'convert',
    file: 'im.ppm',
    bands: 3,
    alpha: false,
    map: 'rgb',
    tiff: false,
    make: imFrom(3, []),
  },
  {
    name: 'ImageMagick 16-bit PGM',
    writer: 'convert',
    file: 'im.pgm',
    bands: 1,
    alpha: false,
    map: 'gray',
    tiff: false,
    make: imFrom(1, []),
  },
  {
    name: 'libvips striped TIFF',
    writer: 'vips',
    file: 'vips.tif',
    bands: 3,
    alpha: false,
    map: 'rgb',
    tiff: true,
    make: vipsFrom(3, ['tiffsave', '--compression', 'none']),
  },
  {
    name: 'libvips tiled TIFF',
    writer: 'vips',
    file: 'vips-tiles.tif',
    bands: 3,
    alpha: false,
    map: 'rgb',
    tiff: true,
    make: vipsFrom(3, [
      'tiffsave',
      '--compression',
      'none',
      '--tile',
      '--tile-width',
      '16',
      '--tile-height',
      '16',
    ]),
  },
  {
    name: 'libvips BigTIFF',
    writer: 'vips',
    file: 'vips-big.tif',
    bands: 3,
    alpha: false,
    map: 'rgb',
    tiff: true,
    make: vipsFrom(3, ['tiffsave', '--compression', 'none', '--bigtiff']),
  },
  {
    name: 'libvips 16-bit PPM',
    writer: 'vips',
    file: 'vips.ppm',
    bands: 3,
    alpha: false,
    map: 'rgb',
    tiff: false,
    make: vipsFrom(3, ['ppmsave']),
  },
];

const hasTools =
  spawnSync(CONVERT, ['-version'], { encoding: 'utf8' }).stdout?.includes('ImageMagick') &&
  spawnSync(VIPS, ['--version'], { stdio: 'ignore' }).status === 0 &&
  spawnSync(PYTHON, ['-c', 'import numpy, tifffile'], { stdio: 'ignore' }).status === 0;

describe.runIf(hasTools)("ImageMagick's and libvips' files, adjusted in place, against numpy", () => {
  CASES.forEach((c, n) => {
    CHAINS.forEach((chain, k) => {
      it(`${c.name}, chain ${k}`, () => {
        const dir = join(tmp.dir, `case-${n}-${k}`);
        run('mkdir', ['-p', dir]);
        const source = join(dir, 'source.raw');
        writeFileSync(source, samples(W * H * c.bands, 7 + n + 31 * k));
        const path = join(dir, c.file);
        c.make(source, path);
        const original = `${path}.orig`;
        copyFileSync(path, original);
        const before = join(dir, 'before.raw');
        writeFileSync(before, readBack(c.writer, path, c.map));
        const done = rawbright(['adjust', path, ...adjustFlags(chain)]);
        expect(done.status, done.stderr).toBe(0);
        const after = join(dir, 'after.raw');
        writeFileSync(after, readBack(c.writer, path, c.map));
        const args = [before, after, String(c.bands), c.alpha ? '1' : '0', '65535', JSON.stringify(chain)];
        expect(
          run(PYTHON, ['-c', CHECK, ...args])
            .toString()
            .trim(),
        ).toBe('true');
        if (c.tiff) expect(run(PYTHON, ['-c', INSIDE_PIXELS, original, path]).toString().trim()).toBe('true');
      });
    });
  });

  it('brighten --by on the same files equals adjust --add', () => {
    const dir = join(tmp.dir, 'brighten');
    run('mkdir', ['-p', dir]);
    for (const [n, c] of CASES.entries()) {
      const source = join(dir, `${n}.raw`);
      writeFileSync(source, samples(W * H * c.bands, 99 + n));
      const a = join(dir, `a-${c.file}`);
      const b = join(dir, `b-${c.file}`);
      c.make(source, a);
      copyFileSync(a, b);
      expect(rawbright(['brighten', a, '--by', '-2500']).status).toBe(0);
      expect(rawbright(['adjust', b, '--add', '-2500']).status).toBe(0);
      expect(readFileSync(a).equals(readFileSync(b)), c.name).toBe(true);
    }
  });

  it('compressed files (ImageMagick zip, libvips LZW) are refused in one line, unchanged', () => {
    const dir = join(tmp.dir, 'compressed');
    run('mkdir', ['-p', dir]);
    const source = join(dir, 'source.raw');
    writeFileSync(source, samples(W * H * 3, 5));
    const files = [join(dir, 'zip.tif'), join(dir, 'lzw.tif')];
    imFrom(3, ['-compress', 'zip'])(source, files[0]!);
    vipsFrom(3, ['tiffsave', '--compression', 'lzw'])(source, files[1]!);
    for (const file of files) {
      const before = readFileSync(file);
      const done = rawbright(['adjust', file, '--gamma', '2']);
      expect(done.status).not.toBe(0);
      expect(done.stderr.trim().split('\n')).toHaveLength(1);
      expect(done.stderr).toMatch(/compress|Deflate|LZW|zip/i);
      expect(readFileSync(file).equals(before)).toBe(true);
    }
  });
});
