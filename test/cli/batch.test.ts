import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { expectedBrighten, randomBytes, tempDir, writeRaw } from '../helpers/raw.js';

const CLI = new URL('../../dist/cli/index.js', import.meta.url).pathname;
const tmp = tempDir();
afterAll(() => tmp.cleanup());

function rawbright(args: string[]): SpawnSyncReturns<string> {
  return spawnSync('node', [CLI, ...args], { encoding: 'utf8' });
}

function lines(stdout: string): Record<string, unknown>[] {
  return stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
}

let counter = 0;
const input = randomBytes(64 * 1024, 77);
function fixture(): string {
  const path = join(tmp.dir, `batch-${counter++}.raw`);
  writeRaw(path, input);
  return path;
}

describe('rawbright brighten over a batch', () => {
  it('goes on past a failed file, prints one JSON object per file, and exits 1', () => {
    const [a, b] = [fixture(), fixture()];
    const missing = join(tmp.dir, 'missing.raw');
    const result = rawbright(['brighten', a, missing, b, '--by', '7', '--json']);
    expect(result.status).toBe(1);
    const objects = lines(result.stdout);
    expect(objects.map((o) => o.status)).toEqual(['done', 'failed', 'done']);
    expect(objects[0]).toMatchObject({ path: a, bytes: input.length });
    expect(objects[1]).toMatchObject({ path: missing, code: 'ENOENT' });
    expect(objects[1].message).toMatch(/no such file/);
    expect(readFileSync(a).equals(expectedBrighten(input, 7))).toBe(true);
    expect(readFileSync(b).equals(expectedBrighten(input, 7))).toBe(true);
  });

  it('prints the failure on stderr and the rest on stdout without --json', () => {
    const [a, b] = [fixture(), fixture()];
    const result = rawbright(['brighten', a, join(tmp.dir, 'nope.raw'), b, '--by', '7']);
    expect(result.status).toBe(1);
    expect(result.stdout.trim().split('\n')).toHaveLength(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^rawbright: cannot open .*nope\.raw/),
    ]);
  });

  it('--fail-fast stops at the first failed file', () => {
    const [a, b] = [fixture(), fixture()];
    const result = rawbright([
      'brighten',
      a,
      join(tmp.dir, 'missing.raw'),
      b,
      '--by',
      '7',
      '--json',
      '--fail-fast',
    ]);
    expect(result.status).toBe(1);
    expect(lines(result.stdout).map((o) => o.status)).toEqual(['done', 'failed']);
    expect(readFileSync(b).equals(input)).toBe(true);
  });

  it('gives one file the same shape as many, and exits 2 when every failure is a usage error', () => {
    const a = fixture();
    const one = rawbright(['brighten', a, '--by', '3', '--json']);
    expect(one.status).toBe(0);
    expect(one.stdout.trim().split('\n')).toHaveLength(1);
    expect(lines(one.stdout)[0]).toMatchObject({ status: 'done', path: a, bytes: input.length });
    const bad = rawbright(['brighten', fixture(), '--by', '3', '--offset', '3', '--json']);
    expect(bad.status).toBe(2);
    expect(lines(bad.stdout)[0]).toMatchObject({ status: 'failed', code: 'ERR_INVALID_ARG_VALUE' });
  });

  it('does not brighten a finished file again unless asked: --skip-done skips, --again repeats', () => {
    const [a, b] = [fixture(), fixture()];
    expect(rawbright(['brighten', a, '--by', '5']).status).toBe(0);
    const brightened = expectedBrighten(input, 5);

    const refused = rawbright(['brighten', a, b, '--by', '5', '--json']);
    expect(refused.status).toBe(1);
    expect(lines(refused.stdout).map((o) => [o.status, o.code])).toEqual([
      ['failed', 'ERR_ALREADY_DONE'],
      ['done', undefined],
    ]);
    expect(readFileSync(a).equals(brightened)).toBe(true);

    const skipped = rawbright(['brighten', a, b, '--by', '5', '--skip-done', '--json']);
    expect(skipped.status).toBe(0);
    expect(lines(skipped.stdout).map((o) => o.status)).toEqual(['skipped', 'skipped']);
    expect(readFileSync(b).equals(brightened)).toBe(true);

    // Other parameters are another run.
    expect(rawbright(['brighten', a, '--by', '6', '--skip-done']).stdout).toMatch(/^brightened /);
    expect(readFileSync(a).equals(expectedBrighten(brightened, 6))).toBe(true);

    expect(rawbright(['brighten', b, '--by', '5', '--again']).status).toBe(0);
    expect(readFileSync(b).equals(expectedBrighten(brightened, 5))).toBe(true);
  });

  it('takes a file changed since its run for a new one', () => {
    const a = fixture();
    expect(rawbright(['brighten', a, '--by', '5']).status).toBe(0);
    writeFileSync(a, input);
    const again = rawbright(['brighten', a, '--by', '5', '--skip-done']);
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/^brightened /);
    expect(readFileSync(a).equals(expectedBrighten(input, 5))).toBe(true);
    // The record is on the file itself: nothing is left beside it.
    expect(readdirSync(tmp.dir).filter((name) => name.startsWith('.'))).toEqual([]);
    expect(rawbright(['brighten', a, '--by', '5']).stderr).toMatch(/ERR_ALREADY_DONE|already changed/);
  });

  it('prints a summary line on a terminal, in units that fit small files', () => {
    const [a, b] = [fixture(), fixture()];
    const command = `node ${CLI} brighten ${a} ${join(tmp.dir, 'gone.raw')} ${b} --by 4`;
    const tty = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8' });
    expect(tty.status).toBe(1);
    expect(tty.stdout).toMatch(/brightened .*: 64 KiB in [\d.]+ m?s, [\d.]+ GB\/s/);
    expect(tty.stdout).toMatch(/brightened 2 of 3 files \(128 KiB in [\d.]+ m?s, [\d.]+ MB\/s\), 1 failed/);
    // Small files: no figure reads 0.00 (seconds in ms below 1 s, rates to three significant digits).
    const reports = tty.stdout.split(/\r?\n/).filter((line) => line.includes('brightened '));
    expect(reports.length).toBeGreaterThanOrEqual(3);
    for (const line of reports) expect(line).not.toMatch(/(^|[^\d.])0\.00 /);
    const piped = rawbright(['brighten', fixture(), fixture(), '--by', '4']);
    expect(piped.stderr).toBe('');
  });
});

describe('the done record of a run over part of a file', () => {
  it('is its own (done.START-END): the range is refused again, another range and the whole file are not', () => {
    const a = fixture();
    const part = ['--offset', '8192', '--length', '16384'];
    expect(rawbright(['brighten', a, '--by', '5', ...part]).status).toBe(0);
    const again = rawbright(['brighten', a, '--by', '5', ...part]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already changed by a run with these options/);
    // The whole file and another range carry no record of their own: they run.
    expect(rawbright(['brighten', a, '--by', '5', '--offset', '32768', '--length', '8192']).status).toBe(0);
    expect(rawbright(['brighten', a, '--by', '5']).status).toBe(0);
    const once = expectedBrighten(input, 5, 'uint16', 'rgb', 8192, 16384);
    const twice = expectedBrighten(once, 5, 'uint16', 'rgb', 32768, 8192);
    expect(readFileSync(a).equals(expectedBrighten(twice, 5))).toBe(true);
    // And the whole-file run's record is the plain one.
    expect(rawbright(['brighten', a, '--by', '5']).stderr).toMatch(/already changed/);
  });
});

describe('rawbright brighten --quiet', () => {
  it('prints only errors, even on a terminal', () => {
    const [a, b] = [fixture(), fixture()];
    const command = `node ${CLI} brighten ${a} ${join(tmp.dir, 'absent.raw')} ${b} --by 2 --quiet`;
    const tty = spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8' });
    expect(tty.status).toBe(1);
    expect(tty.stdout.trim().split(/\r?\n/)).toEqual([
      expect.stringMatching(/^rawbright: cannot open .*absent\.raw/),
    ]);
    expect(readFileSync(b).equals(expectedBrighten(input, 2))).toBe(true);
    const ok = rawbright(['brighten', fixture(), '--by', '2', '-q']);
    expect([ok.status, ok.stdout, ok.stderr]).toEqual([0, '', '']);
  });
});

describe('a reader that goes away (rawbright brighten *.raw | head -1)', () => {
  const BIN = new URL('../../dist/bin/rawbright.cjs', import.meta.url).pathname;

  it.each([
    ['the bin', BIN],
    ['dist/cli/index.js', CLI],
  ])(
    '%s finishes every file, exits 0 and prints no stack trace when stdout is closed after one line',
    async (_, entry) => {
      const dir = join(tmp.dir, `pipe-${counter++}`);
      mkdirSync(dir);
      const paths = Array.from({ length: 150 }, (_, i) => join(dir, `f${i}.raw`));
      for (const path of paths) writeRaw(path, input);
      const child = spawn(process.execPath, [entry, 'brighten', ...paths, '--by', '11'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk) => {
        stderr += chunk;
      });
      // Like head -1: read the first line, then close the pipe.
      child.stdout.once('data', () => child.stdout.destroy());
      const status = await new Promise<number | null>((resolve) =>
        child.on('close', (code) => resolve(code)),
      );
      expect(stderr).toBe('');
      expect(status).toBe(0);
      expect(readdirSync(dir).filter((name) => name.includes('rawbright-journal'))).toEqual([]);
      const expected = expectedBrighten(input, 11);
      for (const path of paths) expect(readFileSync(path).equals(expected)).toBe(true);
    },
  );
});
