/** A --window so small that the run would crawl is warned about on stderr (not refused: it has its uses). */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisServer, startRedis } from '../farm/redis.js';
import { expectedBrighten, randomBytes, tempDir, writeRaw } from '../helpers/raw.js';

const CLI = new URL('../../dist/cli/index.js', import.meta.url).pathname;
const tmp = tempDir();
afterAll(() => tmp.cleanup());

const rawbright = (args: string[]) => spawnSync('node', [CLI, ...args], { encoding: 'utf8' });

let counter = 0;
function fixture(bytes: Buffer): string {
  const path = join(tmp.dir, `window-${counter++}.raw`);
  writeRaw(path, bytes);
  return path;
}

const WARNING =
  /^rawbright: warning: --window (\S+ \S+) cuts (\S+) into (\d+) windows, and each costs a fixed time however small \(about 0\.3-1 ms\): this run will be far slower than with the default \(64 MiB overlaid, 4 MiB copied\); use --window 1MiB or more$/;

describe('a tiny --window', () => {
  const input = randomBytes(4 * 1024 * 1024 + 8 * 1000, 3);

  it('is warned about once, on stderr, with the window count; the run still gives the right bytes', () => {
    const path = fixture(input);
    const result = rawbright(['brighten', path, '--by', '12', '--window', '1000', '--kernel', 'js']);
    expect(result.status).toBe(0);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(WARNING);
    expect(WARNING.exec(lines[0])!.slice(1)).toEqual([
      '1000 bytes',
      path,
      String(Math.ceil(input.length / 1000)),
    ]);
    expect(result.stdout).toMatch(/^brightened /);
    expect(readFileSync(path).equals(expectedBrighten(input, 12))).toBe(true);
  });

  it('--dry-run warns too, and adjust as brighten; --length counts, not the file', () => {
    const path = fixture(input);
    const dry = rawbright(['brighten', path, '--by', '1', '--window', '1KiB', '--dry-run']);
    expect(dry.status).toBe(0);
    expect(dry.stderr.trim()).toMatch(WARNING);
    expect(dry.stderr).toContain(
      `--window 1 KiB cuts ${path} into ${Math.ceil(input.length / 1024)} windows`,
    );
    const adjust = rawbright(['adjust', path, '--gain', '1', '--window', '512', '--dry-run']);
    expect(adjust.stderr.trim()).toMatch(WARNING);
    // 64 KiB in 512-byte windows is 128 windows: nothing to warn about.
    const short = rawbright([
      'brighten',
      path,
      '--by',
      '1',
      '--window',
      '512',
      '--length',
      '64KiB',
      '--dry-run',
    ]);
    expect(short.status).toBe(0);
    expect(short.stderr).toBe('');
    expect(readFileSync(path).equals(input)).toBe(true);
  });

  it('is not warned about for a window of 1 MiB or more, a small file, or with --quiet', () => {
    const path = fixture(input);
    for (const args of [
      ['--window', '1MiB'],
      ['--window', '256KiB'],
      ['--window', '1000', '--quiet'],
    ]) {
      const result = rawbright(['brighten', path, '--by', '1', ...args, '--dry-run']);
      expect(result.status).toBe(0);
      expect(result.stderr).toBe('');
    }
    const small = fixture(randomBytes(64 * 1024, 4));
    const result = rawbright(['brighten', small, '--by', '1', '--window', '512']);
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
  });

  it('--window 0 and past 4 GiB are still refused as before (no auto meaning)', () => {
    const path = fixture(input);
    for (const window of ['0', '5GiB']) {
      const result = rawbright(['brighten', path, '--by', '1', '--window', window]);
      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(/window/);
    }
    expect(readFileSync(path).equals(input)).toBe(true);
  });
});

describe('enqueue --window', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  }, 60_000);
  afterAll(async () => {
    await redis?.stop();
  });
  const input = randomBytes(4 * 1024 * 1024 + 8 * 1000, 5);

  it("gives brighten's warning, once a file, before the jobs are enqueued; a big window none", () => {
    const path = fixture(input);
    const farm = ['--redis', redis.url, '--queue', 'window-warning'];
    const result = rawbright(['enqueue', path, '--by', '3', '--window', '1000', ...farm]);
    expect(result.status).toBe(0);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(WARNING.exec(lines[0]!)?.slice(1)).toEqual([
      '1000 bytes',
      path,
      String(Math.ceil(input.length / 1000)),
    ]);
    // The same words as brighten's, from the one function both call.
    const brighten = rawbright(['brighten', path, '--by', '3', '--window', '1000', '--dry-run']);
    expect(brighten.stderr).toBe(result.stderr);
    expect(result.stdout).toMatch(new RegExp(`^enqueued ${path} as job `));
    // Enqueued, not run: the file is as it was.
    expect(readFileSync(path).equals(input)).toBe(true);

    const quiet = rawbright(['enqueue', path, '--by', '3', '--window', '1MiB', ...farm]);
    expect(quiet.status).toBe(0);
    expect(quiet.stderr).toBe('');
  });
});
