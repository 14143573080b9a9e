// The kernel benchmark: the statistics helper, the result's shape, and the CLI subcommand (tiny sizes only).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { KERNEL_BENCH_ENTRIES, runKernelBench } from '../../dist/bench/kernel-bench.js';
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
