/**
 * The WebAssembly kernels (assembly/index.ts built into build/wasm/kernels.release.wasm). This is the only
 * module that compiles or instantiates the wasm: the module is compiled once per process (a worker thread
 * started with {@link sharedWasmModule} in its workerData takes the one its parent compiled, else it
 * compiles its own), and instantiated once per WebAssembly.Memory (the instance imports the caller's
 * memory; it never grows or allocates it).
 *
 * Memory use: the module has no static data and never allocates, so instantiating it writes nothing into
 * the memory, and brighten touches only the bytes a call names. Bytes below {@link wasmDataEnd} belong to the
 * module: an adjust chain's tables (one 65,536-entry u16 table per changed band, up to 512 KiB, or one for all
 * bands when they are the same), or a linear
 * chain's arithmetic program (./linear.ts, at most 196 KiB, and 16 bytes of scratch at the region's end), are
 * written there on the first call with them in that memory, and reused until others come. Hosts
 * keep their arena above it and never write below it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { errorCode, invalidParameterError, RawbrightError } from '../errors.js';
import type { LinearProgram } from './linear.js';
import { changedBands, type OpTables, packTables, sharedTable } from './ops.js';
import {
  type BrightenParams,
  type CheckedParams,
  checkBrightenArgs,
  type JournaledChunks,
  type TableKernel,
} from './types.js';

/** src/kernels/ (dist/kernels/ once built) is two levels below the package root. */
const WASM_URL = new URL('../../build/wasm/kernels.release.wasm', import.meta.url);

/** The raw exports of assembly/index.ts (pointers are byte offsets into the imported memory). */
interface KernelExports {
  heapBase(): number;
  /** Where the table slots start: a constant of the module, at or above heapBase(). */
  tablesAt(): number;
  brightenSimd: BrightenExport;
  brightenScalar: BrightenExport;
  /** brightenSimd's arguments, then slot, chunk, first chunk number and step budget: see JournaledChunks. */
  brightenJournaled(
    ...args: [...Parameters<BrightenExport>, slot: number, chunk: number, first: number, budget: number]
  ): number;
  /** ringSum(ptr, byteLength): the journal's `sum` checksum (src/file/checksum.ts computes the same). */
  ringSum(ptr: number, byteLength: number): number;
  /** lookupTables(ptr, byteLength, bands, changed, shared): the tables at tablesAt() in place (both wasm kernels). */
  lookupTables(ptr: number, byteLength: number, bands: number, changed: number, shared: number): void;
  /** linearSimd(ptr, byteLength, bands, changed, prog, nops, scratch, signed, bigEndian, lo, hi). */
  linearSimd(
    ptr: number,
    byteLength: number,
    bands: number,
    changed: number,
    prog: number,
    nops: number,
    scratch: number,
    signed: number,
    bigEndian: number,
    lo: number,
    hi: number,
  ): void;
  /** invertSimd(ptr, byteLength, bands, signed, alpha, bigEndian, max): hi + lo - x in place (SIMD). */
  invertSimd(
    ptr: number,
    byteLength: number,
    bands: number,
    signed: number,
    alpha: number,
    bigEndian: number,
    max: number,
  ): void;
}

/** Bytes of the tables region: four bands of 65,536 u16. */
const TABLES_BYTES = 4 * 65536 * 2;

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
let tablesStart: number | undefined;
/** Per memory, the tables (or linear program) now in its tables region. */
const loaded = new WeakMap<WebAssembly.Memory, Uint16Array | ArrayBuffer>();

/** The workerData property through which a thread hands its compiled module to a worker it starts. */
const SHARED_MODULE_KEY = 'rawbrightWasmModule';

/**
 * The compiled kernels, to hand to a worker thread as `workerData[key]` (the module is cloned to the
 * worker, which then compiles nothing); undefined when the wasm cannot be read (the worker then reports
 * that itself, if it needs the wasm).
 *
 * Why: a worker that compiles its own module and instantiates it leaves about 36 KiB of native memory
 * behind when it exits (measured over 1000 workers on Node 20, RSS +36 KiB a worker; one handed its
 * parent's module: +12, as a worker that does nothing). A batch that starts workers for every file
 * grew by that much a file (issue #13).
 */
export function sharedWasmModule(): { key: string; module: WebAssembly.Module } | undefined {
  try {
    return { key: SHARED_MODULE_KEY, module: wasmModule() };
  } catch {
    return undefined;
  }
}

/**
 * On a worker thread, from its script: takes the module {@link sharedWasmModule} put in the thread's
 * `workerData`, if there is one, so the thread compiles nothing. (A setter rather than this module reading
 * `workerData` itself: the calling thread of an in-thread run then never loads `node:worker_threads`.)
 */
export function adoptSharedWasmModule(workerData: unknown): void {
  const handed: unknown = (workerData as Record<string, unknown> | null)?.[SHARED_MODULE_KEY];
  if (compiled === undefined && handed instanceof WebAssembly.Module) compiled = handed;
}

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
    tablesStart ??= tablesStartOf(exports);
    instances.set(memory, exports);
  }
  return exports;
}

/**
 * Where the tables region starts: the module's tablesAt(), a constant its table loops use as load offsets
 * (16-byte aligned, at or above its heap base, which is where its own data would end).
 */
function tablesStartOf(exports: KernelExports): number {
  const at = exports.tablesAt() >>> 0;
  if (at < exports.heapBase() >>> 0 || at % 16 !== 0) {
    throw new RawbrightError('ERR_WASM_LAYOUT', 'the wasm kernels place their tables over their own data');
  }
  return at;
}

/**
 * {@link tablesStartOf} the module, read from the first instance made in this thread; before there is one,
 * from an instance on a scratch one-page memory (both are link-time constants, whatever memory is imported).
 */
function wasmTablesStart(): number {
  if (tablesStart === undefined) instantiate(new WebAssembly.Memory({ initial: 1, maximum: 1 }));
  return tablesStart as number;
}

/**
 * Where the wasm module's own part of a memory ends: bytes [0, wasmDataEnd()) are the module's (instantiating
 * writes nothing; adjust chains put their tables there), everything above is free for the caller.
 * @returns a byte offset (1024 + 512 KiB with the current build); hosts place their arena at or above it
 */
export function wasmDataEnd(): number {
  return wasmTablesStart() + TABLES_BYTES;
}

/** What a wasm kernel's methods share: its name, its memory, the instance's exports and its brighten loop. */
interface WasmBinding {
  name: 'wasm' | 'wasm-simd';
  memory: WebAssembly.Memory;
  exports: KernelExports;
  run: BrightenExport;
}

/** Brightens `byteLength` bytes at `byteOffset` of the kernel's memory, in pieces the wasm side takes. */
function wasmBrighten(
  k: WasmBinding,
  buffer: ArrayBuffer,
  byteOffset: number,
  byteLength: number,
  params: BrightenParams,
): void {
  // Checked first: a grown memory detaches its old buffer, and a wasm call on offsets into another
  // buffer would silently write the wrong bytes.
  checkOwnBuffer(k, buffer);
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
    k.run(byteOffset + done, length, bands, d0, d1, d2, d3, signed, alpha, big, checked.max);
  }
}

/**
 * wasm-simd under the journal protocol (assembly/index.ts, brightenJournaled); undefined when the parameters
 * change nothing (the caller's JS loop then records the chunks all the same).
 */
function wasmBrightenJournaled(
  k: WasmBinding,
  buffer: ArrayBuffer,
  byteOffset: number,
  byteLength: number,
  params: BrightenParams,
  chunks: JournaledChunks,
): number | undefined {
  checkOwnBuffer(k, buffer);
  const checked = checkBrightenArgs(buffer, byteOffset, byteLength, params);
  const { slot, chunk, first, budget = -1 } = chunks;
  const slotBytes = 4096 + chunk;
  if (
    checked.unchanged ||
    byteLength >= MAX_CALL_BYTES ||
    !Number.isInteger(chunk) ||
    chunk <= 0 ||
    chunk % 96 !== 0 ||
    !Number.isInteger(slot) ||
    slot < wasmDataEnd() ||
    slot + slotBytes > buffer.byteLength ||
    (slot < byteOffset + byteLength && byteOffset < slot + slotBytes) ||
    !Number.isInteger(first) ||
    first < 0 ||
    first + Math.ceil(byteLength / chunk) > 2 ** 31 - 1
  ) {
    if (checked.unchanged || byteLength >= MAX_CALL_BYTES) return undefined;
    throw new RawbrightError(
      'ERR_INVALID_ARG_VALUE',
      'the journal slot or chunk is out of place for this range',
    );
  }
  const [d0, d1 = 0, d2 = 0, d3 = 0] = checked.deltas;
  return k.exports.brightenJournaled(
    byteOffset,
    byteLength,
    checked.bands,
    d0,
    d1,
    d2,
    d3,
    checked.signed ? 1 : 0,
    checked.alpha ? 1 : 0,
    checked.bigEndian ? 1 : 0,
    checked.max,
    slot,
    chunk,
    first,
    budget,
  );
}

/** The wasm kernels work only in their own memory's current buffer. */
function checkOwnBuffer(k: WasmBinding, buffer: ArrayBuffer): void {
  if (buffer !== k.memory.buffer) {
    throw new RawbrightError(
      'ERR_FOREIGN_BUFFER',
      `the ${k.name} kernel works only on its WebAssembly memory's current buffer (memory.buffer)`,
    );
  }
}

/** Adjust tables and programs live below wasmDataEnd(): the data must lie above them. */
function checkAboveData(
  k: WasmBinding,
  buffer: ArrayBuffer,
  byteOffset: number,
  end: number,
  what: 'tables' | 'programs',
): void {
  if (buffer.byteLength < end || byteOffset < end) {
    throw new RawbrightError(
      'ERR_OUT_OF_RANGE',
      `the ${k.name} kernel keeps adjust ${what} below byte ${end} of its memory: the range at ${byteOffset} (memory of ${buffer.byteLength} bytes) must lie above it`,
    );
  }
}

/** Applies adjust tables, loading them below the data first unless already loaded. */
function wasmApplyTables(
  k: WasmBinding,
  buffer: ArrayBuffer,
  byteOffset: number,
  byteLength: number,
  tables: OpTables,
  bigEndian: boolean,
): void {
  checkOwnBuffer(k, buffer);
  if (byteLength === 0) return;
  const at = wasmTablesStart();
  const end = wasmDataEnd();
  checkAboveData(k, buffer, byteOffset, end, 'tables');
  // WebAssembly memory is little-endian: big-endian samples take the byte-swapped tables.
  const packed = packTables(tables, bigEndian);
  if (loaded.get(k.memory) !== packed) {
    new Uint16Array(buffer, at, packed.length).set(packed);
    loaded.set(k.memory, packed);
  }
  const bands = tables.bands;
  const changed = changedBands(tables);
  const shared = sharedTable(tables) ? 1 : 0;
  const piece = MAX_CALL_BYTES - (MAX_CALL_BYTES % (2 * bands));
  for (let done = 0; done < byteLength; done += piece) {
    k.exports.lookupTables(byteOffset + done, Math.min(piece, byteLength - done), bands, changed, shared);
  }
}

/** wasm-simd: a linear chain as f64 SIMD arithmetic (assembly/index.ts, linearSimd); arguments checked by the caller. */
function wasmLinear(
  k: WasmBinding,
  buffer: ArrayBuffer,
  byteOffset: number,
  byteLength: number,
  program: LinearProgram,
  checked: CheckedParams,
): void {
  checkOwnBuffer(k, buffer);
  if (byteLength === 0) return;
  const at = wasmTablesStart();
  const end = wasmDataEnd();
  checkAboveData(k, buffer, byteOffset, end, 'programs');
  if (loaded.get(k.memory) !== program.bytes) {
    new Uint8Array(buffer, at, program.bytes.byteLength).set(new Uint8Array(program.bytes));
    loaded.set(k.memory, program.bytes);
  }
  const { bands } = checked;
  const changed = checked.alpha || (bands !== 2 && bands !== 4) ? bands : bands - 1;
  const piece = MAX_CALL_BYTES - (MAX_CALL_BYTES % (2 * bands));
  for (let done = 0; done < byteLength; done += piece) {
    // Each piece restarts the constant patterns at entry 0 (band 0): right, as every piece is whole pixels.
    k.exports.linearSimd(
      byteOffset + done,
      Math.min(piece, byteLength - done),
      bands,
      changed,
      at,
      program.ops,
      end - 16,
      checked.signed ? 1 : 0,
      checked.bigEndian ? 1 : 0,
      program.lo,
      program.hi,
    );
  }
}

/** wasm-simd: inverts the samples in place (invertSimd); arguments checked by the caller. */
function wasmInvert(
  k: WasmBinding,
  buffer: ArrayBuffer,
  byteOffset: number,
  byteLength: number,
  checked: CheckedParams,
): void {
  checkOwnBuffer(k, buffer);
  const { bands } = checked;
  const piece = MAX_CALL_BYTES - (MAX_CALL_BYTES % (2 * bands));
  for (let done = 0; done < byteLength; done += piece) {
    k.exports.invertSimd(
      byteOffset + done,
      Math.min(piece, byteLength - done),
      bands,
      checked.signed ? 1 : 0,
      checked.alpha ? 1 : 0,
      checked.bigEndian ? 1 : 0,
      checked.max,
    );
  }
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
export function createWasmKernel(name: 'wasm' | 'wasm-simd', memory: WebAssembly.Memory): TableKernel {
  if (!(memory instanceof WebAssembly.Memory)) {
    throw invalidParameterError('memory', 'a WebAssembly.Memory', memory);
  }
  const exports = instantiate(memory);
  const run = name === 'wasm-simd' ? exports.brightenSimd : exports.brightenScalar;
  const k: WasmBinding = { name, memory, exports, run };
  const brighten = (buffer: ArrayBuffer, byteOffset: number, byteLength: number, params: BrightenParams) =>
    wasmBrighten(k, buffer, byteOffset, byteLength, params);
  const applyTables = (
    buffer: ArrayBuffer,
    byteOffset: number,
    byteLength: number,
    tables: OpTables,
    bigEndian: boolean,
  ) => wasmApplyTables(k, buffer, byteOffset, byteLength, tables, bigEndian);
  const linear = (
    buffer: ArrayBuffer,
    byteOffset: number,
    byteLength: number,
    program: LinearProgram,
    checked: CheckedParams,
  ) => wasmLinear(k, buffer, byteOffset, byteLength, program, checked);
  const invert = (buffer: ArrayBuffer, byteOffset: number, byteLength: number, checked: CheckedParams) =>
    wasmInvert(k, buffer, byteOffset, byteLength, checked);
  const brightenJournaled = (
    buffer: ArrayBuffer,
    byteOffset: number,
    byteLength: number,
    params: BrightenParams,
    chunks: JournaledChunks,
  ) => wasmBrightenJournaled(k, buffer, byteOffset, byteLength, params, chunks);
  return Object.freeze(
    name === 'wasm-simd'
      ? { name, brighten, brightenJournaled, applyTables, invert, linear }
      : { name, brighten, applyTables },
  );
}
