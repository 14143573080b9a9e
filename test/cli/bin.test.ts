/**
 * The package's `bin` (dist/bin/rawbright.cjs, built by scripts/bundle-cli.mjs): brighten, resume and adjust
 * run from their CommonJS bundles, every other command and the help from dist/cli/index.js. The bundles must
 * find every file their modules find beside themselves (the addon, the wasm kernels, a worker thread's script,
 * package.json) and give the bytes, lines, messages and exit codes of the unbundled command line. They are
 * compiled with V8's code cache (src/cli/code-cache.ts), tested here on its own.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
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
    expect(manifest.bin.rawbright).toBe('./dist/bin/rawbright.cjs');
    // Strict mode, as the ES modules it was made of: the directive comes first.
    for (const bundle of ['brighten.cjs', 'adjust.cjs'])
      expect(readFileSync(join(ROOT, 'dist/bin', bundle), 'utf8').startsWith("'use strict';\n")).toBe(true);
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
    // Two workers: each a worker thread running dist/brighten/worker-thread.js, found from inside the bundle.
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

  it("a quiet in-place brighten loads none of the builtins it does not need (not in Node 24's start-up snapshot)", () => {
    // Each of these took 1.5-3 ms of a 64 KiB file's run on Node 24 (README, Performance: start-up).
    const preload = join(tmp.dir, 'modules.cjs');
    writeFileSync(
      preload,
      "process.on('exit', () => require('node:fs').writeSync(2, JSON.stringify(process.moduleLoadList) + '\\n'));\n",
    );
    const loaded = (args: string[]) => {
      const result = spawnSync('node', ['-r', preload, ...args], { encoding: 'utf8' });
      expect(result.status).toBe(0);
      return new Set<string>(JSON.parse(result.stderr.trim().split('\n').at(-1)!));
    };
    const bare = loaded(['-e', '0']);
    const path = fixture(randomBytes(64 * 1024, 14));
    const extra = (args: string[]) => [...loaded([BIN, ...args])].filter((name) => !bare.has(name));
    const avoided = [
      'stream',
      'zlib',
      'worker_threads',
      'timers/promises',
      'fs/promises',
      'crypto',
      'child_process',
      'module',
    ];
    const quiet = extra(['brighten', path, '--by', '3', '--quiet']);
    expect(avoided.filter((name) => quiet.includes(`NativeModule ${name}`))).toEqual([]);
    // The same list does name them when a run needs them: two workers start worker threads.
    const threads = extra(['brighten', path, '--by', '4', '--quiet', '--window', '16KiB', '--workers', '2']);
    expect(threads).toContain('NativeModule worker_threads');
  });

  it('ends only once its output is written: a report of 700 files through a pipe read a second late', () => {
    // More than a pipe holds (64 KiB): the bin must wait for the reader before it ends (process.exit
    // would cut what is still queued), and keep the exit code.
    const folder = join(tmp.dir, 'many');
    mkdirSync(folder);
    const paths = Array.from({ length: 700 }, (_, i) => {
      const path = join(folder, `tiny-${i}.raw`);
      writeRaw(path, randomBytes(8, 100 + i));
      return path;
    });
    const quoted = paths.map((path) => `'${path}'`).join(' ');
    const late = spawnSync(
      'bash',
      ['-c', `set -o pipefail; node '${BIN}' brighten ${quoted} --by 9 | (sleep 1; cat)`],
      {
        encoding: 'utf8',
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    expect(late.stderr).toBe('');
    expect(late.status).toBe(0);
    const lines = late.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(700);
    expect(lines.every((line, i) => line.startsWith(`brightened ${paths[i]}: 8 bytes in `))).toBe(true);
    expect(late.stdout.length).toBeGreaterThan(64 * 1024);
    // An error's exit code, through the same pipe.
    const refused = spawnSync('bash', [
      '-c',
      `set -o pipefail; node '${BIN}' brighten ${quoted} --by 70000 | (sleep 1; cat)`,
    ]);
    expect(refused.status).toBe(2);
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

describe('the code cache of a bundle', () => {
  const CODE_CACHE = join(ROOT, 'dist/cli/code-cache.js');
  const uid = process.getuid!();
  /** A CommonJS file that prints what it was given: its module's names, a builtin, a strict-mode check. */
  const script = join(tmp.dir, 'bundle.cjs');
  writeFileSync(
    script,
    "'use strict';\nconst { sep } = require('node:path');\n" +
      'process.stdout.write(JSON.stringify({ file: __filename, dir: __dirname, sep, strict: (function () { return this === undefined; })(), exportsIsThis: this === module.exports }));\n',
  );
  /** Runs `script` through requireWithCodeCache in a child with TMPDIR set to `temp`. */
  function load(temp: string, env: Record<string, string> = {}) {
    const code = `import(${JSON.stringify(CODE_CACHE)}).then((m) => m.requireWithCodeCache(${JSON.stringify(script)}))`;
    return spawnSync('node', ['-e', code], {
      encoding: 'utf8',
      env: { ...process.env, TMPDIR: temp, ...env },
    });
  }
  const folderIn = (temp: string) => join(temp, `rawbright-code-cache-${uid}`);
  const expected = JSON.stringify({
    file: script,
    dir: tmp.dir,
    sep: '/',
    strict: true,
    exportsIsThis: true,
  });

  it('runs the file as require() would, keeps its cache in a 0700 folder of the user, and uses it the next time', () => {
    const temp = join(tmp.dir, 'cache-1');
    mkdirSync(temp);
    const first = load(temp);
    expect(first.stderr).toBe('');
    expect(first.stdout).toBe(expected);
    const folder = folderIn(temp);
    expect(statSync(folder).mode & 0o777).toBe(0o700);
    const files = readdirSync(folder);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(
      new RegExp(`^bundle\\.cjs-[0-9a-f]+-${process.version}-${process.arch}\\.v8cache$`),
    );
    const cache = join(folder, files[0]!);
    expect(statSync(cache).mode & 0o777).toBe(0o600);
    const before = statSync(cache);
    // Accepted by V8: not written again (a refused cache would be replaced, under a new inode).
    const second = load(temp);
    expect(second.stdout).toBe(expected);
    expect(readdirSync(folder)).toEqual(files);
    expect(statSync(cache).ino).toBe(before.ino);
    expect(statSync(cache).mtimeMs).toBe(before.mtimeMs);
  });

  it('holds a copy of the source: a new build, even of the same length, is compiled afresh and its cache replaces the old', () => {
    const temp = join(tmp.dir, 'cache-5');
    mkdirSync(temp);
    const source = readFileSync(script, 'utf8');
    try {
      expect(load(temp).stdout).toBe(expected);
      const folder = folderIn(temp);
      const [name] = readdirSync(folder);
      const cache = join(folder, name!);
      expect(readFileSync(cache).includes(readFileSync(script))).toBe(true);
      const before = statSync(cache).ino;
      // The same length (V8 itself checks only that), other code: it must run, not the old bytecode.
      const sameLength = source.replace('exportsIsThis', 'exportsIsThat');
      expect(sameLength.length).toBe(source.length);
      writeFileSync(script, sameLength);
      expect(JSON.parse(load(temp).stdout)).toHaveProperty('exportsIsThat', true);
      expect(readdirSync(folder)).toEqual([name]);
      expect(statSync(cache).ino).not.toBe(before);
      expect(readFileSync(cache).includes(Buffer.from(sameLength))).toBe(true);
      // And run from that cache the next time.
      const rewritten = statSync(cache).ino;
      expect(JSON.parse(load(temp).stdout)).toHaveProperty('exportsIsThat', true);
      expect(statSync(cache).ino).toBe(rewritten);
    } finally {
      writeFileSync(script, source);
    }
  });

  it('removes the caches that earlier releases named by the source checksum, for this bundle and this Node only', () => {
    const temp = join(tmp.dir, 'cache-7');
    const folder = folderIn(temp);
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    // zlib's CRC-32 of the bundle's folder names it, as it did then (the code cache computes it without zlib).
    const prefix = `bundle.cjs-${crc32(tmp.dir).toString(16)}-`;
    const suffix = `-${process.version}-${process.arch}.v8cache`;
    const earlier = `${prefix}1234abcd-321${suffix}`;
    const otherNode = `${prefix}1234abcd-321-v0.0.1-${process.arch}.v8cache`;
    const otherBundle = `other.cjs-${crc32(tmp.dir).toString(16)}-1234abcd-321${suffix}`;
    for (const name of [earlier, otherNode, otherBundle]) writeFileSync(join(folder, name), 'old');
    expect(load(temp).stdout).toBe(expected);
    expect(readdirSync(folder).sort()).toEqual(
      [`${prefix.slice(0, -1)}${suffix}`, otherBundle, otherNode].sort(),
    );
  });

  it('the same bundle in two folders (two installs) keeps a cache each', () => {
    const temp = join(tmp.dir, 'cache-6');
    mkdirSync(temp);
    const other = join(tmp.dir, 'other-install');
    mkdirSync(other);
    const copy = join(other, 'bundle.cjs');
    writeFileSync(copy, readFileSync(script));
    expect(load(temp).stdout).toBe(expected);
    const code = `import(${JSON.stringify(CODE_CACHE)}).then((m) => m.requireWithCodeCache(${JSON.stringify(copy)}))`;
    const fromCopy = spawnSync('node', ['-e', code], {
      encoding: 'utf8',
      env: { ...process.env, TMPDIR: temp },
    });
    expect(JSON.parse(fromCopy.stdout)).toMatchObject({ file: copy, dir: other });
    expect(readdirSync(folderIn(temp))).toHaveLength(2);
    expect(load(temp).stdout).toBe(expected);
    expect(readdirSync(folderIn(temp))).toHaveLength(2);
  });

  it('a damaged cache is refused by V8 and written again; the file still runs', () => {
    const temp = join(tmp.dir, 'cache-2');
    mkdirSync(temp);
    expect(load(temp).stdout).toBe(expected);
    const folder = folderIn(temp);
    const cache = join(folder, readdirSync(folder)[0]!);
    const good = readFileSync(cache);
    // V8's part damaged, the copy of the source intact: V8 refuses it (cachedDataRejected).
    const v8Part = good.length - good.indexOf(readFileSync(script)) - readFileSync(script).length;
    const damagedV8 = Buffer.concat([good.subarray(0, good.length - v8Part), Buffer.alloc(v8Part, 0x5a)]);
    // The whole file damaged: not a cache of this source at all.
    for (const bad of [damagedV8, Buffer.alloc(good.length, 0x5a)]) {
      writeFileSync(cache, bad);
      const damaged = load(temp);
      expect(damaged.stderr).toBe('');
      expect(damaged.stdout).toBe(expected);
      expect(readFileSync(cache).equals(bad)).toBe(false);
      expect(readdirSync(folder)).toHaveLength(1);
    }
  });

  it('a folder others may write to is neither read nor written; NODE_DISABLE_COMPILE_CACHE makes none', () => {
    const temp = join(tmp.dir, 'cache-3');
    const folder = folderIn(temp);
    mkdirSync(folder, { recursive: true });
    chmodSync(folder, 0o777);
    const open = load(temp);
    expect(open.stdout).toBe(expected);
    expect(readdirSync(folder)).toEqual([]);
    const temp2 = join(tmp.dir, 'cache-4');
    mkdirSync(temp2);
    const off = load(temp2, { NODE_DISABLE_COMPILE_CACHE: '1' });
    expect(off.stdout).toBe(expected);
    expect(readdirSync(temp2)).toEqual([]);
  });
});
