import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const CLI = new URL('../../dist/cli/index.js', import.meta.url).pathname;

describe('rawbright brighten options', () => {
  it('reports a mistyped option as unknown, not as a missing --by', () => {
    const result = spawnSync('node', [CLI, 'brighten', 'x.raw', '--bye', '10'], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/^rawbright: unknown option '--bye'/);
    expect(result.stderr).not.toMatch(/required option/);
  });

  it('still reports a missing --by', () => {
    const result = spawnSync('node', [CLI, 'brighten', 'x.raw'], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toBe("rawbright: required option '--by <n>' not specified\n");
  });
});

describe('rawbright enqueue options', () => {
  it('reports a mistyped --by as unknown, as brighten does, before reaching for Redis', () => {
    const typo = spawnSync('node', [CLI, 'enqueue', 'x.raw', '--bye', '10'], { encoding: 'utf8' });
    expect(typo.status).toBe(2);
    expect(typo.stderr).toMatch(/^rawbright: unknown option '--bye'/);
    const missing = spawnSync('node', [CLI, 'enqueue', 'x.raw'], { encoding: 'utf8' });
    expect([missing.status, missing.stderr]).toEqual([
      2,
      "rawbright: required option '--by <n>' not specified\n",
    ]);
  });
});

describe('the same name for the same thing in every subcommand', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'rawbright-options-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const rawbright = (args: string[]) => spawnSync('node', [CLI, ...args], { encoding: 'utf8' });
  /** A 16x8 raw file without a sidecar. */
  function bare(): string {
    const path = join(tmp, `bare-${Math.random().toString(36).slice(2)}.raw`);
    writeFileSync(path, Buffer.alloc(16 * 8 * 8, 0x11));
    return path;
  }

  it.each(['export', 'info', 'preview'])(
    '%s reads a raw file without a sidecar from --raw-width/--raw-height',
    (command) => {
      const raw = bare();
      const args = command === 'info' ? [raw] : [raw, `${raw}.${command}.png`];
      const result = rawbright([command, ...args, '--raw-width', '16', '--raw-height', '8']);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(rawbright([command, '--help']).stdout).toMatch(
        /--raw-width <pixels>[\s\S]*--raw-height <pixels>/,
      );
    },
  );

  it('export and info keep their documented --width/--height as hidden aliases', () => {
    const raw = bare();
    expect(rawbright(['export', raw, `${raw}.png`, '--width', '16', '--height', '8']).status).toBe(0);
    expect(rawbright(['info', raw, '--width', '16', '--height', '8', '--json']).status).toBe(0);
    expect(rawbright(['export', '--help']).stdout).not.toMatch(/ --width/);
    const clash = rawbright(['info', raw, '--raw-width', '16', '--width', '8', '--height', '8']);
    expect(clash.status).toBe(2);
    expect(clash.stderr).toBe('rawbright: --raw-width 16 and --width 8 disagree: give --raw-width alone\n');
  });

  it("preview's --width is the preview's; its hint for a raw file without a sidecar names the options it takes", () => {
    const raw = bare();
    const result = rawbright(['preview', raw, `${raw}.png`, '--width', '4']);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/has no sidecar .*--raw-width.*--raw-height/);
    expect(result.stderr).not.toMatch(/--width/);
    const ok = rawbright([
      'preview',
      raw,
      `${raw}.png`,
      '--width',
      '4',
      '--raw-width',
      '16',
      '--raw-height',
      '8',
    ]);
    expect(ok.stdout).toMatch(/-> .*: 4x2, 8-bit/);
  });

  it.each([
    ['brighten', ['--by', '1']],
    ['adjust', ['--gain', '1.5']],
    ['brighten --dry-run', ['--by', '1', '--dry-run']],
  ])('%s refuses a --type that contradicts the sidecar, as info and export do', (command, extra) => {
    const raw = bare();
    writeFileSync(
      `${raw}.json`,
      JSON.stringify({ width: 16, height: 8, channels: 4, sampleType: 'uint16', byteOrder: 'little' }),
    );
    const before = readFileSync(raw);
    for (const args of [
      [...command.split(' '), raw, ...extra, '--type', 'int16'],
      ['info', raw, '--type', 'int16'],
      ['export', raw, `${raw}.png`, '--type', 'int16'],
    ]) {
      const result = rawbright(args);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(
        /^rawbright: the sidecar .*\.raw\.json says 16x8 uint16 but the options say --type int16\n$/,
      );
    }
    expect(readFileSync(raw).equals(before)).toBe(true);
    // The sidecar's own type is no contradiction.
    expect(rawbright([...command.split(' '), raw, ...extra, '--type', 'uint16']).status).toBe(0);
  });
});
