/**
 * The WebAssembly kernels (assembly/index.ts built into build/wasm/kernels.release.wasm). This is the only
 * module that compiles or instantiates the wasm: the module is compiled once per thread, and instantiated
 * once per WebAssembly.Memory (the instance imports the caller's memory; it never grows or allocates it).
 *
 * Memory use: the module has no static data and never allocates, so instantiating it writes nothing into
 * the memory, and its code touches only the bytes a brighten call names. Still, bytes below
 * {@link wasmDataEnd} belong to the module by convention; hosts keep their arena above it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { errorCode, invalidParameterError, RawbrightError } from '../errors.js';
import { type BrightenParams, checkBrightenArgs, type Kernel } from './types.js';

/** src/kernels/ (dist/kernels/ once built) is two levels below the package root. */
const WASM_URL = new URL('../../build/wasm/kernels.release.wasm', import.meta.url);

/** The raw exports of assembly/index.ts (pointers are byte offsets into the imported memory). */
interface KernelExports {
  heapBase(): number;
  brightenSimd: BrightenExport;
  brightenScalar: BrightenExport;
}

/** brightenSimd / brightenScalar (assembly/index.ts): flags are 0 or 1, deltas one per band (0 past bands). */
type BrightenExport = (
  ptr: number,
  byteLength: number,
  bands: number,
  delta0: number,
  delta1: number,
  delta2: number,
  delta3: number,
  signed: number,
  alpha: number,
  bigEndian: number,
  max: number,
) => void;

/**
 * About the largest byte count handed to one wasm call. Parameters are i32: a length of 4 GiB would wrap to 0,
 * so longer ranges go in pieces, each a whole number of pixels so that every piece starts on band 0.
 */
const MAX_CALL_BYTES = 2 ** 30;

let compiled: WebAssembly.Module | undefined;
const instances = new WeakMap<WebAssembly.Memory, KernelExports>();
let dataEnd: number | undefined;

function wasmModule(): WebAssembly.Module {
  if (compiled === undefined) {
    let bytes: Buffer;
    const path = fileURLToPath(WASM_URL);
    try {
      bytes = readFileSync(path);
    } catch (error) {
      throw new RawbrightError(
        errorCode(error) ?? 'ERR_WASM_MISSING',
        `cannot read the WebAssembly kernels at ${path}: run npm run build:wasm`,
        { path, cause: error },
      );
    }
    // Synchronous compile: the module is a few KiB, and callers need a kernel before they can go on.
    compiled = new WebAssembly.Module(bytes);
  }
  return compiled;
}

function instantiate(memory: WebAssembly.Memory): KernelExports {
  let exports = instances.get(memory);
  if (exports === undefined) {
    try {
      const instance = new WebAssembly.Instance(wasmModule(), { env: { memory } });
      exports = instance.exports as unknown as KernelExports;
    } catch (error) {
      if (error instanceof RawbrightError) throw error;
      throw new RawbrightError(
        'ERR_WASM_INSTANTIATE',
        `cannot instantiate the WebAssembly kernels on this memory (it needs at least one 64 KiB page): ${
          (error as Error).message
        }`,
        { cause: error },
      );
    }
    instances.set(memory, exports);
  }
  return exports;
}

/**
 * Where the wasm module's own part of a memory ends: bytes [0, wasmDataEnd()) are the module's (it has no
 * static data today, so nothing is actually written there), everything above is free for the caller.
 * @returns a byte offset (1024 with the current build); hosts place their arena at or above it
 */
export function wasmDataEnd(): number {
  if (dataEnd === undefined) {
    // A scratch one-page memory: heapBase() is a link-time constant, whatever memory is imported.
    dataEnd = instantiate(new WebAssembly.Memory({ initial: 1, maximum: 1 })).heapBase() >>> 0;
  }
  return dataEnd;
}

/**
 * Creates a wasm kernel bound to `memory`.
 * @param name `'wasm-simd'` (i16x8 saturating arithmetic, 64 bytes per loop turn) or `'wasm'` (scalar)
 * @param memory the memory the kernel works in; its current `memory.buffer` is the only buffer it accepts
 * @returns the kernel
 * @throws {RawbrightError} `ERR_INVALID_ARG_VALUE` if memory is not a WebAssembly.Memory, `ENOENT` if the wasm
 *   was not built, `ERR_WASM_INSTANTIATE` if the memory cannot be imported (no pages)
 * @example
 * const memory = new WebAssembly.Memory({ initial: 16 });
 * const kernel = createWasmKernel('wasm-simd', memory);
 * kernel.brighten(memory.buffer, 65536, 8 * 1024, { delta: 1000, type: 'uint16', channels: 'rgb' });
 * kernel.brighten(memory.buffer, 65536, 6 * 1024, { delta: [500, 0, -500], type: 'uint16', bands: 3, byteOrder: 'big' });
 */
export function createWasmKernel(name: 'wasm' | 'wasm-simd', memory: WebAssembly.Memory): Kernel {
  if (!(memory instanceof WebAssembly.Memory)) {
    throw invalidParameterError('memory', 'a WebAssembly.Memory', memory);
  }
  const exports = instantiate(memory);
  const run = name === 'wasm-simd' ? exports.brightenSimd : exports.brightenScalar;
  function brighten(
    buffer: ArrayBuffer,
    byteOffset: number,
    byteLength: number,
    params: BrightenParams,
  ): void {
    // Checked first: a grown memory detaches its old buffer, and a wasm call on offsets into another
    // buffer would silently write the wrong bytes.
    if (buffer !== memory.buffer) {
      throw new RawbrightError(
        'ERR_FOREIGN_BUFFER',
        `the ${name} kernel works only on its WebAssembly memory's current buffer (memory.buffer)`,
      );
    }
    const checked = checkBrightenArgs(buffer, byteOffset, byteLength, params);
    if (checked.unchanged) return;
    const { bands, deltas } = checked;
    const [d0, d1 = 0, d2 = 0, d3 = 0] = deltas;
    const signed = checked.signed ? 1 : 0;
    const alpha = checked.alpha ? 1 : 0;
    const big = checked.bigEndian ? 1 : 0;
    const piece = MAX_CALL_BYTES - (MAX_CALL_BYTES % (2 * bands));
    // Offsets up to 2^32 - 1 pass through i32 as the same bits; the wasm side treats them as unsigned.
    for (let done = 0; done < byteLength; done += piece) {
      const length = Math.min(piece, byteLength - done);
      run(byteOffset + done, length, bands, d0, d1, d2, d3, signed, alpha, big, checked.max);
    }
  }
  return Object.freeze({ name, brighten });
}
