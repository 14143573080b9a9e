// Linear chains (add, gain, levels, invert) as f64 SIMD arithmetic (wasm-simd linearSimd, native LinearRange),
// run directly (not through the host's choice of path) on every 16-bit value of every band, against a float64
// reference (test/helpers/adjust-reference.ts), independent of src/kernels/ops.ts and src/kernels/linear.ts.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, test, vi } from 'vitest';
import { native } from '../../dist/addon.js';
import {
  type AdjustOp,
  checkOps,
  createKernel,
  type SampleType,
  wasmDataEnd,
} from '../../dist/kernels/index.js';
import { linearProgram } from '../../dist/kernels/linear.js';
import { createNativeKernel } from '../../dist/kernels/native.js';
import { checkBrightenArgs } from '../../dist/kernels/types.js';
import { createWasmKernel } from '../../dist/kernels/wasm.js';
import { reference, rint } from '../helpers/adjust-reference.js';

type Bands = 1 | 2 | 3 | 4;

const per = (values: number[], bands: Bands) => values.slice(0, bands);

const CHAINS: Record<string, (bands: Bands) => AdjustOp[]> = {
  'gain 0': () => [{ op: 'gain', value: 0 }],
  'gain 1.37': () => [{ op: 'gain', value: 1.37 }],
  'gain huge (1e300)': () => [{ op: 'gain', value: 1e300 }],
  'gain tiny (5e-324)': () => [{ op: 'gain', value: 5e-324 }],
  'add negative fraction': () => [{ op: 'add', value: -0.5 }],
  'add -70000.5 (below every value)': () => [{ op: 'add', value: -70000.5 }],
  'per-band add': (bands) => [{ op: 'add', value: per([0.5, -1.5, 2.5, 1000.25], bands) }],
  'levels narrow 30000:30001': () => [{ op: 'levels', black: 30000, white: 30001 }],
  'levels per band': (bands) => [
    {
      op: 'levels',
      black: per([-5000, 100, 2000.5, 0], bands),
      white: per([60000, 40000.25, 65535, 9], bands),
    },
  ],
  'levels huge span (-1e300:1e300)': () => [{ op: 'levels', black: -1e300, white: 1e300 }],
  invert: () => [{ op: 'invert' }],
  'invert, add': () => [{ op: 'invert' }, { op: 'add', value: 0.5 }],
  'gain, add, gain': () => [
    { op: 'gain', value: 1.5 },
    { op: 'add', value: -1000.5 },
    { op: 'gain', value: 0.7 },
  ],
  'levels, gain, add, invert (per band)': (bands) => [
    { op: 'levels', black: per([100, 200, 300, 400], bands), white: 60000 },
    { op: 'gain', value: per([1.05, 0.95, 1.5, 2], bands) },
    { op: 'add', value: -300.5 },
    { op: 'invert' },
  ],
};

const CASES: { type: SampleType; max?: number }[] = [
  { type: 'uint16' },
  { type: 'int16' },
  { type: 'uint16', max: 4095 },
];

const KERNELS = ['wasm-simd', 'native'] as const;

describe('linear chains as SIMD arithmetic equal the float64 reference on every 16-bit value', () => {
  const memory = new WebAssembly.Memory({ initial: 96, maximum: 96 });
  const kernels = { 'wasm-simd': createWasmKernel('wasm-simd', memory), native: createNativeKernel() };
  for (const name of KERNELS) {
    for (const [chainName, chain] of Object.entries(CHAINS)) {
      test(`${name}: ${chainName}`, () => {
        const kernel = kernels[name];
        const view = new DataView(memory.buffer);
        const bytes = new Uint8Array(memory.buffer);
        for (const { type, max } of CASES) {
          for (const bands of [1, 2, 3, 4] as Bands[]) {
            for (const alpha of bands === 2 || bands === 4 ? [false, true] : [false]) {
              const lo = type === 'int16' ? -32768 : 0;
              const hi = type === 'int16' ? 32767 : (max ?? 65535);
              const ops = chain(bands);
              const checkedOps = checkOps(ops, bands, !alpha && (bands === 2 || bands === 4));
              const program = linearProgram(checkedOps, bands, lo, hi);
              expect(program).toBeDefined();
              const changed = (band: number) =>
                alpha || !((bands === 2 || bands === 4) && band === bands - 1);
              // Per band, the reference result of every bit pattern.
              const want = Array.from({ length: bands }, (_, band) => {
                const table = new Uint16Array(65536);
                for (let bits = 0; bits < 65536; bits++) {
                  const x = type === 'int16' && bits >= 32768 ? bits - 65536 : bits;
                  table[bits] = changed(band) ? reference(ops, band, x, lo, hi) & 0xffff : bits;
                }
                return table;
              });
              // 65,536 pixels (each band sees every value once) plus an odd tail of 3, at an odd offset.
              for (const [bigEndian, misalign, pixels] of [
                [false, 1, 65536 + 3],
                [true, 0, 65536 + 1],
                [true, 3, 65536 + 7],
              ] as [boolean, number, number][]) {
                const at = wasmDataEnd() + 65536 + misalign;
                const count = pixels * bands;
                const value = (i: number) => (Math.floor(i / bands) * 40503 + (i % bands) * 7919) & 0xffff;
                bytes.fill(0xa5, at - 16, at + count * 2 + 16);
                for (let i = 0; i < count; i++) view.setUint16(at + 2 * i, value(i), !bigEndian);
                const layout = checkBrightenArgs(memory.buffer, at, count * 2, {
                  delta: 0,
                  type,
                  bands,
                  alpha,
                  byteOrder: bigEndian ? 'big' : 'little',
                  ...(max !== undefined && { max }),
                });
                kernel.linear?.(memory.buffer, at, count * 2, program as never, layout);
                let differ = 0;
                let first: unknown;
                for (let i = 0; i < count; i++) {
                  const bits = value(i);
                  const got = view.getUint16(at + 2 * i, !bigEndian);
                  const expected = (want[i % bands] as Uint16Array)[bits];
                  if (got !== expected) {
                    differ++;
                    first ??= { type, max, bands, alpha, bigEndian, i, bits, got, expected };
                  }
                }
                expect(first ?? 'equal').toBe('equal');
                expect(differ).toBe(0);
                expect(bytes[at - 1]).toBe(0xa5);
                expect(bytes[at + count * 2]).toBe(0xa5);
              }
            }
          }
        }
      });
    }
  }

  test('chains with gamma, or levels whose W - B overflows, get no program (they stay on the tables)', () => {
    expect(linearProgram(checkOps([{ op: 'gamma', value: 2 }], 1), 1, 0, 65535)).toBeUndefined();
    expect(
      linearProgram(checkOps([{ op: 'levels', black: -1.7e308, white: 1.7e308 }], 1), 1, 0, 65535),
    ).toBeUndefined();
  });
});

describe('the host runs a short add/gain chain as arithmetic, and levels through the tables', () => {
  test('native: gain 1.1 through native.applyLinear; levels through native.applyTables', () => {
    const linear = vi.spyOn(native, 'applyLinear');
    const tables = vi.spyOn(native, 'applyTables');
    try {
      const kernel = createKernel('native', new WebAssembly.Memory({ initial: 1 }));
      const buffer = new ArrayBuffer(3 * 2 * 5);
      const view = new DataView(buffer);
      for (let i = 0; i < 15; i++) view.setUint16(2 * i, i * 4001, true);
      kernel.brighten(buffer, 0, 30, {
        delta: 0,
        type: 'uint16',
        bands: 3,
        ops: checkOps([{ op: 'gain', value: 1.1 }], 3),
      });
      expect(linear).toHaveBeenCalledTimes(1);
      expect(tables).not.toHaveBeenCalled();
      for (let i = 0; i < 15; i++)
        expect(view.getUint16(2 * i, true)).toBe(Math.min(rint(i * 4001 * 1.1), 65535));
      kernel.brighten(buffer, 0, 30, {
        delta: 0,
        type: 'uint16',
        bands: 3,
        ops: checkOps([{ op: 'levels', black: 10, white: 50000 }], 3),
      });
      expect(linear).toHaveBeenCalledTimes(1);
      expect(tables).toHaveBeenCalledTimes(1);
    } finally {
      linear.mockRestore();
      tables.mockRestore();
    }
  });

  test('native.applyLinear refuses a program shorter than its ops or with a bad op, changing nothing', () => {
    const buffer = new ArrayBuffer(16);
    new Uint8Array(buffer).fill(9);
    expect(() =>
      native.applyLinear(buffer, 0, 16, new ArrayBuffer(8), 1, 1, 1, false, false, 0, 65535),
    ).toThrow(/shorter/);
    const bad = new ArrayBuffer(16);
    new DataView(bad).setInt32(0, 7, true);
    expect(() => native.applyLinear(buffer, 0, 16, bad, 1, 1, 1, false, false, 0, 65535)).toThrow(/bad op/);
    expect(new Uint8Array(buffer).every((b) => b === 9)).toBe(true);
  });
});

// On AVX2 machines native.applyLinear runs its AVX2 loop and the SSE2 one only for the last < 32 bytes; x86-64
// CPUs without AVX2 run SSE2 alone. RAWBRIGHT_KERNEL_PATH=sse2 turns AVX2 off: the native chains of this file run
// again that way in a child process, so both paths are proven equal to the reference on every value.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
describe('the native SSE2 path of the linear chains', () => {
  if (process.env.RAWBRIGHT_KERNEL_PATH === 'sse2') {
    test('is the path taken here (RAWBRIGHT_KERNEL_PATH=sse2)', () => {
      expect(native.brightenPath).toBe('sse2');
    });
  } else {
    test('passes every native chain with AVX2 turned off', () => {
      const run = spawnSync(
        process.execPath,
        [
          `${ROOT}node_modules/vitest/vitest.mjs`,
          'run',
          'test/kernels/linear.test.ts',
          '--reporter=verbose',
          '-t',
          'native',
        ],
        {
          cwd: ROOT,
          encoding: 'utf8',
          env: { ...process.env, RAWBRIGHT_KERNEL_PATH: 'sse2', NO_COLOR: '1' },
        },
      );
      expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
      expect(run.stdout).toMatch(/is the path taken here/);
      expect(run.stdout).toMatch(/native: levels, gain, add, invert \(per band\)/);
    }, 120_000);
  }
});
