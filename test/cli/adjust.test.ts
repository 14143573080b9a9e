// `rawbright adjust`: ops in command-line order, checked against numpy (another program's float64 and rint),
// bad values refused with the file unchanged, every brighten option passed through, brighten --by = adjust --add.
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
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
