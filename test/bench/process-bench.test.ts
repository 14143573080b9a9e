// The whole-process parts of `rawbright bench`: batch (one command over many files against the native
// reference per file) and startup (a small file against bare node). Shapes only, never timings: the
// machine is shared.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { buildCharts } from '../../dist/bench/chart.js';
import { runBatchBench, runStartupBench } from '../../dist/bench/process-bench.js';
import { formatBenchResult } from '../../dist/bench/report.js';
import { BENCH_PARTS, FULL_PRESET, QUICK_PRESET } from '../../dist/bench/suite.js';
import { tempDir } from '../helpers/raw.js';

const CLI = new URL('../../dist/cli/index.js', import.meta.url).pathname;
const MiB = 1024 * 1024;
const tmp = tempDir();
afterAll(() => tmp.cleanup());

function expectProcessCase(c: unknown, id: string, runs: number) {
  expect(c).toMatchObject({ id, label: expect.any(String) });
  const { seconds, summary } = c as {
    seconds: number[];
    summary: { min: number; median: number; max: number };
  };
  expect(seconds).toHaveLength(runs);
  for (const s of seconds) expect(s).toBeGreaterThan(0);
  expect(summary.min).toBeLessThanOrEqual(summary.median);
  expect(summary.median).toBeLessThanOrEqual(summary.max);
}

describe('the presets', () => {
  test('the full batch is 32 files of 32 MiB and start-up a 64 KiB file; --quick is smaller', () => {
    expect(BENCH_PARTS).toEqual(['kernels', 'file', 'batch', 'startup']);
    expect(FULL_PRESET.batch).toEqual({ files: 32, fileBytes: 32 * MiB });
    expect(FULL_PRESET.startupBytes).toBe(64 * 1024);
    expect(QUICK_PRESET.batch.fileBytes).toBeLessThan(FULL_PRESET.batch.fileBytes);
    expect(QUICK_PRESET.startupBytes).toBeLessThan(FULL_PRESET.startupBytes);
  });
});

describe('a tiny batch and start-up run, their tables and chart', () => {
  test('batch: rawbright against the native reference, each run timed, a ratio of medians', () => {
    const batch = runBatchBench({ dir: tmp.dir, files: 3, fileBytes: MiB, runs: 2 });
    expect(batch).toMatchObject({ files: 3, fileBytes: MiB, runs: 2, notes: [] });
    expectProcessCase(batch.rawbright, 'rawbright', 2);
    expectProcessCase(batch.reference, 'native', 2);
    expect(batch.vsReference).toBeCloseTo(
      batch.reference!.summary.median / batch.rawbright.summary.median,
      10,
    );
    expect(batch.gbps).toBeCloseTo((3 * MiB) / batch.rawbright.summary.median / 1e9, 10);

    const startup = runStartupBench({ dir: tmp.dir, fileBytes: 64 * 1024, runs: 2 });
    expect(startup).toMatchObject({ fileBytes: 64 * 1024, runs: 2 });
    expectProcessCase(startup.rawbright, 'rawbright', 2);
    expectProcessCase(startup.node, 'node', 2);
    expect(startup.vsNode).toBeCloseTo(startup.rawbright.summary.median / startup.node.summary.median, 10);

    const result = {
      machine: {
        cpuModel: 'x',
        cores: 2,
        memoryBytes: 1,
        platform: 'linux',
        release: '',
        loadAverage: { start: 0 },
      },
      versions: { node: '', v8: '', rawbright: '' },
      date: '2026-12-02T00:00:00.000Z',
      command: 'rawbright bench',
      quick: true,
      durationSeconds: 1,
      batch,
      startup,
    };
    const text = formatBenchResult(result as never);
    expect(text).toMatch(/^Batch: 3 files of 1 MiB, warm, whole processes, 2 runs alternated/m);
    expect(text).toMatch(/^rawbright brighten \(3 files, one command\) .* \d+\.\d\dx$/m);
    expect(text).toMatch(/^native C\+\+ reference \(one process per file\) .* 1\.00x$/m);
    expect(text).toMatch(/^Start-up: one 64 KiB file, whole processes, 2 runs alternated/m);
    expect(text).toMatch(/^node -e 0 .* 1\.00x$/m);

    const charts = buildCharts(result as never);
    const processChart = charts.find((c) => c.name === 'process');
    expect(processChart).toBeDefined();
    const json = JSON.stringify(processChart!.spec);
    expect(json).toContain('Batch: 3 files of 1 MiB');
    expect(json).toContain('Start-up: one 64 KiB file');
  }, 120_000);

  test('rawbright bench startup --json: the part alone, with machine and command', () => {
    const file = join(tmp.dir, 'startup.json');
    const run = spawnSync(
      process.execPath,
      [CLI, 'bench', 'startup', '--quick', '--runs', '1', '--dir', tmp.dir, '--json', file],
      { encoding: 'utf8' },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^Start-up: one 4 KiB file, whole processes, 1 run alternated/m);
    const result = JSON.parse(readFileSync(file, 'utf8'));
    expect(result).toMatchObject({ quick: true, command: expect.stringMatching(/bench startup/) });
    expect(result.file).toBeUndefined();
    expect(result.batch).toBeUndefined();
    expectProcessCase(result.startup.rawbright, 'rawbright', 1);
    expect(result.startup.vsNode).toEqual(expect.any(Number));
  }, 60_000);

  test('--runs 0 is refused', () => {
    const run = spawnSync(process.execPath, [CLI, 'bench', 'batch', '--runs', '0'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/--runs must be at least 1/);
  });
});
