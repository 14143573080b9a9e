// Every 16-bit layout real files have (1-4 bands, alpha kept or changed, uint16 / int16, little- or big-endian,
// a uint16 max below 65535, per-band deltas), on every kernel: each must produce exactly the bytes of an
// independent formula written here, byte by byte, at odd offsets and with every tail length, and refuse bad
// parameters with a one-line error without touching memory.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { native } from '../../dist/addon.js';
import { RawbrightError } from '../../dist/errors.js';
import {
  type BrightenParams,
  createKernel,
  KERNEL_NAMES,
  type KernelName,
  type SampleType,
} from '../../dist/kernels/index.js';
import {
  alphaBand,
  BAND_COUNTS,
  type Bands,
  BYTE_ORDERS,
  BYTES_PER_SAMPLE,
  type ByteOrder,
  bytesPerPixel,
  CHANNEL_MODES,
  SAMPLE_RANGES,
  SAMPLE_TYPES,
  sampleRange,
} from '../../dist/pixels.js';

const BASE = 65536;
const MEMORY_PAGES = 2 + (4 * 1024 * 1024) / 65536 + 1;

/**
 * The semantics, written independently of every kernel: bytes in, bytes out, one sample at a time. A sample is
 * assembled from its two bytes in the layout's order, made signed for int16, clamped exactly, written back.
 */
function expected(input: Uint8Array, params: BrightenParams): Uint8Array {
  const out = Uint8Array.from(input);
  const bands = params.channels !== undefined ? 4 : (params.bands ?? 4);
  const alpha = params.channels !== undefined ? params.channels === 'rgba' : (params.alpha ?? false);
  const big = params.byteOrder === 'big';
  const lo = params.type === 'int16' ? -32768 : 0;
  const hi = params.type === 'int16' ? 32767 : (params.max ?? 65535);
  const alphaIndex = bands === 2 || bands === 4 ? bands - 1 : -1;
  for (let s = 0; 2 * s < out.length; s++) {
    const band = s % bands;
    if (band === alphaIndex && !alpha) continue;
    const delta = typeof params.delta === 'number' ? params.delta : params.delta[band];
    const first = out[2 * s];
    const second = out[2 * s + 1];
    let x = big ? first * 256 + second : second * 256 + first;
    if (params.type === 'int16' && x >= 32768) x -= 65536;
    const y = Math.min(hi, Math.max(lo, x + delta));
    const bits = y < 0 ? y + 65536 : y;
    out[2 * s] = big ? bits >> 8 : bits & 0xff;
    out[2 * s + 1] = big ? bits & 0xff : bits >> 8;
  }
  return out;
}

/** A small seeded generator, so a failure reproduces. */
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

function randomBytes(length: number, seed: number): Uint8Array {
  const next = random(seed);
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (next() * 256) | 0;
  return bytes;
}

/** Samples (as 16-bit patterns) written in `order`, cycling through `values`. */
function sampleBytes(samples: number, values: readonly number[], order: ByteOrder): Uint8Array {
  const bytes = new Uint8Array(samples * 2);
  for (let i = 0; i < samples; i++) {
    const v = values[i % values.length] & 0xffff;
    bytes[2 * i] = order === 'big' ? v >> 8 : v & 0xff;
    bytes[2 * i + 1] = order === 'big' ? v & 0xff : v >> 8;
  }
  return bytes;
}

/** Asserts equal bytes, naming the first difference (a plain toEqual on megabytes prints too much). */
function expectSameBytes(actual: Uint8Array, wanted: Uint8Array, label: string): void {
  expect(actual.length, label).toBe(wanted.length);
  let first = -1;
  for (let i = 0; i < wanted.length; i++) {
    if (actual[i] !== wanted[i]) {
      first = i;
      break;
    }
  }
  const where = first < 0 ? '' : `byte ${first}: got ${actual[first]}, want ${wanted[first]}`;
  expect(where, label).toBe('');
}

/** Runs a kernel on `input` at `offset` between random guard bytes; checks the range and the guards. */
function check(
  name: KernelName,
  memory: WebAssembly.Memory,
  input: Uint8Array,
  offset: number,
  params: BrightenParams,
): void {
  const kernel = createKernel(name, memory);
  const view = new Uint8Array(memory.buffer);
  const guard = randomBytes(64, offset + input.length);
  view.set(guard.subarray(0, 32), offset - 32);
  view.set(input, offset);
  view.set(guard.subarray(32), offset + input.length);
  kernel.brighten(memory.buffer, offset, input.length, params);
  const label = `${name} ${JSON.stringify(params)} at ${offset} length ${input.length}`;
  expectSameBytes(view.subarray(offset, offset + input.length), expected(input, params), label);
  expectSameBytes(view.subarray(offset - 32, offset), guard.subarray(0, 32), `${label}: bytes before`);
  expectSameBytes(
    view.subarray(offset + input.length, offset + input.length + 32),
    guard.subarray(32),
    `${label}: bytes after`,
  );
}

// Sample values at and around every boundary: 0, 1, max - 1, max, max + 1 for the maxes below, 32767 / 32768
// (the int16 boundary as bit patterns: 32768 is -32768), 65535 (-1 as int16). 17 values, coprime to 1..4 and to
// the 8 lanes of a vector, so every lane of every band meets every value.
const EDGE_VALUES = [
  0, 1, 2, 4094, 4095, 4096, 32766, 32767, 32768, 32769, 40000, 65533, 65534, 65535, 1000, 3, 64535,
];
const MAXES = [undefined, 65535, 65534, 4095, 1, 32768];
/** Scalar deltas around the saturation boundaries, and per-band ones mixing signs and sizes. */
function deltaCases(bands: Bands): (number | number[])[] {
  const scalars = [0, 1, -1, 1000, -1000, 32767, -32768, 32768, -32769, 65535, -65535];
  const mixed = [
    [1000, -1000, 0, 65535],
    [-65535, 40000, -1, 2],
    [0, 0, 0, 1],
    [32767, -32768, 65535, -65535],
  ];
  return [...scalars, ...mixed.map((m) => m.slice(0, bands))];
}

describe('the pixel vocabulary (src/pixels.ts)', () => {
  test('lists, sizes, alpha bands and ranges', () => {
    expect(SAMPLE_TYPES).toEqual(['uint16', 'int16']);
    expect(BYTE_ORDERS).toEqual(['little', 'big']);
    expect(BAND_COUNTS).toEqual([1, 2, 3, 4]);
    expect(CHANNEL_MODES).toEqual(['rgb', 'rgba']);
    expect(BYTES_PER_SAMPLE).toBe(2);
    expect(BAND_COUNTS.map((b) => bytesPerPixel(b))).toEqual([2, 4, 6, 8]);
    expect(bytesPerPixel()).toBe(8);
    expect(BAND_COUNTS.map((b) => alphaBand(b))).toEqual([undefined, 1, undefined, 3]);
    expect(sampleRange('uint16')).toEqual({ min: 0, max: 65535 });
    expect(sampleRange('int16')).toEqual({ min: -32768, max: 32767 });
    expect(SAMPLE_RANGES.int16).toBe(sampleRange('int16'));
    expect(Object.isFrozen(SAMPLE_TYPES) && Object.isFrozen(SAMPLE_RANGES.uint16)).toBe(true);
  });
});

describe('the test formula itself', () => {
  test('big-endian 3 bands with per-band deltas, a 12-bit max, alpha kept above max', () => {
    // Samples 0x0102 = 258, 0x0FFF = 4095, 0x1000 = 4096 (above max), big-endian.
    const rgb = expected(new Uint8Array([0x01, 0x02, 0x0f, 0xff, 0x10, 0x00]), {
      delta: [10, 1, 0],
      type: 'uint16',
      bands: 3,
      byteOrder: 'big',
      max: 4095,
    });
    expect(Array.from(rgb)).toEqual([0x01, 0x0c, 0x0f, 0xff, 0x0f, 0xff]);
    // Grey + alpha, little-endian: grey 65535 clamps to max 4095 with delta 0; alpha 65535 is kept.
    const ga = expected(new Uint8Array([0xff, 0xff, 0xff, 0xff]), {
      delta: 0,
      type: 'uint16',
      bands: 2,
      max: 4095,
    });
    expect(Array.from(ga)).toEqual([0xff, 0x0f, 0xff, 0xff]);
    // int16 big-endian: 0x8000 = -32768 saturates down, 0x7ff0 = 32752 saturates up.
    const i16 = expected(new Uint8Array([0x80, 0x00, 0x7f, 0xf0]), {
      delta: [-1, 100],
      type: 'int16',
      bands: 2,
      alpha: true,
      byteOrder: 'big',
    });
    expect(Array.from(i16)).toEqual([0x80, 0x00, 0x7f, 0xff]);
  });
});

describe.each(KERNEL_NAMES)('%s kernel, every layout', (name) => {
  const memory = new WebAssembly.Memory({ initial: MEMORY_PAGES, maximum: MEMORY_PAGES });

  describe.each(BAND_COUNTS)('%i band(s)', (bands) => {
    test.each(BYTE_ORDERS)(
      'edge samples × alpha × type × max × deltas × offsets × tails (%s-endian)',
      (byteOrder) => {
        let turn = 0;
        for (const alpha of [false, true]) {
          for (const type of SAMPLE_TYPES) {
            for (const max of type === 'int16' ? [undefined] : MAXES) {
              for (const delta of deltaCases(bands)) {
                // 29..48 pixels: past the widest unrolled loop (192 bytes) and every tail length after it.
                const pixels = 29 + (turn % 20);
                const input = sampleBytes(pixels * bands, EDGE_VALUES, byteOrder);
                for (const misalignment of [0, 1, 2, 7]) {
                  const params: BrightenParams = { delta, type, bands, alpha, byteOrder };
                  if (max !== undefined) params.max = max;
                  check(name, memory, input, BASE + misalignment + (turn % 3) * 2, params);
                }
                turn++;
              }
            }
          }
        }
      },
    );

    test('every length from 1 to 70 pixels at every misalignment, random data and layouts', () => {
      const next = random(bands * 101);
      for (let pixels = 1; pixels <= 70; pixels++) {
        for (const misalignment of [0, 1, 3, 6, 10, 15]) {
          const type: SampleType = next() < 0.5 ? 'uint16' : 'int16';
          const params: BrightenParams = {
            delta:
              next() < 0.5
                ? Math.round((next() * 2 - 1) * 65535)
                : Array.from({ length: bands }, () => Math.round((next() * 2 - 1) * 65535)),
            type,
            bands,
            alpha: next() < 0.5,
            byteOrder: next() < 0.5 ? 'little' : 'big',
          };
          if (type === 'uint16' && next() < 0.5) params.max = 1 + Math.floor(next() * 65535);
          const input = randomBytes(pixels * bytesPerPixel(bands), pixels * 7 + misalignment);
          check(name, memory, input, BASE + misalignment, params);
        }
      }
    });
  });

  test('a few MiB in the layouts of FITS, 16-bit PNM, big-endian TIFF, at odd offsets', () => {
    const input = randomBytes(3 * 1024 * 1024 + 6 * 7, 99);
    check(name, memory, input, BASE + 1, { delta: -20000, type: 'int16', bands: 1, byteOrder: 'big' });
    check(name, memory, input, BASE + 3, {
      delta: 700,
      type: 'uint16',
      bands: 3,
      byteOrder: 'big',
      max: 4095,
    });
    check(name, memory, input, BASE + 5, { delta: [3000, -3000, 65535], type: 'uint16', bands: 3 });
    const rgba = input.subarray(0, input.length - (input.length % 8));
    check(name, memory, rgba, BASE + 7, {
      delta: [1, -2, 3, 40000],
      type: 'int16',
      bands: 4,
      alpha: true,
      byteOrder: 'big',
    });
  });

  test('the legacy channels form is bands 4 with alpha false (rgb) or true (rgba)', () => {
    const input = randomBytes(8 * 37, 5);
    const kernel = createKernel(name, memory);
    const view = new Uint8Array(memory.buffer);
    for (const [channels, alpha] of [
      ['rgb', false],
      ['rgba', true],
    ] as const) {
      view.set(input, BASE + 3);
      kernel.brighten(memory.buffer, BASE + 3, input.length, { delta: 9000, type: 'uint16', channels });
      const legacy = view.slice(BASE + 3, BASE + 3 + input.length);
      view.set(input, BASE + 3);
      kernel.brighten(memory.buffer, BASE + 3, input.length, {
        delta: 9000,
        type: 'uint16',
        bands: 4,
        alpha,
      });
      expectSameBytes(legacy, view.subarray(BASE + 3, BASE + 3 + input.length), `${name} ${channels}`);
      // Agreeing bands and alpha may be given alongside channels.
      view.set(input, BASE + 3);
      kernel.brighten(memory.buffer, BASE + 3, input.length, {
        delta: 9000,
        type: 'uint16',
        channels,
        bands: 4,
        alpha,
      });
      expectSameBytes(
        legacy,
        view.subarray(BASE + 3, BASE + 3 + input.length),
        `${name} ${channels} + bands`,
      );
    }
  });

  test('property: same bytes as the formula and the js kernel for any layout, length and offset', () => {
    const reference = createKernel('js', memory);
    const deltaArb = fc.integer({ min: -65535, max: 65535 });
    fc.assert(
      fc.property(
        fc.constantFrom(...BAND_COUNTS),
        fc.constantFrom(...SAMPLE_TYPES),
        fc.constantFrom(...BYTE_ORDERS),
        fc.boolean(),
        fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
        fc.oneof(deltaArb, fc.array(deltaArb, { minLength: 4, maxLength: 4 })),
        fc.integer({ min: 0, max: 160 }),
        fc.integer({ min: 0, max: 31 }),
        fc.integer(),
        (bands, type, byteOrder, alpha, max, delta, pixels, misalignment, seed) => {
          const params: BrightenParams = {
            delta: typeof delta === 'number' ? delta : delta.slice(0, bands),
            type,
            bands,
            alpha,
            byteOrder,
          };
          if (type === 'uint16' && max !== undefined) params.max = max;
          const input = randomBytes(pixels * bytesPerPixel(bands), seed);
          const offset = BASE + misalignment;
          check(name, memory, input, offset, params);
          const view = new Uint8Array(memory.buffer);
          const ours = view.slice(offset, offset + input.length);
          view.set(input, offset);
          reference.brighten(memory.buffer, offset, input.length, params);
          expectSameBytes(ours, view.subarray(offset, offset + input.length), `${name} vs js`);
        },
      ),
      { numRuns: 300, seed: 1212 },
    );
  });

  test('an unchanged alpha keeps its bytes even above max; a changed sample above max becomes max', () => {
    const input = sampleBytes(4 * 16, [65535], 'big');
    for (const alpha of [false, true]) {
      check(name, memory, input, BASE + 1, {
        delta: 0,
        type: 'uint16',
        bands: 4,
        alpha,
        byteOrder: 'big',
        max: 4095,
      });
    }
    const view = new Uint8Array(memory.buffer, BASE + 1, 8);
    // Last run: alpha changed, so every sample is now 4095 = 0x0fff.
    expect(Array.from(view)).toEqual([0x0f, 0xff, 0x0f, 0xff, 0x0f, 0xff, 0x0f, 0xff]);
  });

  const good: BrightenParams = { delta: 1, type: 'uint16', bands: 3 };
  test.each([
    [
      'bands 5',
      BASE,
      6,
      { ...good, bands: 5 },
      /^Expected one of 1, 2, 3, 4 for bands but received 5 of type number$/,
    ],
    ['bands 0', BASE, 6, { ...good, bands: 0 }, /for bands but received 0 of type number$/],
    ['bands "3"', BASE, 6, { ...good, bands: '3' }, /for bands but received "3" of type string$/],
    [
      'a length that is not whole 3-band pixels',
      BASE,
      8,
      good,
      /^Expected a whole number of 6-byte pixels \(a multiple of 6\) for byteLength but received 8 of type number$/,
    ],
    [
      'a length that is not whole 1-band pixels',
      BASE,
      7,
      { ...good, bands: 1 },
      /^Expected a whole number of 2-byte pixels \(a multiple of 2\) for byteLength but received 7/,
    ],
    [
      'max on int16',
      BASE,
      6,
      { ...good, type: 'int16', max: 4095 },
      /^Expected no max with int16 samples .* for max but received 4095 of type number$/,
    ],
    [
      'max 0',
      BASE,
      6,
      { ...good, max: 0 },
      /^Expected an integer from 1 to 65535 for max but received 0 of type number$/,
    ],
    ['max 65536', BASE, 6, { ...good, max: 65536 }, /for max but received 65536/],
    ['max 1.5', BASE, 6, { ...good, max: 1.5 }, /for max but received 1.5/],
    [
      'a delta array of the wrong length',
      BASE,
      6,
      { ...good, delta: [1, 2] },
      /^Expected 3 \(one delta per band\) for delta.length but received 2 of type number$/,
    ],
    [
      'a delta array with an entry out of range',
      BASE,
      6,
      { ...good, delta: [1, 65536, 0] },
      /^Expected an integer from -65535 to 65535 for delta\[1\] but received 65536 of type number$/,
    ],
    [
      'a delta array with a NaN',
      BASE,
      6,
      { ...good, delta: [1, 2, Number.NaN] },
      /for delta\[2\] but received NaN/,
    ],
    [
      'channels contradicting bands',
      BASE,
      6,
      { ...good, channels: 'rgb' },
      /^Expected 4 with channels 'rgb' \(or no channels\) for bands but received 3 of type number$/,
    ],
    [
      'channels contradicting alpha',
      BASE,
      8,
      { delta: 1, type: 'uint16', channels: 'rgb', alpha: true },
      /^Expected false with channels 'rgb' \(or no channels\) for alpha but received true of type boolean$/,
    ],
    [
      'an unknown byte order',
      BASE,
      6,
      { ...good, byteOrder: 'middle' },
      /^Expected one of 'little', 'big' for byteOrder/,
    ],
    [
      'alpha that is not a boolean',
      BASE,
      6,
      { ...good, alpha: 1 },
      /^Expected a boolean for alpha but received 1/,
    ],
  ])(
    'refuses %s with one line (ERR_INVALID_ARG_VALUE) and changes nothing',
    (_what, offset, length, params, message) => {
      const kernel = createKernel(name, memory);
      const view = new Uint8Array(memory.buffer);
      view.set(randomBytes(64, 3), BASE);
      const before = view.slice(BASE, BASE + 64);
      let thrown: unknown;
      try {
        kernel.brighten(memory.buffer, offset as number, length as number, params as BrightenParams);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(RawbrightError);
      expect(thrown).toMatchObject({ code: 'ERR_INVALID_ARG_VALUE' });
      const text = (thrown as Error).message;
      expect(text).toMatch(message as RegExp);
      expect(text).not.toMatch(/\n/);
      expectSameBytes(view.slice(BASE, BASE + 64), before, 'memory after a refused call');
    },
  );
});

describe('native layer guards for the layout arguments', () => {
  const buffer = new ArrayBuffer(64);
  test.each([
    ['bands 5', () => native.brighten(buffer, 0, 10, 1, false, false, 5), 'ERR_OUT_OF_RANGE', RangeError],
    ['bands 1.5', () => native.brighten(buffer, 0, 12, 1, false, false, 1.5), 'ERR_OUT_OF_RANGE', RangeError],
    [
      'a length that is not whole 3-band pixels',
      () => native.brighten(buffer, 0, 8, 1, false, false, 3),
      'ERR_OUT_OF_RANGE',
      RangeError,
    ],
    [
      'a delta array of the wrong length',
      () => native.brighten(buffer, 0, 12, [1, 2], false, false, 3),
      'ERR_OUT_OF_RANGE',
      RangeError,
    ],
    [
      'a delta array entry out of range',
      () => native.brighten(buffer, 0, 12, [1, 2, -65536], false, false, 3),
      'ERR_OUT_OF_RANGE',
      RangeError,
    ],
    [
      'a delta array entry that is not a number',
      () => native.brighten(buffer, 0, 12, [1, '2', 3] as unknown as number[], false, false, 3),
      'ERR_INVALID_ARG_TYPE',
      TypeError,
    ],
    [
      'max 0',
      () => native.brighten(buffer, 0, 8, 1, false, false, 4, false, 0),
      'ERR_OUT_OF_RANGE',
      RangeError,
    ],
    [
      'max on signed samples',
      () => native.brighten(buffer, 0, 8, 1, true, false, 4, false, 4095),
      'ERR_OUT_OF_RANGE',
      RangeError,
    ],
    [
      'a byte order flag that is not a boolean',
      () => native.brighten(buffer, 0, 8, 1, true, false, 4, 1 as unknown as boolean),
      'ERR_INVALID_ARG_TYPE',
      TypeError,
    ],
  ])('brighten refuses %s', (_what, call, code, kind) => {
    const before = new Uint8Array(buffer).slice();
    expect(call).toThrow(kind as typeof Error);
    expect(call).toThrow(expect.objectContaining({ code }));
    expectSameBytes(new Uint8Array(buffer), before, 'unchanged');
  });
});

// On AVX2 machines the native kernel's SSE2 loops run only for the last < 32 bytes of a range; the x86-64
// CPUs without AVX2 run nothing else. RAWBRIGHT_KERNEL_PATH=sse2 turns AVX2 off, and the native half of this
// file runs again in a child process that way.
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
describe('the native SSE2 path', () => {
  if (process.env.RAWBRIGHT_KERNEL_PATH === 'sse2') {
    test('is the path taken here (RAWBRIGHT_KERNEL_PATH=sse2)', () => {
      expect(native.brightenPath).toBe('sse2');
    });
  } else {
    test('passes every native layout case with AVX2 turned off', () => {
      const run = spawnSync(
        process.execPath,
        [
          `${ROOT}node_modules/vitest/vitest.mjs`,
          'run',
          'test/kernels/layouts.test.ts',
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
      expect(run.stdout).toMatch(/Tests +\d+ passed/);
    }, 120_000);
  }
});
