/**
 * The package's `bin` (dist/bin/rawbright.js, written by scripts/bundle-cli.mjs): brighten, resume and adjust
 * run from their bundles, every other command and the help from dist/cli/index.js. The bundles must find
 * every file their modules find beside themselves (the addon, the wasm kernels, a worker thread's script,
 * package.json) and give the bytes, lines, messages and exit codes of the unbundled command line.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { randomBytes, tempDir, writeRaw } from '../helpers/raw.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const BIN = join(ROOT, manifest.bin.rawbright);
const CLI = join(ROOT, 'dist/cli/index.js');
const tmp = tempDir();
afterAll(() => tmp.cleanup());

const run = (script: string, args: string[]) => spawnSync('node', [script, ...args], { encoding: 'utf8' });

let counter = 0;
function fixture(bytes: Buffer): string {
  const path = join(tmp.dir, `bin-${counter++}.raw`);
  writeRaw(path, bytes);
  return path;
}

/** RGBA uint16 little-endian with `delta` added to R, G and B, saturating, alpha left alone: numpy's answer. */
function numpyBrighten(path: string, delta: number): Buffer {
  const script = [
    'import sys, numpy as np',
    "a = np.fromfile(sys.argv[1], dtype='<u2').astype(np.int64).reshape(-1, 4)",
    'a[:, :3] = np.clip(a[:, :3] + int(sys.argv[2]), 0, 65535)',
    "sys.stdout.buffer.write(a.astype('<u2').tobytes())",
  ].join('\n');
  const result = spawnSync('python3', ['-c', script, path, String(delta)], { maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`python3/numpy failed: ${result.stderr}`);
  return result.stdout;
}

describe('the bin', () => {
  it('is the bundle launcher, with a bundle each for brighten and adjust', () => {
    expect(manifest.bin.rawbright).toBe('./dist/bin/rawbright.js');
    for (const bundle of ['brighten.js', 'adjust.js'])
      expect(existsSync(join(ROOT, 'dist/bin', bundle))).toBe(true);
  });

  it('brightens as numpy does, in the calling thread and on two worker threads', () => {
    const input = randomBytes(1024 * 1024, 11);
    const one = fixture(input);
    const expected = numpyBrighten(one, 1234);
    const result = run(BIN, ['brighten', one, '--by', '1234']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^brightened .*\(wasm-simd, \w+, 1 worker, /);
    expect(readFileSync(one).equals(expected)).toBe(true);
    // Two workers: each a worker thread running dist/brighten/worker.js, found from inside the bundle.
    const two = fixture(input);
    const threads = run(BIN, ['brighten', two, '--by', '1234', '--window', '64KiB', '--workers', '2']);
    expect(threads.status).toBe(0);
    expect(threads.stdout).toMatch(/, 2 workers, /);
    expect(readFileSync(two).equals(expected)).toBe(true);
    // The native kernel: the addon, loaded from the bundle.
    const native = fixture(input);
    expect(run(BIN, ['brighten', native, '--by', '1234', '--kernel', 'native']).status).toBe(0);
    expect(readFileSync(native).equals(expected)).toBe(true);
  });

  it('adjust --add N gives the bytes of brighten --by N; resume with nothing to resume says so', () => {
    const input = randomBytes(256 * 1024, 12);
    const path = fixture(input);
    const expected = numpyBrighten(path, -700);
    const result = run(BIN, ['adjust', path, '--add', '-700']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^adjusted /);
    expect(readFileSync(path).equals(expected)).toBe(true);
    const resume = run(BIN, ['resume', path]);
    expect(resume.status).toBe(0);
    expect(resume.stdout).toBe(`nothing to resume for ${path}\n`);
  });

  it('prints what dist/cli/index.js prints: errors, exit codes, --version, the help and other commands', () => {
    const path = fixture(randomBytes(64 * 1024, 13));
    for (const args of [
      ['brighten', path, '--by', '70000'],
      ['brighten', path, '--bye', '1'],
      ['adjust', path],
      ['resume'],
      ['--version'],
      ['--help'],
      ['brighten', '--help'],
      ['info', path, '--raw-width', '64', '--raw-height', '128'],
      ['nosuchcommand'],
    ]) {
      const bundled = run(BIN, args);
      const plain = run(CLI, args);
      expect({ args, status: bundled.status, stdout: bundled.stdout, stderr: bundled.stderr }).toEqual({
        args,
        status: plain.status,
        stdout: plain.stdout,
        stderr: plain.stderr,
      });
    }
    expect(run(BIN, ['--version']).stdout).toBe(`${manifest.version}\n`);
    expect(run(BIN, ['brighten', path, '--by', '70000']).stderr).toBe(
      'rawbright: --by must be an integer from -65535 to 65535, not 70000\n',
    );
    expect(readFileSync(path).equals(randomBytes(64 * 1024, 13))).toBe(true);
  });
});
