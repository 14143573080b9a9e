import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chooseWorkers, sampleMachine } from '../../dist/brighten/workers.js';
import { brightenFile, resumeFile } from '../../dist/index.js';
import { expectedBrighten, randomBytes, tempDir, writeRaw } from '../helpers/raw.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('chooseWorkers: the rules of --workers auto', () => {
  const big = { bytes: 2 * GiB, windows: 32 };
  const idle = { cores: 2, load: 0.3 };

  it('two workers for a large file on 2 idle cores, and says why', () => {
    expect(chooseWorkers('auto', big, idle)).toEqual({
      workers: 2,
      reason: 'auto: 2 GiB file, 2 cores, load 0.3',
    });
  });

  it('never more than two, however many cores', () => {
    expect(chooseWorkers('auto', big, { cores: 64, load: 0 }).workers).toBe(2);
  });

  it('one worker below 1 GiB: the split does not pay for a thread start', () => {
    const choice = chooseWorkers('auto', { bytes: GiB - 8, windows: 16 }, idle);
    expect(choice.workers).toBe(1);
    expect(choice.reason).toMatch(/^auto: 1024\.0 MiB file, 2 cores, load 0\.3; below 1 GiB/);
    expect(chooseWorkers('auto', { bytes: GiB, windows: 16 }, idle).workers).toBe(2);
  });

  it('one worker on one core', () => {
    expect(chooseWorkers('auto', big, { cores: 1, load: 0 })).toEqual({
      workers: 1,
      reason: 'auto: 2 GiB file, 1 core, load 0; no second core',
    });
  });

  it('one worker when the recent load leaves no core free (load ≥ cores − 1)', () => {
    expect(chooseWorkers('auto', big, { cores: 2, load: 1 })).toMatchObject({ workers: 1 });
    expect(chooseWorkers('auto', big, { cores: 2, load: 1.84 }).reason).toBe(
      'auto: 2 GiB file, 2 cores, load 1.8; no core free',
    );
    expect(chooseWorkers('auto', big, { cores: 2, load: 0.99 }).workers).toBe(2);
    expect(chooseWorkers('auto', big, { cores: 8, load: 6.5 }).workers).toBe(2);
    expect(chooseWorkers('auto', big, { cores: 8, load: 7 }).workers).toBe(1);
  });

  it('goes by what other processes use just now, where that was measured, not by the load average', () => {
    // The last minute's load counts this very process's earlier runs: measured idle, two workers.
    expect(chooseWorkers('auto', big, { cores: 2, load: 1.9, busy: 0.04 })).toEqual({
      workers: 2,
      reason: 'auto: 2 GiB file, 2 cores, others using 0 of them',
    });
    expect(chooseWorkers('auto', big, { cores: 2, load: 0, busy: 0.5 }).workers).toBe(2);
    // A neighbour on a core: one worker, whatever the load says.
    expect(chooseWorkers('auto', big, { cores: 2, load: 0.1, busy: 0.97 })).toEqual({
      workers: 1,
      reason: 'auto: 2 GiB file, 2 cores, others using 1 of them; no core free',
    });
    expect(chooseWorkers('auto', big, { cores: 2, load: 0, busy: 0.6 }).workers).toBe(1);
    expect(chooseWorkers('auto', big, { cores: 8, load: 8, busy: 6.4 }).workers).toBe(2);
    expect(chooseWorkers('auto', big, { cores: 8, load: 0, busy: 6.6 }).workers).toBe(1);
  });

  it('samples the CPUs only for a job auto could split', async () => {
    expect((await sampleMachine('auto', GiB - 8)).busy).toBeUndefined();
    expect((await sampleMachine(2, 4 * GiB)).busy).toBeUndefined();
    const sampled = await sampleMachine('auto', 4 * GiB);
    if (sampled.cores >= 2) {
      // Other test files run beside this one: any amount from none to every core.
      expect(sampled.busy).toBeGreaterThanOrEqual(0);
      expect(sampled.busy).toBeLessThanOrEqual(sampled.cores + 0.01);
    }
  });

  it('one worker for a single window, however large', () => {
    expect(chooseWorkers('auto', { bytes: 4 * GiB, windows: 1 }, idle)).toMatchObject({ workers: 1 });
  });

  it('an explicit count is kept, clipped to the windows', () => {
    expect(chooseWorkers(3, { bytes: MiB, windows: 8 }, { cores: 1, load: 9 })).toEqual({
      workers: 3,
      reason: 'asked for 3',
    });
    expect(chooseWorkers(4, { bytes: MiB, windows: 2 }, idle)).toEqual({
      workers: 2,
      reason: 'asked for 4 (2 windows)',
    });
  });
});

describe('an auto run reports its choice', () => {
  const input = randomBytes(2 * MiB, 14);
  let counter = 0;
  const fixture = () => {
    const path = join(tmp.dir, `auto-${counter++}.raw`);
    writeRaw(path, input);
    return path;
  };

  it('the API default is auto: a small file gets one worker, and the report says so', async () => {
    const path = fixture();
    const report = await brightenFile(path, { by: 5, window: MiB, inThread: true });
    expect(report).toMatchObject({ workers: 1, workersChosen: 1, thread: 'main' });
    expect(report.workersReason).toMatch(/^auto: 2 MiB file, \d+ cores?, load [\d.]+; below 1 GiB/);
    const explicit = await brightenFile(fixture(), { by: 5, window: MiB, workers: 2 });
    expect(explicit).toMatchObject({ workers: 2, workersChosen: 2, workersReason: 'asked for 2' });
  });

  it("workers: 'auto' is accepted, anything else but a count is refused", async () => {
    const report = await brightenFile(fixture(), { by: 1, window: MiB, workers: 'auto' });
    expect(report.workersReason).toMatch(/^auto: /);
    await expect(brightenFile(fixture(), { by: 1, workers: 'two' as never })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
      message: expect.stringMatching(/'auto' or an integer from 1 to 64/),
    });
    const resumed = await resumeFile(fixture(), { workers: 'auto' });
    expect(resumed).toEqual({ resumed: false, path: expect.any(String) });
  });

  it('the CLI: --json carries the choice; --workers auto and a count both work; 0 is refused', () => {
    const cli = new URL('../../dist/cli/index.js', import.meta.url).pathname;
    const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
    for (const workers of [[], ['--workers', 'auto']]) {
      const path = fixture();
      const result = run('brighten', path, '--by', '7', '--window', '1MiB', ...workers, '--json');
      expect(result.status, result.stderr).toBe(0);
      const report = JSON.parse(result.stdout);
      expect(report).toMatchObject({ workers: 1, workersChosen: 1, thread: 'main' });
      expect(report.workersReason).toMatch(/^auto: 2 MiB file/);
      expect(readFileSync(path).equals(expectedBrighten(input, 7))).toBe(true);
    }
    const two = run('brighten', fixture(), '--by', '7', '--window', '1MiB', '--workers', '2', '--json');
    expect(JSON.parse(two.stdout)).toMatchObject({ workers: 2, workersReason: 'asked for 2' });
    const zero = run('brighten', fixture(), '--by', '7', '--workers', '0');
    expect(zero.status).toBe(2);
    expect(zero.stderr).toMatch(/--workers must be at least 1 \(or auto\)/);
  });
});
