// The kernel benchmark: the statistics helper, the result's shape, and the CLI subcommand (tiny sizes only).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  DEFAULT_KERNEL_BENCH_LAYOUTS,
  KERNEL_BENCH_ENTRIES,
  runKernelBench,
} from '../../dist/bench/kernel-bench.js';
import { summarize } from '../../dist/bench/stats.js';

const CLI = new URL('../../dist/cli/index.js', import.meta.url).pathname;

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
      expect(result.ratios.vsNative[entry]).toBeCloseTo(gbps.median / result.kernels.native.gbps.median, 10);
      expect(result.ratios.vsJs[entry]).toBeCloseTo(gbps.median / result.kernels.js.gbps.median, 10);
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
      expect(out).toMatch(/^layout +js +wasm +wasm-simd +native$/m);
      for (const { label } of DEFAULT_KERNEL_BENCH_LAYOUTS) {
        const escaped = label.replace(/[()+/]/g, (c) => `\\${c}`);
        expect(out).toMatch(new RegExp(`^${escaped} +[\\d.]+ +[\\d.]+ +[\\d.]+ +[\\d.]+$`, 'm'));
      }
      // Results, not acceptance targets: those stay in the JSON.
      expect(out).not.toMatch(/NOT met|\(met\)/);
      const result = JSON.parse(readFileSync(json, 'utf8'));
      expect(result.runs).toBe(2);
      expect(Object.keys(result.kernels)).toEqual(['js', 'wasm', 'wasm-simd', 'native', 'memcpy']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a size that is not whole pixels is a usage error (exit 2)', () => {
    const run = spawnSync(process.execPath, [CLI, 'bench', 'kernels', '--size', '12'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/^rawbright: --size must be a positive multiple of 8 bytes$/m);
  });
});
