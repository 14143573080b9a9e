// `rawbright adjust`: ops in command-line order, checked against numpy (another program's float64 and rint),
// bad values refused with the file unchanged, every brighten option passed through, brighten --by = adjust --add.
import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { adjustFlags, type Step } from '../helpers/adjust-reference.js';
import { randomBytes, sha256, tempDir, writeRaw } from '../helpers/raw.js';

const CLI = new URL('../../dist/cli/index.js', import.meta.url).pathname;
const tmp = tempDir();
afterAll(() => tmp.cleanup());

function rawbright(args: string[]): SpawnSyncReturns<string> {
  return spawnSync('node', [CLI, ...args], { encoding: 'utf8' });
}

let counter = 0;
function fixture(bytes: Buffer): string {
  const path = join(tmp.dir, `adjust-${counter++}.raw`);
  writeRaw(path, bytes);
  return path;
}

const PYTHON = '/usr/bin/python3';
const hasNumpy = spawnSync(PYTHON, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

/** The chain by numpy on an RGBA uint16 file, alpha left alone. `steps` are numpy expressions of c. */
function numpyAdjust(path: string, steps: string[]): Buffer {
  const script = [
    'import numpy as np, sys',
    `x = np.fromfile(${JSON.stringify(path)}, dtype='<u2').reshape(-1, 4).astype(np.float64)`,
    'lo, hi = 0.0, 65535.0',
    'c = x[:, :3]',
    ...steps.map((step) => `c = np.clip(${step}, lo, hi)`),
    'x[:, :3] = np.rint(c)',
    "sys.stdout.buffer.write(x.astype('<u2').tobytes())",
  ].join('\n');
  const run = spawnSync(PYTHON, ['-c', script], { maxBuffer: 64 * 1024 * 1024 });
  expect(run.status, run.stderr?.toString()).toBe(0);
  return run.stdout;
}

describe('rawbright adjust', () => {
  const input = randomBytes(1024 * 1024 + 8 * 13, 5);

  it.runIf(hasNumpy)('applies ops in command-line order, as numpy computes them', () => {
    const a = fixture(input);
    const b = fixture(input);
    const wantA = numpyAdjust(a, [
      '(c - np.array([500., 600., 700.])) * (hi - lo) / (np.array([60000., 61000., 62000.]) - np.array([500., 600., 700.])) + lo',
      'c * 1.1',
      'lo + (hi - lo) * np.power((c - lo) / (hi - lo), 1 / 2.2)',
      'c + -3.5',
      'hi + lo - c',
    ]);
    const runA = rawbright([
      'adjust',
      a,
      '--levels',
      '500:60000,600:61000,700:62000',
      '--gain',
      '1.1',
      '--gamma',
      '2.2',
      '--add',
      '-3.5',
      '--invert',
      '--window',
      '256KiB',
    ]);
    expect(runA.status, runA.stderr).toBe(0);
    expect(runA.stdout).toMatch(/^adjusted /);
    expect(readFileSync(a).equals(wantA)).toBe(true);
    // The same ops in another order give another result: invert first, then add.
    const wantB = numpyAdjust(b, ['hi + lo - c', 'c + 1000', 'c * np.array([1.0, 0.5, 2.0])']);
    const runB = rawbright(['adjust', b, '--invert', '--add', '1000', '--gain', '1,0.5,2', '--kernel', 'js']);
    expect(runB.status, runB.stderr).toBe(0);
    expect(readFileSync(b).equals(wantB)).toBe(true);
  });

  it('adjust --add N equals brighten --by N, with --json and --out', () => {
    const a = fixture(input);
    const b = fixture(input);
    const outA = join(tmp.dir, 'out-a.raw');
    const outB = join(tmp.dir, 'out-b.raw');
    const adjust = rawbright(['adjust', a, '--add', '-2500', '--type', 'int16', '--out', outA, '--json']);
    const brighten = rawbright(['brighten', b, '--by', '-2500', '--type', 'int16', '--out', outB]);
    expect(adjust.status, adjust.stderr).toBe(0);
    expect(brighten.status, brighten.stderr).toBe(0);
    expect(JSON.parse(adjust.stdout)).toMatchObject({ path: a, out: outA });
    expect(sha256(outA)).toBe(sha256(outB));
    expect(readFileSync(a).equals(input)).toBe(true);
  });

  const bad: [string, string[]][] = [
    ['gain below 0', ['--gain', '-0.5']],
    ['levels B = W', ['--levels', '100:100']],
    ['levels B > W', ['--levels', '200:100']],
    ['gamma 0', ['--gamma', '0']],
    ['NaN', ['--add', 'NaN']],
    ['Infinity', ['--gain', 'Infinity']],
    ['a value that is no number', ['--gain', 'x']],
    ['more values than bands', ['--gain', '1,1,1,1,1']],
    ['two values for four bands', ['--gamma', '1,2']],
    ['levels without a colon', ['--levels', '100']],
    ['no op at all', []],
  ];
  for (const [name, args] of bad) {
    it(`refuses ${name} in one line and changes nothing`, () => {
      const path = fixture(input);
      const run = rawbright(['adjust', path, ...args]);
      expect(run.status).toBe(2);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(readFileSync(path).equals(input)).toBe(true);
    });
  }

  it('refuses an unknown op flag', () => {
    const path = fixture(input);
    const run = rawbright(['adjust', path, '--sharpen', '2']);
    expect(run.status).not.toBe(0);
    expect(readFileSync(path).equals(input)).toBe(true);
  });
});

/**
 * Other programs' files (python3 tifffile, astropy; netpbm), adjusted through the CLI, read back by the same
 * program and compared with the chain computed by numpy in float64 (np.clip after every op, np.rint at the end),
 * independently of rawbright's code.
 */
const OTHER = `
import json, sys
import numpy as np
kind, path, orig, chain = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
def run(x, lo, hi):
    c = x.astype(np.float64)
    for op in chain:
        if op[0] == 'add': c = c + op[1]
        elif op[0] == 'gain': c = c * op[1]
        elif op[0] == 'levels': c = (c - op[1]) * (hi - lo) / (op[2] - op[1]) + lo
        elif op[0] == 'invert': c = hi + lo - c
        c = np.clip(c, lo, hi)
    return np.rint(c)
if kind == 'make-tiff':
    import tifffile
    rng = np.random.default_rng(3)
    a = rng.integers(0, 65535, size=(61, 47, 3), endpoint=True, dtype=np.uint16)
    a.reshape(-1)[:4] = [0, 65535, 1, 65534]
    tifffile.imwrite(path, a, photometric='rgb', rowsperstrip=5)
    np.save(orig, a)
elif kind == 'make-fits':
    from astropy.io import fits
    rng = np.random.default_rng(4)
    a = rng.integers(-32768, 32767, size=(33, 41), endpoint=True, dtype=np.int16)
    a.reshape(-1)[:4] = [-32768, 32767, 0, -1]
    fits.PrimaryHDU(a).writeto(path)
    np.save(orig, a)
elif kind == 'check-tiff':
    import tifffile
    got = tifffile.imread(path).astype(np.float64)
    print(json.dumps(bool(np.array_equal(got, run(np.load(orig), 0.0, 65535.0)))))
elif kind == 'check-fits':
    from astropy.io import fits
    with fits.open(path) as f:
        got = f[0].data.astype(np.float64)
    print(json.dumps(bool(np.array_equal(got, run(np.load(orig), -32768.0, 32767.0)))))
elif kind == 'check-pgm':
    w, h, maxval = int(sys.argv[5]), int(sys.argv[6]), float(sys.argv[7])
    def raster(p):
        data = open(p, 'rb').read()
        return np.frombuffer(data[len(data) - w * h * 2:], dtype='>u2')
    got = raster(path).astype(np.float64)
    print(json.dumps(bool(np.array_equal(got, run(raster(orig), 0.0, maxval)))))
`;

function other(args: string[]): string {
  const run = spawnSync(PYTHON, ['-c', OTHER, ...args], { encoding: 'utf8' });
  expect(run.status, run.stderr).toBe(0);
  return run.stdout.trim();
}

describe("adjust on other programs' files, against numpy", () => {
  const hasAll =
    spawnSync(PYTHON, ['-c', 'import numpy, tifffile, astropy'], { stdio: 'ignore' }).status === 0 &&
    spawnSync('sh', ['-c', 'command -v pgmramp && command -v pamdepth'], { stdio: 'ignore' }).status === 0;
  // An arithmetic chain (gain then a fractional add) and a table chain (levels, gain, add, invert).
  const chains: Step[][] = [
    [
      ['gain', 1.1],
      ['add', -100.5],
    ],
    [['levels', 1000, 60000], ['gain', 1.05], ['add', -300.5], ['invert']],
  ];
  for (const kernel of ['wasm-simd', 'native', 'js']) {
    chains.forEach((chain, n) => {
      it.runIf(hasAll)(
        `${kernel}, chain ${n}: tifffile RGB TIFF, astropy int16 FITS, netpbm 16-bit PGM`,
        () => {
          const json = JSON.stringify(chain);
          const base = join(tmp.dir, `other-${kernel}-${n}`);
          for (const kind of ['tiff', 'fits'] as const) {
            const path = `${base}.${kind === 'tiff' ? 'tif' : 'fits'}`;
            other([`make-${kind}`, path, `${base}-${kind}.npy`, json]);
            const run = rawbright(['adjust', path, ...adjustFlags(chain), '--kernel', kernel]);
            expect(run.status, run.stderr).toBe(0);
            expect(other([`check-${kind}`, path, `${base}-${kind}.npy`, json])).toBe('true');
          }
          const pgm = `${base}.pgm`;
          const made = spawnSync('sh', [
            '-c',
            `pgmramp -lr 301 7 | pamdepth 65535 > ${pgm} && cp ${pgm} ${pgm}.orig`,
          ]);
          expect(made.status).toBe(0);
          const run = rawbright(['adjust', pgm, ...adjustFlags(chain), '--kernel', kernel]);
          expect(run.status, run.stderr).toBe(0);
          expect(other(['check-pgm', pgm, `${pgm}.orig`, json, '301', '7', '65535'])).toBe('true');
        },
      );
    });
  }
});

describe('kill -9 in the middle of an adjust chain, then resume', () => {
  const MiB = 1024 * 1024;
  const input = randomBytes(64 * MiB, 17);
  const WINDOWS = 256;
  const chain = ['--levels', '1000:60000', '--gain', '1.05', '--gamma', '1.8', '--add', '-20.5', '--invert'];

  /** Windows the journal's done map counts (it starts at byte 4096 of the journal). */
  function windowsDone(path: string): number {
    try {
      const fd = openSync(`${path}.rawbright-journal`, 'r');
      const map = Buffer.alloc(WINDOWS);
      readSync(fd, map, 0, WINDOWS, 4096);
      closeSync(fd);
      return map.reduce((sum, byte) => sum + byte, 0);
    } catch {
      return 0;
    }
  }

  it('resume gives the bytes of the uninterrupted run (and numpy agrees)', async () => {
    const reference = fixture(input);
    const whole = rawbright(['adjust', reference, ...chain, '--window', '256KiB']);
    expect(whole.status, whole.stderr).toBe(0);
    let resumed = 0;
    for (const fraction of [0.2, 0.5, 0.8]) {
      const path = fixture(input);
      // The js kernel and small windows make the run long enough to be killed in the middle.
      const child = spawn('node', [CLI, 'adjust', path, ...chain, '--window', '256KiB', '--kernel', 'js'], {
        stdio: 'ignore',
      });
      let running = true;
      const exited = new Promise<void>((r) =>
        child.on('exit', () => {
          running = false;
          r();
        }),
      );
      while (running && windowsDone(path) < fraction * WINDOWS) await new Promise((r) => setTimeout(r, 1));
      child.kill('SIGKILL');
      await exited;
      if (existsSync(`${path}.rawbright-journal`)) {
        const resume = rawbright(['resume', path]);
        expect(resume.status, resume.stderr).toBe(0);
        expect(resume.stdout).toMatch(/^resumed: /);
        resumed++;
      }
      expect(readFileSync(path).equals(readFileSync(reference))).toBe(true);
      expect(existsSync(`${path}.rawbright-journal`)).toBe(false);
    }
    expect(resumed).toBeGreaterThanOrEqual(2);
    if (hasNumpy) {
      const fresh = fixture(input);
      const want = numpyAdjust(fresh, [
        '(c - 1000.) * (hi - lo) / (60000. - 1000.) + lo',
        'c * 1.05',
        'lo + (hi - lo) * np.power((c - lo) / (hi - lo), 1 / 1.8)',
        'c + -20.5',
        'hi + lo - c',
      ]);
      expect(readFileSync(reference).equals(want)).toBe(true);
    }
  }, 120_000);
});
