// The brighten kernels, paired: every kernel runs the same cases and must produce exactly the bytes of an
// independent scalar formula written here (and so the same bytes as the JavaScript reference kernel).
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { native } from '../../dist/addon.js';
import {
  type BrightenParams,
  type Channels,
  createKernel,
  KERNEL_NAMES,
  type KernelName,
  type SampleType,
  wasmDataEnd,
} from '../../dist/kernels/index.js';

const TYPES: SampleType[] = ['uint16', 'int16'];
const CHANNELS: Channels[] = ['rgb', 'rgba'];
const DELTAS = [
  0, 1, -1, 2, -2, 1000, -1000, 32767, -32767, 32768, -32768, 32769, -32769, 40000, -40000, 65534, -65534,
  65535, -65535,
];
// Sample bit patterns at and around every saturation boundary of both types (as uint16: 32768 is -32768 as
// int16, 65535 is -1). 11 values, coprime to 4, so every lane of a pixel meets every value.
const EDGE_SAMPLES = [0, 1, 2, 1000, 32766, 32767, 32768, 32769, 64535, 65534, 65535];
// Where ranges start inside the test memory: page aligned, then every misalignment that matters.
const BASE = 65536;
const MISALIGNMENTS = [0, 1, 2, 3, 4, 6, 8, 10, 15];
const MEMORY_PAGES = 2 + (4 * 1024 * 1024) / 65536 + 1;

/** The semantics, written independently of every kernel: bytes in, bytes out, one sample at a time. */
function expected(input: Uint8Array, params: BrightenParams): Uint8Array {
  const out = Uint8Array.from(input);
  const [lo, hi] = params.type === 'int16' ? [-32768, 32767] : [0, 65535];
  const perPixel = params.channels === 'rgba' ? 4 : 3;
  for (let pixel = 0; pixel < out.length; pixel += 8) {
    for (let s = 0; s < perPixel; s++) {
      const at = pixel + 2 * s;
      let x = out[at] | (out[at + 1] << 8);
      if (params.type === 'int16' && x >= 32768) x -= 65536;
      const y = Math.min(hi, Math.max(lo, x + params.delta)) & 0xffff;
      out[at] = y & 0xff;
      out[at + 1] = y >> 8;
    }
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

function edgeBytes(pixels: number): Uint8Array {
  const bytes = new Uint8Array(pixels * 8);
  for (let i = 0; i < pixels * 4; i++) {
    const v = EDGE_SAMPLES[i % EDGE_SAMPLES.length];
    bytes[2 * i] = v & 0xff;
    bytes[2 * i + 1] = v >> 8;
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

/**
 * Runs `kernel` on `input` placed at `offset` inside memory whose surroundings hold random guard bytes,
 * then checks the range against the formula and the guard bytes for being untouched.
 */
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
  const label = `${name} ${params.type} ${params.channels} delta ${params.delta} at ${offset} length ${input.length}`;
  expectSameBytes(view.subarray(offset, offset + input.length), expected(input, params), label);
  expectSameBytes(view.subarray(offset - 32, offset), guard.subarray(0, 32), `${label}: bytes before`);
  expectSameBytes(
    view.subarray(offset + input.length, offset + input.length + 32),
    guard.subarray(32),
    `${label}: bytes after`,
  );
}

describe('the test formula itself', () => {
  test('saturates at both ends of both types and leaves alpha alone in rgb mode', () => {
    const pixel = (samples: number[]) => new Uint8Array(new Uint16Array(samples).buffer);
    const u16 = expected(pixel([65000, 10, 0, 65535]), { delta: 1000, type: 'uint16', channels: 'rgb' });
    expect(Array.from(new Uint16Array(u16.buffer))).toEqual([65535, 1010, 1000, 65535]);
    const i16 = expected(pixel([0x7ff0, 0x8000, 0xffff, 5]), {
      delta: -40000,
      type: 'int16',
      channels: 'rgba',
    });
    expect(Array.from(new Int16Array(i16.buffer))).toEqual([32767 - 15 - 40000, -32768, -32768, -32768]);
  });
});

describe.each(KERNEL_NAMES)('%s kernel', (name) => {
  const memory = new WebAssembly.Memory({ initial: MEMORY_PAGES, maximum: MEMORY_PAGES });

  test('has its name', () => {
    expect(createKernel(name, memory).name).toBe(name);
  });

  test.each(TYPES)('edge samples, every delta, both channel modes, misaligned starts (%s)', (type) => {
    const input = edgeBytes(EDGE_SAMPLES.length * 3 + 5);
    for (const channels of CHANNELS) {
      for (const delta of DELTAS) {
        for (const misalignment of [0, 1, 6])
          check(name, memory, input, BASE + misalignment, { delta, type, channels });
      }
    }
  });

  test('random data: every length from 8 to 272 bytes at every start misalignment', () => {
    const next = random(7);
    for (let length = 8; length <= 272; length += 8) {
      for (const misalignment of MISALIGNMENTS) {
        const params: BrightenParams = {
          delta: Math.round((next() * 2 - 1) * 65535),
          type: TYPES[length % 2],
          channels: CHANNELS[(length >> 3) % 2],
        };
        check(name, memory, randomBytes(length, length * 31 + misalignment), BASE + misalignment, params);
      }
    }
  });

  test('a few MiB (an odd number of pixels) at aligned and unaligned starts', () => {
    const input = randomBytes(3 * 1024 * 1024 + 8 * 3, 99);
    check(name, memory, input, BASE, { delta: 12345, type: 'uint16', channels: 'rgb' });
    check(name, memory, input, BASE + 3, { delta: -20000, type: 'int16', channels: 'rgba' });
    check(name, memory, input, BASE + 10, { delta: 65535, type: 'int16', channels: 'rgb' });
  });

  test('property: same bytes as the formula and the js kernel for any delta, length and offset', () => {
    const reference = createKernel('js', memory);
    fc.assert(
      fc.property(
        fc.integer({ min: -65535, max: 65535 }),
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 0, max: 31 }),
        fc.constantFrom(...TYPES),
        fc.constantFrom(...CHANNELS),
        fc.integer(),
        (delta, pixels, misalignment, type, channels, seed) => {
          const input = randomBytes(pixels * 8, seed);
          const offset = BASE + misalignment;
          const params = { delta, type, channels };
          check(name, memory, input, offset, params);
          const view = new Uint8Array(memory.buffer);
          const ours = view.slice(offset, offset + input.length);
          view.set(input, offset);
          reference.brighten(memory.buffer, offset, input.length, params);
          expectSameBytes(ours, view.subarray(offset, offset + input.length), `${name} vs js`);
        },
      ),
      { numRuns: 150, seed: 2024 },
    );
  });

  test('a zero-length range and delta 0 change nothing', () => {
    const input = randomBytes(64, 5);
    check(name, memory, input, BASE + 1, { delta: 0, type: 'int16', channels: 'rgba' });
    check(name, memory, new Uint8Array(0), BASE + 1, { delta: 500, type: 'uint16', channels: 'rgba' });
  });

  test('ranges ending exactly at the end of the buffer', () => {
    const input = randomBytes(8 * 9, 11);
    const kernel = createKernel(name, memory);
    const size = memory.buffer.byteLength;
    new Uint8Array(memory.buffer).set(input, size - input.length);
    kernel.brighten(memory.buffer, size - input.length, input.length, {
      delta: 7,
      type: 'uint16',
      channels: 'rgba',
    });
    expectSameBytes(
      new Uint8Array(memory.buffer, size - input.length),
      expected(input, { delta: 7, type: 'uint16', channels: 'rgba' }),
      `${name} at the end`,
    );
  });

  const good: BrightenParams = { delta: 1, type: 'uint16', channels: 'rgb' };
  test.each([
    [
      'a length that is not a multiple of 8',
      BASE,
      12,
      good,
      /Expected a whole number of 8-byte pixels .* for byteLength but received 12 of type number/,
    ],
    ['a negative offset', -8, 8, good, /for byteOffset but received -8/],
    ['a fractional offset', 1.5, 8, good, /for byteOffset but received 1.5/],
    [
      'delta 65536',
      BASE,
      8,
      { ...good, delta: 65536 },
      /Expected an integer from -65535 to 65535 for delta but received 65536/,
    ],
    ['delta -65536', BASE, 8, { ...good, delta: -65536 }, /for delta but received -65536/],
    ['delta 1.5', BASE, 8, { ...good, delta: 1.5 }, /for delta but received 1.5/],
    ['delta NaN', BASE, 8, { ...good, delta: Number.NaN }, /for delta but received NaN/],
    [
      'an unknown type',
      BASE,
      8,
      { ...good, type: 'uint8' },
      /Expected one of 'uint16', 'int16' for type but received "uint8"/,
    ],
    ['an unknown channel mode', BASE, 8, { ...good, channels: 'rgbx' }, /for channels but received "rgbx"/],
    ['missing params', BASE, 8, undefined, /Expected an object for params/],
  ])('refuses %s (ERR_INVALID_ARG_VALUE)', (_what, offset, length, params, message) => {
    const kernel = createKernel(name, memory);
    const call = () =>
      kernel.brighten(memory.buffer, offset as number, length as number, params as BrightenParams);
    expect(call).toThrow(message as RegExp);
    expect(call).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
  });

  test('refuses a range outside the buffer (ERR_OUT_OF_RANGE) and writes nothing', () => {
    const kernel = createKernel(name, memory);
    const size = memory.buffer.byteLength;
    const before = new Uint8Array(memory.buffer).slice(size - 64);
    expect(() => kernel.brighten(memory.buffer, size - 56, 64, good)).toThrow(
      expect.objectContaining({
        code: 'ERR_OUT_OF_RANGE',
        message: expect.stringMatching(/outside the buffer/),
      }),
    );
    expect(() => kernel.brighten(memory.buffer, size + 8, 0, good)).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    expectSameBytes(new Uint8Array(memory.buffer).slice(size - 64), before, 'unchanged');
  });

  if (name === 'wasm' || name === 'wasm-simd') {
    test('refuses a buffer that is not its memory’s current buffer (ERR_FOREIGN_BUFFER)', () => {
      const kernel = createKernel(name, memory);
      const foreign = new ArrayBuffer(64);
      expect(() => kernel.brighten(foreign, 0, 64, good)).toThrow(
        expect.objectContaining({
          code: 'ERR_FOREIGN_BUFFER',
          message: expect.stringMatching(/memory\.buffer/),
        }),
      );
      const other = new WebAssembly.Memory({ initial: 1 });
      expect(() => kernel.brighten(other.buffer, 0, 64, good)).toThrow(
        expect.objectContaining({ code: 'ERR_FOREIGN_BUFFER' }),
      );
    });

    test('follows its memory when it grows, and refuses the detached old buffer', () => {
      const growing = new WebAssembly.Memory({ initial: 2, maximum: 4 });
      const kernel = createKernel(name, growing);
      const old = growing.buffer;
      growing.grow(1);
      expect(() => kernel.brighten(old, 0, 0, good)).toThrow(
        expect.objectContaining({ code: 'ERR_FOREIGN_BUFFER' }),
      );
      const input = randomBytes(80, 3);
      const at = 2 * 65536 + 5;
      new Uint8Array(growing.buffer).set(input, at);
      kernel.brighten(growing.buffer, at, input.length, good);
      expectSameBytes(
        new Uint8Array(growing.buffer, at, input.length),
        expected(input, good),
        'grown memory',
      );
    });
  } else {
    test('works on a plain ArrayBuffer too', () => {
      const input = randomBytes(8 * 33, 17);
      const buffer = new ArrayBuffer(input.length + 3);
      new Uint8Array(buffer).set(input, 3);
      createKernel(name, memory).brighten(buffer, 3, input.length, {
        delta: -300,
        type: 'int16',
        channels: 'rgb',
      });
      expectSameBytes(
        new Uint8Array(buffer, 3),
        expected(input, { delta: -300, type: 'int16', channels: 'rgb' }),
        'plain buffer',
      );
    });
  }
});

describe('createKernel', () => {
  test('refuses an unknown kernel name', () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    expect(() => createKernel('avx' as KernelName, memory)).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_ARG_VALUE',
        message:
          "Expected one of 'js', 'wasm', 'wasm-simd', 'native' for kernel but received \"avx\" of type string",
      }),
    );
  });

  test('refuses a wasm kernel without a WebAssembly.Memory', () => {
    expect(() => createKernel('wasm-simd', new ArrayBuffer(8) as unknown as WebAssembly.Memory)).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_ARG_VALUE',
        message: expect.stringMatching(/for memory/),
      }),
    );
  });

  test('the wasm module keeps to its low memory: instantiating writes nothing, data ends at wasmDataEnd()', () => {
    expect(wasmDataEnd()).toBeGreaterThanOrEqual(0);
    // The host keeps its arena from 2 MiB up, so the module (adjust tables included) must end below it.
    expect(wasmDataEnd()).toBeLessThanOrEqual(2 * 1024 * 1024);
    const memory = new WebAssembly.Memory({ initial: 2 });
    const pattern = randomBytes(2 * 65536, 1);
    new Uint8Array(memory.buffer).set(pattern);
    createKernel('wasm-simd', memory);
    createKernel('wasm', memory);
    expectSameBytes(new Uint8Array(memory.buffer), pattern, 'memory after instantiation');
    expect(memory.buffer.byteLength).toBe(2 * 65536);
  });
});

describe('native layer guards (a bad length there would be a crash, not an exception)', () => {
  const buffer = new ArrayBuffer(64);
  test.each([
    [
      'a length that is not a multiple of 8',
      () => native.brighten(buffer, 0, 12, 1, false, false),
      'ERR_OUT_OF_RANGE',
      RangeError,
    ],
    [
      'a range past the end',
      () => native.brighten(buffer, 8, 64, 1, false, false),
      'ERR_OUT_OF_RANGE',
      RangeError,
    ],
    ['delta 65536', () => native.brighten(buffer, 0, 8, 65536, false, false), 'ERR_OUT_OF_RANGE', RangeError],
    ['delta 0.5', () => native.brighten(buffer, 0, 8, 0.5, true, false), 'ERR_OUT_OF_RANGE', RangeError],
    [
      'a missing flag',
      () => (native.brighten as (...args: unknown[]) => void)(buffer, 0, 8, 1, true),
      'ERR_INVALID_ARG_TYPE',
      TypeError,
    ],
    [
      'a non-buffer',
      () => native.brighten(new Uint8Array(8) as unknown as ArrayBuffer, 0, 8, 1, true, true),
      'ERR_INVALID_ARG_TYPE',
      TypeError,
    ],
    [
      'copyBytes past the source',
      () => native.copyBytes(buffer, 0, buffer, 32, 40),
      'ERR_OUT_OF_RANGE',
      RangeError,
    ],
  ])('brighten/copyBytes refuse %s', (_what, call, code, kind) => {
    expect(call).toThrow(kind as typeof Error);
    expect(call).toThrow(expect.objectContaining({ code }));
  });

  test('copyBytes copies, overlapping ranges included', () => {
    const bytes = randomBytes(64, 4);
    const target = new ArrayBuffer(64);
    new Uint8Array(target).set(bytes);
    native.copyBytes(target, 8, target, 0, 40);
    const want = Uint8Array.from(bytes);
    want.copyWithin(8, 0, 40);
    expectSameBytes(new Uint8Array(target), want, 'copyBytes overlap');
  });
});
