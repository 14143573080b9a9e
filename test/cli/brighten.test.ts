import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { unprivilegedUser } from '../helpers/other-user.js';
import { expectedBrighten, randomBytes, sha256, tempDir, writeRaw } from '../helpers/raw.js';

const CLI = new URL('../../dist/cli/index.js', import.meta.url).pathname;
const MiB = 1024 * 1024;
const tmp = tempDir();
afterAll(() => tmp.cleanup());

function rawbright(args: string[]): SpawnSyncReturns<string> {
  return spawnSync('node', [CLI, ...args], { encoding: 'utf8' });
}

/** Runs the CLI as a user without privileges (nobody, when the tests run as root). */
function rawbrightUnprivileged(args: string[]): SpawnSyncReturns<string> {
  const user = unprivilegedUser();
  try {
    const [command, commandArgs] = user.command([user.path('dist/cli/index.js'), ...args]);
    return spawnSync(command, commandArgs, { encoding: 'utf8' });
  } finally {
    user.cleanup();
  }
}

let counter = 0;
function fixture(bytes: Buffer): string {
  const path = join(tmp.dir, `cli-${counter++}.raw`);
  writeRaw(path, bytes);
  return path;
}

describe('rawbright brighten', () => {
  const input = randomBytes(2 * MiB + 64, 21);

  it('--help and --version work', () => {
    const help = rawbright(['brighten', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--by <n>/);
    expect(help.stdout).toMatch(/--no-journal/);
    const version = rawbright(['--version']);
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it.each([['--by=-500'], ['--by', '-500']])('accepts %s', (...byArgs) => {
    const path = fixture(input);
    const result = rawbright(['brighten', path, ...byArgs, '--window', '512KiB']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^brightened .* GB\/s/);
    expect(readFileSync(path).equals(expectedBrighten(input, -500))).toBe(true);
  });

  it('takes every option and prints the report as JSON', () => {
    const path = fixture(input);
    const result = rawbright([
      'brighten',
      path,
      '--by',
      '300',
      '--type',
      'int16',
      '--channels',
      'rgba',
      '--window',
      '1MiB',
      '--offset',
      '8',
      '--length',
      '1048576',
      '--kernel',
      'wasm',
      '--strategy',
      'pread',
      '--workers',
      '2',
      '--json',
    ]);
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({
      kernel: 'wasm',
      strategy: 'pread',
      bytes: MiB,
      workers: 1,
      journal: true,
    });
    expect(readFileSync(path).equals(expectedBrighten(input, 300, 'int16', 'rgba', 8, MiB))).toBe(true);
  });

  it('--out leaves the input unchanged; --no-journal works; several files in one call', () => {
    const path = fixture(input);
    const out = join(tmp.dir, 'cli-out.raw');
    const before = sha256(path);
    expect(rawbright(['brighten', path, '--by', '9', '--out', out]).status).toBe(0);
    expect(sha256(path)).toBe(before);
    expect(readFileSync(out).equals(expectedBrighten(input, 9))).toBe(true);
    expect(rawbright(['brighten', path, '--by', '9', '--out', out]).status).toBe(1);
    expect(rawbright(['brighten', path, '--by', '9', '--out', out, '--overwrite']).status).toBe(0);
    const second = fixture(input);
    expect(rawbright(['brighten', path, second, '--by', '9', '--no-journal']).status).toBe(0);
    expect(sha256(path)).toBe(sha256(out));
    expect(sha256(second)).toBe(sha256(out));
  });

  it('draws a progress bar on a terminal (bytes, GB/s, ETA) and nothing on a pipe', () => {
    const path = fixture(randomBytes(8 * MiB, 5));
    // `script` runs the command on a pseudo-terminal.
    const command = `node ${CLI} brighten ${path} --by 5 --window 512KiB --kernel js`;
    const tty = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8' });
    expect(tty.status).toBe(0);
    expect(tty.stdout).toMatch(/\d+% \| [\d.]+\/8192\.00 KiB \| [\d.-]+ GB\/s \| ETA/);
    const piped = rawbright(['brighten', path, '--by', '5', '--window', '512KiB', '--again']);
    expect(piped.status).toBe(0);
    expect(piped.stderr).toBe('');
    expect(piped.stdout).not.toMatch(/ETA/);
  });

  const badCases: [string, (f: string) => string[], number, RegExp][] = [
    ['a missing file', () => ['brighten', join(tmp.dir, 'nope.raw'), '--by', '1'], 1, /no such file/i],
    ['a directory', () => ['brighten', tmp.dir, '--by', '1'], 1, /directory/],
    ['an empty file', () => ['brighten', fixture(Buffer.alloc(0)), '--by', '1'], 1, /is empty/],
    [
      'a size not a multiple of 8',
      () => ['brighten', fixture(Buffer.alloc(20)), '--by', '1'],
      1,
      /8-byte RGBA16 pixels/,
    ],
    ['--by missing', (f) => ['brighten', f], 2, /--by/],
    ['--by not a number', (f) => ['brighten', f, '--by', 'bright'], 2, /--by must be a whole number/],
    ['--by fractional', (f) => ['brighten', f, '--by', '1.5'], 2, /--by must be a whole number/],
    ['--by out of range', (f) => ['brighten', f, '--by', '70000'], 2, /from -65535 to 65535/],
    ['--window 0', (f) => ['brighten', f, '--by', '1', '--window', '0'], 2, /window/],
    ['--window over 4 GiB', (f) => ['brighten', f, '--by', '1', '--window', '5GiB'], 2, /window/],
    [
      '--window garbage',
      (f) => ['brighten', f, '--by', '1', '--window', 'big'],
      2,
      /--window must be a whole number of bytes/,
    ],
    [
      '--offset past the end',
      (f) => ['brighten', f, '--by', '1', '--offset', '1GiB'],
      2,
      /offset is larger than the file/,
    ],
    ['--offset not pixel aligned', (f) => ['brighten', f, '--by', '1', '--offset', '3'], 2, /multiple of 8/],
    [
      '--length past the end',
      (f) => ['brighten', f, '--by', '1', '--length', '1GiB'],
      2,
      /length is past the end/,
    ],
    [
      'an unknown kernel',
      (f) => ['brighten', f, '--by', '1', '--kernel', 'gpu'],
      2,
      /--kernel must be one of/,
    ],
    [
      'an unknown strategy',
      (f) => ['brighten', f, '--by', '1', '--strategy', 'x'],
      2,
      /--strategy must be one of/,
    ],
    ['an unknown type', (f) => ['brighten', f, '--by', '1', '--type', 'float'], 2, /--type must be one of/],
    [
      'unknown channels',
      (f) => ['brighten', f, '--by', '1', '--channels', 'rg'],
      2,
      /--channels must be one of/,
    ],
    ['--workers 0', (f) => ['brighten', f, '--by', '1', '--workers', '0'], 2, /--workers must be at least 1/],
    ['--out equal to the input', (f) => ['brighten', f, '--by', '1', '--out', f], 1, /is the input file/],
    [
      '--out in a missing folder',
      (f) => ['brighten', f, '--by', '1', '--out', join(tmp.dir, 'no', 'x.raw')],
      1,
      /the folder .* does not exist/,
    ],
    ['an unknown option', (f) => ['brighten', f, '--by', '1', '--shiny'], 2, /unknown option/],
    ['an unknown command', () => ['sparkle'], 2, /unknown command/],
  ];

  it.each(badCases)('%s: one line, exit %i, input unchanged', (_name, args, status, message) => {
    const path = fixture(input);
    const before = sha256(path);
    const result = rawbright(args(path));
    expect(result.status).toBe(status);
    expect(result.signal).toBeNull();
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^rawbright: /);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(sha256(path)).toBe(before);
    expect(existsSync(`${path}.rawbright-journal`)).toBe(false);
  });

  it('a read-only file in place is refused for an unprivileged user, and stays unchanged', () => {
    // The folder must be reachable by the unprivileged user, so the refusal is the file's own mode.
    chmodSync(tmp.dir, 0o711);
    const dir = join(tmp.dir, 'readonly');
    mkdirSync(dir, { mode: 0o777 });
    chmodSync(dir, 0o777);
    const path = join(dir, 'ro.raw');
    writeRaw(path, input);
    chmodSync(path, 0o444);
    const before = sha256(path);
    const result = rawbrightUnprivileged(['brighten', path, '--by', '5']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^rawbright: cannot open .*ro\.raw: permission denied/);
    expect(sha256(path)).toBe(before);
  });

  it('a full disk (ulimit -f) fails before any pixel changes', () => {
    const path = fixture(randomBytes(4 * MiB, 2));
    const before = sha256(path);
    // The journal needs a window's worth of space; 1 MiB of file size limit is not enough.
    const result = spawnSync(
      'bash',
      ['-c', `ulimit -f 1024; node ${CLI} brighten ${path} --by 5 --window 2MiB`],
      {
        encoding: 'utf8',
      },
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^rawbright: .*(file too large|no space)/i);
    expect(sha256(path)).toBe(before);
    expect(existsSync(`${path}.rawbright-journal`)).toBe(false);
  });
});

describe('kill -9 and resume', () => {
  const input = randomBytes(128 * MiB, 99);
  const delta = 777;
  const expected = expectedBrighten(input, delta);

  const WINDOWS = 512;

  /** How many windows the journal's done map counts (the map starts at byte 4096 of the journal). */
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

  /**
   * Runs a brighten and, once `fraction` of its windows are done (read from its journal), kills it
   * after a random extra 0–3 ms, so the kill lands at a random point inside a window.
   */
  async function runUntilKilled(
    path: string,
    fraction: number,
    extra: string[],
    signal: NodeJS.Signals = 'SIGKILL',
  ) {
    // The js kernel and small windows make the run long enough to be killed in the middle.
    const child = spawn(
      'node',
      [CLI, 'brighten', path, '--by', String(delta), '--window', '256KiB', '--kernel', 'js', ...extra],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    let running = true;
    const exited = new Promise<number | null>((r) =>
      child.on('exit', (code) => {
        running = false;
        r(code);
      }),
    );
    while (running && windowsDone(path) < fraction * WINDOWS) await new Promise((r) => setTimeout(r, 1));
    await new Promise((r) => setTimeout(r, Math.random() * 3));
    child.kill(signal);
    return { status: await exited, stderr };
  }

  let resumedAfterKill = 0;

  it.each([
    [0.1, ['--strategy', 'mmap']],
    [0.3, ['--strategy', 'mmap']],
    [0.45, ['--strategy', 'pread']],
    [0.6, ['--workers', '2']],
    [0.75, ['--strategy', 'mmap', '--workers', '2']],
    [0.9, ['--strategy', 'pread', '--workers', '2']],
  ] as const)(
    'killed after %f of the windows (%j), resume gives the uninterrupted bytes',
    async (fraction, extra) => {
      const path = fixture(input);
      await runUntilKilled(path, fraction, [...extra]);
      if (existsSync(`${path}.rawbright-journal`)) {
        const resume = rawbright(['resume', path]);
        expect(resume.stderr).toBe('');
        expect(resume.status).toBe(0);
        expect(resume.stdout).toMatch(/^resumed: /);
        resumedAfterKill++;
      } else {
        // The run finished before the kill arrived.
        expect(readFileSync(path).equals(expected)).toBe(true);
      }
      expect(readFileSync(path).equals(expected)).toBe(true);
      expect(existsSync(`${path}.rawbright-journal`)).toBe(false);
    },
  );

  it('the kills landed in the middle of runs, not only before or after them', () => {
    expect(resumedAfterKill).toBeGreaterThanOrEqual(4);
  });

  it('SIGINT stops after the current window, says how to resume, and resume finishes', async () => {
    const path = fixture(input);
    const { status, stderr } = await runUntilKilled(path, 0.25, [], 'SIGINT');
    expect(status).toBe(130);
    expect(stderr).toMatch(/interrupted after \d+ of 512 windows; run 'rawbright resume/);
    expect(rawbright(['resume', path]).status).toBe(0);
    expect(readFileSync(path).equals(expected)).toBe(true);
  });

  it('resume with no journal says so and exits 0', () => {
    const path = fixture(input.subarray(0, 64));
    const result = rawbright(['resume', path]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/nothing to resume/);
  });
});
