/**
 * Full disks: every command that writes is run against a small tmpfs (mounted here when running as
 * root) filled to a chosen point, and under `ulimit -f` limits. Where the space is short it must fail
 * with one line naming ENOSPC ("no space left") or EFBIG ("file too large"), change no input byte
 * and leave no file behind; where the space suffices it must produce the uninterrupted result.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expectedBrighten, randomBytes, writeRaw } from '../helpers/raw.js';
import { CLI } from './kill-harness.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Mounts a tmpfs of `bytes` at `dir`; returns why it cannot when it cannot. */
export function mountTmpfs(dir: string, bytes: number): string | undefined {
  if (process.platform !== 'linux') return `tmpfs needs Linux, not ${process.platform}`;
  if (process.getuid?.() !== 0) return 'mounting a tmpfs needs root';
  mkdirSync(dir, { recursive: true });
  const result = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0777`, 'tmpfs', dir], {
    encoding: 'utf8',
  });
  if (result.status !== 0) return `mount -t tmpfs failed: ${(result.stderr || String(result.error)).trim()}`;
  return undefined;
}

export function unmount(dir: string): void {
  spawnSync('umount', [dir]);
}

/** Fills the file system at `dir` until only `free` bytes (rounded to pages) are left. */
function leaveFree(dir: string, free: number): void {
  rmSync(join(dir, 'filler'), { force: true });
  const stats = execFileSync('df', ['-B1', '--output=avail', dir], { encoding: 'utf8' }).trim().split('\n');
  const available = Number(stats.at(-1));
  const fill = Math.max(0, available - free);
  if (fill > 0) execFileSync('fallocate', ['-l', String(fill), join(dir, 'filler')]);
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** One command that writes, with what it needs and what it must produce. */
export interface DiskCase {
  name: string;
  /** Prepares inputs in `work` (a normal folder) and `target` (the small file system or the limited folder); returns the command. */
  prepare(
    work: string,
    target: string,
  ): {
    args: string[];
    /** Files that must not change. */
    inputs: string[];
    /** Outputs and the bytes an uninterrupted run gives them. */
    outputs: { path: string; expected: Buffer }[];
  };
}

const IMAGE = { width: 512, height: 512 };
const RAW_BYTES = IMAGE.width * IMAGE.height * 8;

function noiseRaw(path: string, seed: number): Buffer {
  const bytes = randomBytes(RAW_BYTES, seed);
  writeRaw(path, bytes);
  writeFileSync(
    `${path}.json`,
    JSON.stringify({ ...IMAGE, channels: 4, sampleType: 'uint16', byteOrder: 'little' }),
  );
  return bytes;
}

/** Runs a command in a fresh folder with no limit, to learn the bytes it produces. */
function reference(args: string[], outputs: string[]): Buffer[] {
  const result = spawnSync('node', [CLI, ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`reference run failed: ${result.stderr}`);
  const bytes = outputs.map((path) => readFileSync(path));
  for (const path of outputs) rmSync(path);
  return bytes;
}

/** The commands the issue names (create, out of place, the journal, export) and import, and a sparse input. */
export const DISK_CASES: DiskCase[] = [
  {
    name: 'create',
    prepare(work, target) {
      const args = (out: string) => [
        'create',
        out,
        '--width',
        String(IMAGE.width),
        '--height',
        String(IMAGE.height),
        '--pattern',
        'noise',
      ];
      const [raw, json] = reference(args(join(work, 'ref.raw')), [
        join(work, 'ref.raw'),
        join(work, 'ref.raw.json'),
      ]);
      const out = join(target, 'created.raw');
      return {
        args: args(out),
        inputs: [],
        outputs: [
          { path: out, expected: raw },
          { path: `${out}.json`, expected: json },
        ],
      };
    },
  },
  {
    name: 'brighten --out',
    prepare(work, target) {
      const input = join(work, 'in.raw');
      const bytes = noiseRaw(input, 3);
      const out = join(target, 'out.raw');
      return {
        args: ['brighten', input, '--by', '321', '--out', out],
        inputs: [input],
        outputs: [{ path: out, expected: expectedBrighten(bytes, 321) }],
      };
    },
  },
  {
    name: 'brighten in place (journal)',
    prepare(_work, target) {
      // The image lives on the small file system and is fully allocated: only the journal needs space.
      const input = join(target, 'inplace.raw');
      const bytes = randomBytes(RAW_BYTES, 4);
      writeRaw(input, bytes);
      return {
        args: ['brighten', input, '--by', '-77', '--window', '1MiB', '--strategy', 'pread'],
        inputs: [input],
        outputs: [{ path: input, expected: expectedBrighten(bytes, -77) }],
      };
    },
  },
  {
    name: 'brighten in place, sparse image (mmap)',
    prepare(_work, target) {
      // Mostly holes: writing them through a mapping needs blocks, which on a full disk was SIGBUS.
      const input = join(target, 'sparse.raw');
      const bytes = Buffer.alloc(RAW_BYTES);
      randomBytes(256 * KiB, 5).copy(bytes, 0);
      writeRaw(input, bytes.subarray(0, 256 * KiB));
      execFileSync('truncate', ['-s', String(RAW_BYTES), input]);
      return {
        args: ['brighten', input, '--by', '1000', '--window', '512KiB', '--strategy', 'mmap', '--no-journal'],
        inputs: [input],
        outputs: [{ path: input, expected: expectedBrighten(bytes, 1000) }],
      };
    },
  },
  {
    name: 'export PNG',
    prepare(work, target) {
      const raw = join(work, 'export.raw');
      noiseRaw(raw, 6);
      const [png] = reference(
        ['export', raw, join(work, 'ref.png'), '--compression', '0'],
        [join(work, 'ref.png')],
      );
      const out = join(target, 'out.png');
      return {
        args: ['export', raw, out, '--compression', '0'],
        inputs: [raw, `${raw}.json`],
        outputs: [{ path: out, expected: png }],
      };
    },
  },
  {
    name: 'export TIFF',
    prepare(work, target) {
      const raw = join(work, 'export.raw');
      noiseRaw(raw, 7);
      const [tif] = reference(['export', raw, join(work, 'ref.tif')], [join(work, 'ref.tif')]);
      const out = join(target, 'out.tif');
      return {
        args: ['export', raw, out],
        inputs: [raw, `${raw}.json`],
        outputs: [{ path: out, expected: tif }],
      };
    },
  },
  {
    name: 'import PNG',
    prepare(work, target) {
      const raw = join(work, 'source.raw');
      noiseRaw(raw, 8);
      const png = join(work, 'source.png');
      reference(['export', raw, png, '--compression', '0'], []);
      const [imported, json] = reference(
        ['import', png, join(work, 'ref.raw')],
        [join(work, 'ref.raw'), join(work, 'ref.raw.json')],
      );
      const out = join(target, 'imported.raw');
      return {
        args: ['import', png, out],
        inputs: [png],
        outputs: [
          { path: out, expected: imported },
          { path: `${out}.json`, expected: json },
        ],
      };
    },
  },
];

export interface DiskOutcome {
  /** 'refused': failed cleanly for lack of space; 'completed': had enough and finished. */
  result: 'refused' | 'completed';
  problems: string[];
}

/**
 * Runs a prepared case with `limit` (`{ free }` bytes left on the small file system at `target`, or
 * `{ ulimitKiB }`) and checks the outcome.
 */
export function runDiskCase(
  c: DiskCase,
  work: string,
  target: string,
  limit: { free: number } | { ulimitKiB: number },
): DiskOutcome {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  for (const entry of readdirSync(target)) rmSync(join(target, entry), { recursive: true, force: true });
  const prepared = c.prepare(work, target);
  const inputs = prepared.inputs.map((path) => ({ path, hash: sha(path) }));
  if ('free' in limit) leaveFree(target, limit.free);
  const listing = (dir: string) => readdirSync(dir).sort().join('\n');
  const before = { target: listing(target), work: listing(work) };
  const result =
    'free' in limit
      ? spawnSync('node', [CLI, ...prepared.args], { encoding: 'utf8' })
      : spawnSync(
          'bash',
          ['-c', `ulimit -f ${limit.ulimitKiB}; exec node "$@"`, 'bash', CLI, ...prepared.args],
          {
            encoding: 'utf8',
          },
        );
  const problems: string[] = [];
  if (result.signal !== null) problems.push(`died of ${result.signal}`);
  let outcome: DiskOutcome['result'];
  if (result.status === 0) {
    outcome = 'completed';
    for (const output of prepared.outputs) {
      if (!existsSync(output.path) || !readFileSync(output.path).equals(output.expected)) {
        problems.push(`${output.path} differs from an unlimited run`);
      }
    }
  } else {
    outcome = 'refused';
    if (result.status !== 1) problems.push(`exit ${result.status}`);
    const lines = result.stderr.trim().split('\n');
    if (lines.length !== 1 || !/^rawbright: .*(no space left|file too large)/i.test(lines[0])) {
      problems.push(`stderr is not one line naming the full disk: ${JSON.stringify(result.stderr)}`);
    }
    for (const input of inputs) if (sha(input.path) !== input.hash) problems.push(`${input.path} changed`);
    if (listing(target) !== before.target) problems.push(`left behind in the target: ${listing(target)}`);
    if (listing(work) !== before.work) problems.push(`left behind in the work folder: ${listing(work)}`);
  }
  rmSync(join(target, 'filler'), { force: true });
  return { result: outcome, problems };
}

/** Free space (bytes) left on the small file system, from none to enough for every case. */
export const FREE_POINTS = [
  0,
  4 * KiB,
  64 * KiB,
  512 * KiB,
  MiB,
  2 * MiB - 4 * KiB,
  2 * MiB + 8 * KiB,
  3 * MiB,
  5 * MiB,
  7 * MiB,
];
/** `ulimit -f` values (KiB), from none to enough. */
export const ULIMIT_POINTS = [1, 64, 512, 1000, 1500, 2047, 2048, 2100, 4096, 8192];
/** The size of the tmpfs the sweep mounts. */
export const TMPFS_BYTES = 10 * MiB;
