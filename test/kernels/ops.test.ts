// The adjust ops (issue 15): their checks, and the lookup tables checked against the float64 reference of
// test/helpers/adjust-reference.ts (independent of src/kernels/ops.ts), on random data with every edge value, and
// against numpy.
import { spawnSync } from 'node:child_process';
import { describe, expect, test, vi } from 'vitest';
import { native } from '../../dist/addon.js';
import {
  type AdjustOp,
  applyTables,
  buildTables,
  checkOps,
  createKernel,
  KERNEL_NAMES,
  roundHalfEven,
  type SampleType,
  tablesAreInvert,
  tablesAsAdd,
  wasmDataEnd,
} from '../../dist/kernels/index.js';
import { reference } from '../helpers/adjust-reference.js';

type Bands = 1 | 2 | 3 | 4;

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EDGE_BITS = [0, 1, 2, 1000, 4094, 4095, 4096, 32766, 32767, 32768, 32769, 64535, 65534, 65535];

/** Random samples with every edge value, for `pixels` pixels of `bands` samples plus an odd tail of pixels. */
function samples(pixels: number, bands: Bands, seed: number): Uint16Array {
  const next = random(seed);
  const out = new Uint16Array(pixels * bands);
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(next() * 65536);
  EDGE_BITS.forEach((bits, i) => {
    for (let b = 0; b < bands; b++) out[(i * bands + b) % out.length] = bits;
  });
  return out;
}

const CHAINS: Record<string, (bands: Bands) => AdjustOp[]> = {
  add: () => [{ op: 'add', value: 1234 }],
  'add negative fraction': () => [{ op: 'add', value: -0.5 }],
  'add, then gain 1 (a saturating add, run as brighten)': () => [
    { op: 'add', value: -1234 },
    { op: 'gain', value: 1 },
  ],
  gain: () => [{ op: 'gain', value: 1.37 }],
  'gain 0': () => [{ op: 'gain', value: 0 }],
  levels: () => [{ op: 'levels', black: 1000, white: 60001 }],
  gamma: () => [{ op: 'gamma', value: 2.2 }],
  'gamma dark': () => [{ op: 'gamma', value: 0.45 }],
  invert: () => [{ op: 'invert' }],
  'per-band gain': (bands) => [{ op: 'gain', value: [1.1, 1.0, 0.9, 0.5].slice(0, bands) }],
  chain: (bands) => [
    { op: 'levels', black: [100, 200, 300, 400].slice(0, bands), white: 60000 },
    { op: 'gain', value: 1.05 },
    { op: 'add', value: -300.5 },
    { op: 'gamma', value: [2.2, 1.8, 1.0, 0.7].slice(0, bands) },
    { op: 'invert' },
  ],
};

const CASES: { type: SampleType; max?: number }[] = [
  { type: 'uint16' },
  { type: 'int16' },
  { type: 'uint16', max: 4095 },
];

describe('adjust tables against the float64 reference', () => {
  for (const { type, max } of CASES) {
    for (const bands of [1, 2, 3, 4] as Bands[]) {
      for (const alpha of bands === 2 || bands === 4 ? [false, true] : [false]) {
        for (const [name, chain] of Object.entries(CHAINS)) {
          test(`${name}, ${type}${max ? ` max ${max}` : ''}, ${bands} bands${alpha ? ' + alpha' : ''}`, () => {
            const ops = chain(bands);
            const lo = type === 'int16' ? -32768 : 0;
            const hi = type === 'int16' ? 32767 : (max ?? 65535);
            const tables = buildTables(checkOps(ops, bands), type, bands, alpha, max);
            const input = samples(301, bands, bands * 31 + name.length);
            for (const bigEndian of [false, true]) {
              const bytes = new Uint8Array(input.buffer.slice(0));
              const view = new DataView(bytes.buffer);
              if (bigEndian)
                for (let i = 0; i < input.length; i++) view.setUint16(2 * i, input[i] as number, false);
              applyTables(view, tables, bigEndian);
              for (let i = 0; i < input.length; i++) {
                const band = i % bands;
                const bits = input[i] as number;
                const changed = alpha || !((bands === 2 || bands === 4) && band === bands - 1);
                const x = type === 'int16' && bits >= 32768 ? bits - 65536 : bits;
                const want = changed ? reference(ops, band, x, lo, hi) & 0xffff : bits;
                const got = view.getUint16(2 * i, !bigEndian);
                if (got !== want) expect({ i, band, bits, got }).toEqual({ i, band, bits, got: want });
              }
            }
          });
        }
      }
    }
  }

  test('add alone equals brighten: x + N clamped, whole numbers unchanged by rounding', () => {
    const tables = buildTables(checkOps([{ op: 'add', value: -40000 }], 1), 'int16', 1, false);
    expect(tables.tables[0]?.[100]).toBe(-32768 & 0xffff);
    const up = buildTables(checkOps([{ op: 'add', value: 512 }], 1), 'uint16', 1, false, 4095);
    expect(up.tables[0]?.[100]).toBe(612);
    expect(up.tables[0]?.[4000]).toBe(4095);
    expect(up.tables[0]?.[65535]).toBe(4095);
  });

  test('round half to even, as numpy.rint', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999, 2.5001].map(roundHalfEven)).toEqual([
      0, 2, 2, 0, -2, -2, 2, 3,
    ]);
  });
});

describe('every kernel applies a chain to the same bytes as the reference', () => {
  const memory = new WebAssembly.Memory({ initial: 32 });
  const base = Math.ceil(wasmDataEnd() / 65536) * 65536 + 65536;
  for (const name of KERNEL_NAMES) {
    for (const [chainName, chain] of Object.entries(CHAINS)) {
      test(`${name}: ${chainName}`, () => {
        const kernel = createKernel(name, memory);
        for (const { type, max } of CASES) {
          for (const [bands, alpha] of [
            [1, false],
            [2, false],
            [2, true],
            [3, false],
            [4, false],
            [4, true],
          ] as [Bands, boolean][]) {
            // With alpha left alone (2 and 4 bands) only a prefix of the bands changes.
            const lo = type === 'int16' ? -32768 : 0;
            const hi = type === 'int16' ? 32767 : (max ?? 65535);
            const ops = chain(bands);
            // Odd pixel counts (tails of every SIMD width) at odd byte offsets, big- and little-endian.
            for (const [pixels, misalign, bigEndian] of [
              [37, 1, false],
              [301, 0, true],
              [16, 3, false],
            ] as [number, number, boolean][]) {
              const input = samples(pixels, bands, pixels + bands);
              const at = base + misalign;
              const bytes = new Uint8Array(memory.buffer);
              const view = new DataView(memory.buffer);
              bytes.fill(0xa5, at - 16, at + input.length * 2 + 16);
              for (let i = 0; i < input.length; i++)
                view.setUint16(at + 2 * i, input[i] as number, !bigEndian);
              kernel.brighten(memory.buffer, at, input.length * 2, {
                delta: 0,
                type,
                bands,
                alpha,
                byteOrder: bigEndian ? 'big' : 'little',
                ...(max !== undefined && { max }),
                ops: checkOps(ops, bands),
              });
              for (let i = 0; i < input.length; i++) {
                const bits = input[i] as number;
                const x = type === 'int16' && bits >= 32768 ? bits - 65536 : bits;
                const changed = alpha || bands === 1 || bands === 3 || i % bands !== bands - 1;
                const want = changed ? reference(ops, i % bands, x, lo, hi) & 0xffff : bits;
                const got = view.getUint16(at + 2 * i, !bigEndian);
                if (got !== want) expect({ i, bits, got }).toEqual({ i, bits, got: want });
              }
              expect(bytes[at - 1]).toBe(0xa5);
              expect(bytes[at + input.length * 2]).toBe(0xa5);
            }
          }
        }
      });
    }
  }
});

describe('each kernel runs its own table loop', () => {
  // Per-band tables (one per band), and one table shared by every changed band (4 bands with alpha kept, and
  // the sample stream of 1 band): every 16-bit value in every band.
  const layouts: { label: string; bands: Bands; ops: AdjustOp[] }[] = [
    {
      label: '3 bands, per-band tables',
      bands: 3,
      ops: [{ op: 'gamma', value: [2.2, 0.8, 1.5] }, { op: 'invert' }],
    },
    {
      label: '4 bands, alpha kept, one shared table',
      bands: 4,
      ops: [{ op: 'gamma', value: 2.2 }, { op: 'invert' }],
    },
    {
      label: '1 band',
      bands: 1,
      ops: [
        { op: 'gamma', value: 0.7 },
        { op: 'gain', value: 1.3 },
      ],
    },
  ];
  const every = new Uint16Array(65536 * 12);
  for (let i = 0; i < every.length; i++) every[i] = (Math.floor(i / 12) * 7919 + i) & 0xffff;

  for (const name of KERNEL_NAMES) {
    for (const type of ['uint16', 'int16'] as SampleType[]) {
      for (const { label, bands, ops } of layouts) {
        test(`${name}: ${label}, every 16-bit value of ${type}, both byte orders, at an odd offset`, () => {
          const memory = new WebAssembly.Memory({ initial: 48, maximum: 48 });
          const kernel = createKernel(name, memory);
          const lo = type === 'int16' ? -32768 : 0;
          const hi = type === 'int16' ? 32767 : 65535;
          const at = wasmDataEnd() + 65537;
          for (const bigEndian of [false, true]) {
            const view = new DataView(memory.buffer);
            for (let i = 0; i < every.length; i++) view.setUint16(at + 2 * i, every[i] as number, !bigEndian);
            kernel.brighten(memory.buffer, at, every.length * 2, {
              delta: 0,
              type,
              bands,
              byteOrder: bigEndian ? 'big' : 'little',
              ops: checkOps(ops, bands),
            });
            let differ = 0;
            for (let i = 0; i < every.length; i++) {
              const bits = every[i] as number;
              const x = type === 'int16' && bits >= 32768 ? bits - 65536 : bits;
              const want = bands === 4 && i % 4 === 3 ? bits : reference(ops, i % bands, x, lo, hi) & 0xffff;
              if (view.getUint16(at + 2 * i, !bigEndian) !== want) differ++;
            }
            expect(differ).toBe(0);
          }
        });
      }
    }
  }

  for (const name of ['wasm', 'wasm-simd'] as const) {
    test(`${name}: the tables lie in wasm memory below wasmDataEnd() and the wasm loop reads them there`, () => {
      const memory = new WebAssembly.Memory({ initial: 16, maximum: 16 });
      const kernel = createKernel(name, memory);
      const at = wasmDataEnd() + 1;
      const params = {
        delta: 0,
        type: 'uint16' as const,
        bands: 1 as const,
        ops: checkOps([{ op: 'gamma', value: 2.2 }], 1),
      };
      const view = new DataView(memory.buffer);
      view.setUint16(at, 1000, true);
      kernel.brighten(memory.buffer, at, 2, params);
      expect(view.getUint16(at, true)).toBe(reference([{ op: 'gamma', value: 2.2 }], 0, 1000, 0, 65535));
      // The table of band 0 starts 512 KiB below wasmDataEnd(): entry 1000 holds that same value.
      const tables = wasmDataEnd() - 4 * 65536 * 2;
      expect(view.getUint16(tables + 2000, true)).toBe(view.getUint16(at, true));
      // Change that entry in wasm memory: the next call with the same chain reads it (a TypeScript loop would not).
      view.setUint16(tables + 2000, 4242, true);
      view.setUint16(at, 1000, true);
      kernel.brighten(memory.buffer, at, 2, params);
      expect(view.getUint16(at, true)).toBe(4242);
    });

    test(`${name}: a linear chain (gain 1.1) runs through the table loop, faster there than f64 arithmetic`, () => {
      const memory = new WebAssembly.Memory({ initial: 16, maximum: 16 });
      const kernel = createKernel(name, memory);
      const at = wasmDataEnd() + 3;
      const params = {
        delta: 0,
        type: 'uint16' as const,
        bands: 4 as const,
        ops: checkOps([{ op: 'gain', value: 1.1 }], 4, true),
      };
      const view = new DataView(memory.buffer);
      view.setUint16(at, 1000, true);
      kernel.brighten(memory.buffer, at, 8, params);
      expect(view.getUint16(at, true)).toBe(1100);
      // One table shared by the three changed bands, at the start of the region: change its entry 1000 and the
      // next call reads it (the arithmetic would still give 1100).
      const tables = wasmDataEnd() - 4 * 65536 * 2;
      expect(view.getUint16(tables + 2000, true)).toBe(1100);
      view.setUint16(tables + 2000, 4242, true);
      for (let band = 0; band < 3; band++) view.setUint16(at + 2 * band, 1000, true);
      view.setUint16(at + 6, 1000, true);
      kernel.brighten(memory.buffer, at, 8, params);
      expect([0, 1, 2, 3].map((band) => view.getUint16(at + 2 * band, true))).toEqual([
        4242, 4242, 4242, 1000,
      ]);
    });

    test(`${name}: a range inside the tables region is refused with ERR_OUT_OF_RANGE and left alone`, () => {
      const memory = new WebAssembly.Memory({ initial: 16, maximum: 16 });
      const kernel = createKernel(name, memory);
      const bytes = new Uint8Array(memory.buffer);
      bytes.fill(7, 2048, 2048 + 64);
      expect(() =>
        kernel.brighten(memory.buffer, 2048, 64, {
          delta: 0,
          type: 'uint16',
          bands: 1,
          ops: checkOps([{ op: 'gamma', value: 2.2 }], 1),
        }),
      ).toThrow(
        expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.not.stringContaining('\n') }),
      );
      expect(bytes.subarray(2048, 2048 + 64).every((b) => b === 7)).toBe(true);
    });
  }

  test('native: the chain goes through the C++ loop (native.applyTables), not the TypeScript one', () => {
    const spy = vi.spyOn(native, 'applyTables');
    try {
      const kernel = createKernel('native', new WebAssembly.Memory({ initial: 1 }));
      const buffer = new ArrayBuffer(4 * 2 * 5 + 1);
      const view = new DataView(buffer);
      for (let i = 0; i < 20; i++) view.setUint16(1 + 2 * i, i * 3001, true);
      kernel.brighten(buffer, 1, 40, {
        delta: 0,
        type: 'uint16',
        bands: 4,
        ops: checkOps([{ op: 'gamma', value: 2.2 }, { op: 'invert' }], 4),
      });
      expect(spy).toHaveBeenCalledTimes(1);
      expect(spy.mock.calls[0]?.slice(4)).toEqual([4, 3]);
      const ops: AdjustOp[] = [{ op: 'gamma', value: 2.2 }, { op: 'invert' }];
      for (let i = 0; i < 20; i++)
        expect(view.getUint16(1 + 2 * i, true)).toBe(
          i % 4 === 3 ? i * 3001 : reference(ops, i % 4, i * 3001, 0, 65535),
        );
    } finally {
      spy.mockRestore();
    }
  });

  test('native.applyTables refuses tables of the wrong size and tables overlapping the range', () => {
    const buffer = new ArrayBuffer(4 * 65536 * 2);
    expect(() => native.applyTables(buffer, 0, 8, new ArrayBuffer(100), 1, 1)).toThrow(/tables must hold/);
    expect(() => native.applyTables(buffer, 0, 8, buffer, 4, 4)).toThrow(/overlap/);
  });
});

describe('tables that are a saturating add run as brighten', () => {
  const cases: [string, AdjustOp[], SampleType, number | undefined, number[] | undefined][] = [
    ['gain 1', [{ op: 'gain', value: 1 }], 'uint16', undefined, [0, 0, 0]],
    [
      'levels over the whole range',
      [{ op: 'levels', black: 0, white: 65535 }],
      'uint16',
      undefined,
      [0, 0, 0],
    ],
    [
      'add, then gain 1',
      [
        { op: 'add', value: 700 },
        { op: 'gain', value: 1 },
      ],
      'int16',
      undefined,
      [700, 700, 700],
    ],
    [
      'per-band add then gain 1, max 4095',
      [
        { op: 'add', value: [-5, 0, 9] },
        { op: 'gain', value: 1 },
      ],
      'uint16',
      4095,
      [-5, 0, 9],
    ],
    [
      'two adds that clamp in between',
      [
        { op: 'add', value: 100 },
        { op: 'add', value: -50 },
      ],
      'uint16',
      undefined,
      undefined,
    ],
    ['gain 1.1', [{ op: 'gain', value: 1.1 }], 'uint16', undefined, undefined],
    ['invert', [{ op: 'invert' }], 'int16', undefined, undefined],
    ['add a fraction', [{ op: 'add', value: 0.5 }], 'uint16', undefined, undefined],
  ];
  for (const [name, ops, type, max, want] of cases) {
    test(`${name}: ${want === undefined ? 'stays on the tables' : `deltas ${want.join(', ')}`}`, () => {
      expect(tablesAsAdd(buildTables(checkOps(ops, 3), type, 3, false, max), type, max)).toEqual(want);
    });
  }

  test('native: such a chain goes through native.brighten (the SIMD add), not the table loop', () => {
    const tables = vi.spyOn(native, 'applyTables');
    const brighten = vi.spyOn(native, 'brighten');
    try {
      const kernel = createKernel('native', new WebAssembly.Memory({ initial: 1 }));
      const buffer = new ArrayBuffer(6 * 4);
      const view = new DataView(buffer);
      for (let i = 0; i < 12; i++) view.setUint16(2 * i, i * 5900, true);
      const ops = checkOps(
        [
          { op: 'add', value: 700 },
          { op: 'gain', value: 1 },
        ],
        3,
      );
      kernel.brighten(buffer, 0, 24, { delta: 0, type: 'uint16', bands: 3, ops });
      expect(tables).not.toHaveBeenCalled();
      expect(brighten).toHaveBeenCalledTimes(1);
      for (let i = 0; i < 12; i++) expect(view.getUint16(2 * i, true)).toBe(Math.min(i * 5900 + 700, 65535));
    } finally {
      tables.mockRestore();
      brighten.mockRestore();
    }
  });

  test('alpha left alone gets delta 0', () => {
    const tables = buildTables(
      checkOps(
        [
          { op: 'add', value: 3 },
          { op: 'gain', value: 1 },
        ],
        4,
        true,
      ),
      'uint16',
      4,
      false,
    );
    expect(tablesAsAdd(tables, 'uint16')).toEqual([3, 3, 3, 0]);
  });
});

describe('invert runs as SIMD arithmetic in wasm-simd', () => {
  test('tablesAreInvert holds for invert alone (any type and max) and for ops equal to it, not otherwise', () => {
    const is = (ops: AdjustOp[], type: SampleType, max?: number) =>
      tablesAreInvert(buildTables(checkOps(ops, 2), type, 2, false, max), type, max);
    expect(is([{ op: 'invert' }], 'uint16')).toBe(true);
    expect(is([{ op: 'invert' }], 'int16')).toBe(true);
    expect(is([{ op: 'invert' }], 'uint16', 4095)).toBe(true);
    expect(is([{ op: 'gain', value: 1 }, { op: 'invert' }], 'uint16')).toBe(true);
    expect(is([{ op: 'invert' }, { op: 'invert' }], 'uint16')).toBe(false);
    expect(is([{ op: 'invert' }, { op: 'add', value: 1 }], 'int16')).toBe(false);
  });

  for (const { type, max } of CASES) {
    test(`wasm-simd: every 16-bit value of ${type}${max ? ` max ${max}` : ''}, 4 bands alpha kept, both orders, odd offsets and tails, without the tables`, () => {
      const memory = new WebAssembly.Memory({ initial: 32, maximum: 32 });
      const kernel = createKernel('wasm-simd', memory);
      const lo = type === 'int16' ? -32768 : 0;
      const hi = type === 'int16' ? 32767 : (max ?? 65535);
      const ops: AdjustOp[] = [{ op: 'invert' }];
      const bytes = new Uint8Array(memory.buffer);
      const tablesAt = wasmDataEnd() - 4 * 65536 * 2;
      bytes.fill(0x5a, tablesAt, wasmDataEnd());
      const view = new DataView(memory.buffer);
      for (const [bigEndian, misalign, pixels] of [
        [false, 1, 65536 + 3],
        [true, 0, 65536 + 1],
        [false, 0, 7],
      ] as [boolean, number, number][]) {
        const at = wasmDataEnd() + 65536 + misalign;
        const count = pixels * 4;
        for (let i = 0; i < count; i++) view.setUint16(at + 2 * i, (i * 40503) & 0xffff, !bigEndian);
        kernel.brighten(memory.buffer, at, count * 2, {
          delta: 0,
          type,
          bands: 4,
          byteOrder: bigEndian ? 'big' : 'little',
          ...(max !== undefined && { max }),
          ops: checkOps(ops, 4, true),
        });
        let differ = 0;
        for (let i = 0; i < count; i++) {
          const bits = (i * 40503) & 0xffff;
          const x = type === 'int16' && bits >= 32768 ? bits - 65536 : bits;
          const want = i % 4 === 3 ? bits : reference(ops, 0, x, lo, hi) & 0xffff;
          if (view.getUint16(at + 2 * i, !bigEndian) !== want) differ++;
        }
        expect(differ).toBe(0);
      }
      // The table loop would have written the tables region: it still holds its pattern.
      expect(bytes.subarray(tablesAt, wasmDataEnd()).every((b) => b === 0x5a)).toBe(true);
    });
  }
});

describe('bad ops are refused with one line and a code', () => {
  const bad: [string, unknown, number][] = [
    ['gain below 0', [{ op: 'gain', value: -0.1 }], 3],
    ['levels B = W', [{ op: 'levels', black: 5, white: 5 }], 3],
    ['levels B > W', [{ op: 'levels', black: [0, 9, 0], white: 8 }], 3],
    ['gamma 0', [{ op: 'gamma', value: 0 }], 3],
    ['gamma below 0', [{ op: 'gamma', value: -1 }], 3],
    ['NaN', [{ op: 'add', value: Number.NaN }], 3],
    ['Infinity', [{ op: 'gain', value: Number.POSITIVE_INFINITY }], 3],
    ['-Infinity in levels', [{ op: 'levels', black: Number.NEGATIVE_INFINITY, white: 9 }], 3],
    ['more values than bands', [{ op: 'gain', value: [1, 1, 1, 1] }], 3],
    ['two values for three bands', [{ op: 'add', value: [1, 1] }], 3],
    ['unknown op', [{ op: 'sharpen', value: 1 }], 3],
    ['no ops', [], 3],
    ['not an array', { op: 'add', value: 1 }, 3],
    ['a string value', [{ op: 'add', value: '1' }], 3],
  ];
  for (const [name, ops, bands] of bad) {
    test(name, () => {
      let error: unknown;
      try {
        checkOps(ops, bands as Bands);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(Error);
      expect((error as { code: string }).code).toBe('ERR_INVALID_ARG_VALUE');
      expect((error as Error).message).not.toContain('\n');
    });
  }
});

describe('numpy agrees on one chain', () => {
  const python = '/usr/bin/python3';
  const hasNumpy = spawnSync(python, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
  test.runIf(hasNumpy)('levels, gain, gamma, add, invert on every uint16 value', () => {
    const ops: AdjustOp[] = [
      { op: 'levels', black: 1024, white: 61000 },
      { op: 'gain', value: 1.1 },
      { op: 'gamma', value: 2.2 },
      { op: 'add', value: -17.5 },
      { op: 'invert' },
    ];
    const script = `
import numpy as np, sys
x = np.arange(65536, dtype=np.float64)
lo, hi = 0.0, 65535.0
x = np.clip((x - 1024) * (hi - lo) / (61000 - 1024) + lo, lo, hi)
x = np.clip(x * 1.1, lo, hi)
x = np.clip(lo + (hi - lo) * np.power((x - lo) / (hi - lo), 1 / 2.2), lo, hi)
x = np.clip(x + -17.5, lo, hi)
x = np.clip(hi + lo - x, lo, hi)
sys.stdout.buffer.write(np.rint(x).astype('<u2').tobytes())
`;
    const run = spawnSync(python, ['-c', script], { maxBuffer: 1 << 20 });
    expect(run.status).toBe(0);
    const want = new Uint16Array(new Uint8Array(run.stdout).buffer);
    const table = buildTables(checkOps(ops, 1), 'uint16', 1, false).tables[0] as Uint16Array;
    let differ = 0;
    for (let i = 0; i < 65536; i++) if (table[i] !== want[i]) differ++;
    expect(differ).toBe(0);
  });
});
