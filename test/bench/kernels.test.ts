// The kernel benchmark: the statistics helper, the result's shape, and the CLI subcommand (tiny sizes only).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { buildCharts } from '../../dist/bench/chart.js';
import {
  DEFAULT_KERNEL_BENCH_LAYOUTS,
  DEFAULT_KERNEL_BENCH_OPERATIONS,
  KERNEL_BENCH_ENTRIES,
  runKernelBench,
} from '../../dist/bench/kernel-bench.js';
import { describeMachine, describeVersions } from '../../dist/bench/machine.js';
import { cpuTimeOnce, pairedSpeedRatio, summarize } from '../../dist/bench/stats.js';

const CLI = new URL('../../dist/cli/index.js', import.meta.url).pathname;

describe('cpuTimeOnce', () => {
  test('counts the CPU the work used, not the time the process slept', async () => {
    // Busy for 30 ms of wall time: some CPU time, never more than the wall time (one thread).
    const started = process.hrtime.bigint();
    const spin = cpuTimeOnce(() => {
      const end = Date.now() + 30;
      while (Date.now() < end);
    });
    const wall = Number(process.hrtime.bigint() - started) / 1e9;
    expect(spin).toBeGreaterThan(0);
    expect(spin).toBeLessThanOrEqual(wall + 0.005);
    // Blocked in the kernel for 50 ms (Atomics.wait sleeps the thread without using the CPU).
    const slept = cpuTimeOnce(() => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50));
    expect(slept).toBeLessThan(0.025);
  });
});

describe('pairedSpeedRatio', () => {
  test('takes the median of the run-by-run speed ratios, not the ratio of the medians', () => {
    // b's third run was slowed by a neighbour: the pairs say a is 2x, 1x and 3x as fast.
    expect(pairedSpeedRatio([1, 2, 1], [2, 2, 3])).toBe(2);
    // A drift that slows both sides of every pair alike leaves the ratio alone.
    expect(pairedSpeedRatio([1, 2, 4, 8, 16], [2, 4, 8, 16, 32])).toBe(2);
    expect(() => pairedSpeedRatio([1], [1, 2])).toThrow(RangeError);
    expect(() => pairedSpeedRatio([], [])).toThrow(RangeError);
  });
});

describe('summarize', () => {
  test('min, median and max of odd and even counts', () => {
    expect(summarize([3, 1, 2])).toEqual({ min: 1, median: 2, max: 3 });
    expect(summarize([4, 1, 3, 2])).toEqual({ min: 1, median: 2.5, max: 4 });
    expect(summarize([7])).toEqual({ min: 7, median: 7, max: 7 });
    expect(() => summarize([])).toThrow(RangeError);
  });
});

describe('runKernelBench', () => {
  test('measures every kernel and memcpy, with ratios against native and js', () => {
    const result = runKernelBench({
      runs: 3,
      sizeBytes: 64 * 1024,
      params: { delta: -5, type: 'int16', channels: 'rgba' },
    });
    expect(result.sizeBytes).toBe(64 * 1024);
    expect(result.params).toEqual({ delta: -5, type: 'int16', channels: 'rgba' });
    for (const entry of KERNEL_BENCH_ENTRIES) {
      const { gbps, seconds } = result.kernels[entry];
      expect(seconds).toHaveLength(3);
      expect(gbps.min).toBeGreaterThan(0);
      expect(gbps.min).toBeLessThanOrEqual(gbps.median);
      expect(gbps.median).toBeLessThanOrEqual(gbps.max);
      // The ratios pair the runs of one round (see pairedSpeedRatio), recomputed here from the raw seconds.
      const native = result.kernels.native.seconds;
      const js = result.kernels.js.seconds;
      expect(result.ratios.vsNative[entry]).toBeCloseTo(
        summarize(seconds.map((t, i) => native[i]! / t)).median,
        10,
      );
      expect(result.ratios.vsJs[entry]).toBeCloseTo(summarize(seconds.map((t, i) => js[i]! / t)).median, 10);
    }
    expect(result.ratios.vsNative.native).toBe(1);
    expect(result.targets.map((t) => t.wanted)).toEqual([0.9, 15]);
  });

  test('measures each layout on a whole number of its pixels, big-endian against little-endian', () => {
    const layouts = DEFAULT_KERNEL_BENCH_LAYOUTS.filter((l) => l.label.startsWith('3 bands (RGB)'));
    expect(layouts).toHaveLength(2);
    const result = runKernelBench({ runs: 2, sizeBytes: 64 * 1024, layouts });
    expect(result.layouts.map((l) => l.label)).toEqual(layouts.map((l) => l.label));
    for (const layout of result.layouts) {
      expect(layout.bytes).toBe(64 * 1024 - ((64 * 1024) % 6));
      for (const name of ['js', 'wasm', 'wasm-simd', 'native'] as const) {
        expect(layout.kernels[name].seconds).toHaveLength(2);
        expect(layout.kernels[name].gbps.min).toBeGreaterThan(0);
      }
    }
    const [big, little] =
      result.layouts[0].params.byteOrder === 'big' ? result.layouts : [...result.layouts].reverse();
    expect(result.layoutTargets.map((t) => t.wanted)).toEqual([0.8, 0.8]);
    expect(result.layoutTargets[0].measured).toBeCloseTo(
      big.kernels['wasm-simd'].gbps.median / little.kernels['wasm-simd'].gbps.median,
      10,
    );
    expect(runKernelBench({ runs: 1, sizeBytes: 64, layouts: [] }).layouts).toEqual([]);
    expect(() =>
      runKernelBench({
        runs: 1,
        sizeBytes: 64,
        layouts: [{ label: 'nothing', params: { delta: 0, type: 'uint16' } }],
      }),
    ).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });

  test('measures every adjust operation on every kernel, with ratios to js and native and the wasm table target', () => {
    const result = runKernelBench({ runs: 2, sizeBytes: 64 * 1024, layouts: [] });
    expect(result.operations.map((o) => o.label)).toEqual(
      DEFAULT_KERNEL_BENCH_OPERATIONS.map((o) => o.label),
    );
    expect(result.operations.map((o) => o.label)).toEqual([
      'add +1000',
      'gain 1.1',
      'add +0.5 (a fraction)',
      'gain 1.1, add -100.5',
      'levels 1000:60000',
      'gamma 2.2',
      'invert',
      'levels, gain, gamma, invert',
    ]);
    for (const o of result.operations) {
      expect(o.bytes).toBe(64 * 1024);
      expect(o.params.ops?.length).toBeGreaterThan(0);
      for (const name of ['js', 'wasm', 'wasm-simd', 'native'] as const) {
        expect(o.kernels[name].seconds).toHaveLength(2);
        expect(o.kernels[name].gbps.min).toBeGreaterThan(0);
        const own = o.kernels[name].seconds;
        expect(o.ratios.vsJs[name]).toBeCloseTo(pairedSpeedRatio(own, o.kernels.js.seconds), 10);
        expect(o.ratios.vsNative[name]).toBeCloseTo(
          summarize(own.map((t, i) => o.kernels.native.seconds[i]! / t)).median,
          10,
        );
      }
    }
    // Every operation but the whole add: wasm against 1 GB/s, wasm-simd against 1 GB/s (tables) or 0.9x native
    // (the three linear rows, arithmetic on native).
    expect(result.operationTargets).toHaveLength(14);
    expect(result.operationTargets.filter((t) => t.wanted === 0.9).map((t) => t.description)).toEqual([
      'wasm-simd gain 1.1 (linear) at least 0.9x native',
      'wasm-simd add +0.5 (a fraction) (linear) at least 0.9x native',
      'wasm-simd gain 1.1, add -100.5 (linear) at least 0.9x native',
    ]);
    expect(result.operationTargets[1]?.measured).toBe(result.operations[1]?.ratios.vsNative['wasm-simd']);
    expect(result.operationTargets[0]?.description).toBe('wasm gain 1.1 at least 1 GB/s');
    expect(result.operationTargets[0]?.measured).toBe(result.operations[1]?.kernels.wasm.gbps.median);
    expect(runKernelBench({ runs: 1, sizeBytes: 64, layouts: [], operations: [] }).operations).toEqual([]);
    const charts = buildCharts({
      machine: describeMachine(),
      versions: describeVersions(),
      date: '2026-12-02T00:00:00.000Z',
      command: 'test',
      quick: false,
      durationSeconds: 1,
      kernels: result,
    });
    const kernels = JSON.stringify(charts.find((c) => c.name === 'kernels')?.spec);
    expect(kernels).toContain('Adjust operations per kernel');
    expect(kernels).toContain('gamma 2.2 · wasm-simd');
  });

  test('refuses sizes that are not whole pixels and zero runs', () => {
    expect(() => runKernelBench({ sizeBytes: 12 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(() => runKernelBench({ runs: 0, sizeBytes: 64 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
  });
});

describe('rawbright bench kernels', () => {
  test('prints the table and writes the JSON result', () => {
    const dir = mkdtempSync(`${tmpdir()}/rawbright-`);
    try {
      const json = join(dir, 'kernels.json');
      const out = execFileSync(
        process.execPath,
        [CLI, 'bench', 'kernels', '--runs', '2', '--size', '128KiB', '--json', json],
        {
          encoding: 'utf8',
        },
      );
      expect(out).toMatch(/^kernel +GB\/s min +median +max +vs native +vs js$/m);
      for (const row of ['js', 'wasm', 'wasm-simd', 'native', 'memcpy \\(bytes copied\\)']) {
        expect(out).toMatch(new RegExp(`^${row} +[\\d.]+ +[\\d.]+ +[\\d.]+ +[\\d.]+x +[\\d.]+x$`, 'm'));
      }
      expect(out).toMatch(
        /^operation +js +wasm +wasm-simd +native +wasm vs js +wasm-simd vs js +wasm vs native +wasm-simd vs native$/m,
      );
      for (const { label } of DEFAULT_KERNEL_BENCH_OPERATIONS) {
        const escaped = label.replace(/[()+/.]/g, (c) => `\\${c}`);
        expect(out).toMatch(new RegExp(`^${escaped} +([\\d.]+ +){4}([\\d.]+x +){3}[\\d.]+x$`, 'm'));
      }
      expect(out).toMatch(/^layout +js +wasm +wasm-simd +native$/m);
      for (const { label } of DEFAULT_KERNEL_BENCH_LAYOUTS) {
        const escaped = label.replace(/[()+/]/g, (c) => `\\${c}`);
        expect(out).toMatch(new RegExp(`^${escaped} +[\\d.]+ +[\\d.]+ +[\\d.]+ +[\\d.]+$`, 'm'));
      }
      // Results, not acceptance targets: those stay in the JSON.
      expect(out).not.toMatch(/NOT met|\(met\)/);
      expect(out).toMatch(/timed by wall time;/);
      const result = JSON.parse(readFileSync(json, 'utf8'));
      expect(result.runs).toBe(2);
      expect(result.clock).toBe('wall');
      expect(Object.keys(result.kernels)).toEqual(['js', 'wasm', 'wasm-simd', 'native', 'memcpy']);
      expect(result.operations).toHaveLength(DEFAULT_KERNEL_BENCH_OPERATIONS.length);
      expect(result.operationTargets).toHaveLength(14);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('--clock cpu times the runs by the process CPU time, and says so; another clock is a usage error', () => {
    const dir = mkdtempSync(`${tmpdir()}/rawbright-`);
    try {
      const json = join(dir, 'kernels.json');
      const out = execFileSync(
        process.execPath,
        [CLI, 'bench', 'kernels', '--runs', '2', '--size', '64KiB', '--clock', 'cpu', '--json', json],
        { encoding: 'utf8' },
      );
      expect(out).toMatch(/timed by the process CPU time;/);
      expect(out).toMatch(/GB\/s = 10\^9 bytes per CPU second/);
      const result = JSON.parse(readFileSync(json, 'utf8'));
      expect(result.clock).toBe('cpu');
      for (const figures of Object.values(result.kernels) as { seconds: number[] }[]) {
        expect(figures.seconds).toHaveLength(2);
        for (const seconds of figures.seconds) expect(seconds).toBeGreaterThanOrEqual(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const bad = spawnSync(process.execPath, [CLI, 'bench', 'kernels', '--clock', 'sundial'], {
      encoding: 'utf8',
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--clock/);
  });

  test('a size that is not whole pixels is a usage error (exit 2)', () => {
    const run = spawnSync(process.execPath, [CLI, 'bench', 'kernels', '--size', '12'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^rawbright: --size must be a positive multiple of 8 bytes$/m);
  });
});
