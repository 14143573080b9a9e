/**
 * The brighten kernels: one {@link Kernel} interface, four implementations (see {@link KERNEL_NAMES}).
 * `js` is the reference; `wasm` and `wasm-simd` run the AssemblyScript kernels inside a WebAssembly memory;
 * `native` is the C++ kernel.
 */
import { oneOf } from '../validate.js';
import { createJsKernel } from './js.js';
import { type LinearProgram, linearProgram } from './linear.js';
import { createNativeKernel } from './native.js';
import {
  addOnlyDeltas,
  buildTables,
  type CheckedOp,
  checkOps,
  type OpTables,
  tablesAreInvert,
  tablesAsAdd,
} from './ops.js';
import {
  type Bands,
  type BrightenParams,
  type CheckedParams,
  checkBrightenArgs,
  type JournaledChunks,
  KERNEL_NAMES,
  type Kernel,
  type KernelName,
  type TableKernel,
} from './types.js';
import { createWasmKernel } from './wasm.js';

export type { AdjustOp } from './ops.js';
export {
  applyTables,
  buildTables,
  checkOps,
  roundHalfEven,
  tablesAreInvert,
  tablesAsAdd,
} from './ops.js';
export type { BrightenParams, Channels, Kernel, KernelName, SampleType } from './types.js';
export { KERNEL_NAMES } from './types.js';
export { sharedWasmModule, wasmDataEnd } from './wasm.js';

/**
 * Creates a brighten kernel.
 * @param name `'js'`, `'wasm'`, `'wasm-simd'` or `'native'`
 * @param memory the WebAssembly memory the wasm kernels work in (the caller owns it; the kernels never grow
 *   it). The js and native kernels ignore it and accept any buffer.
 * @returns the kernel
 * @throws {RawbrightError} `ERR_INVALID_ARG_VALUE` for an unknown name or (wasm kernels) a memory that is not a
 *   WebAssembly.Memory
 * @example
 * const memory = new WebAssembly.Memory({ initial: 17 });
 * const kernel = createKernel('wasm-simd', memory);
 * kernel.brighten(memory.buffer, 65536, 65536, { delta: 512, type: 'uint16', channels: 'rgb' });
 */
export function createKernel(name: KernelName, memory: WebAssembly.Memory): Kernel {
  const checked = oneOf('kernel', name, KERNEL_NAMES);
  if (checked === 'js') return withOps(createJsKernel());
  if (checked === 'native') return withOps(createNativeKernel());
  return withOps(createWasmKernel(checked, memory));
}

/** Per tables, the deltas when they are exactly a saturating add (see tablesAsAdd), else null. */
const asAdd = new WeakMap<OpTables, number[] | null>();

/** Per tables, whether they are exactly invert (see tablesAreInvert). */
const isInvert = new WeakMap<OpTables, boolean>();

/** The tables of the chains seen last (a run has one chain per layout; a few entries suffice). */
const tableCache = new Map<string, OpTables>();
const TABLE_CACHE_ENTRIES = 8;

function tablesFor(
  params: BrightenParams,
  ops: readonly CheckedOp[],
  bands: Bands,
  alpha: boolean,
): OpTables {
  const key = JSON.stringify([ops, params.type, bands, alpha, params.max]);
  let tables = tableCache.get(key);
  if (tables === undefined) {
    tables = buildTables(ops, params.type, bands, alpha, params.max);
    if (tableCache.size >= TABLE_CACHE_ENTRIES) tableCache.delete(tableCache.keys().next().value as string);
    tableCache.set(key, tables);
  }
  return tables;
}

/** Per tables, the arithmetic program of their chain (see useArithmetic), or null when it has none (gamma). */
const programs = new WeakMap<OpTables, LinearProgram | null>();

/**
 * Whether a linear chain runs as f64 SIMD arithmetic rather than through the tables, on a kernel that has both
 * (wasm-simd, native). Decided by measurement (64 MiB of 4-band uint16 with alpha kept, GB/s per CPU second so
 * that the shared machine's load drops out): native's AVX2 arithmetic is ahead of its table loop for one or two
 * ops of add and gain (gain 1.1: 5.07 against 3.90; add +0.5: 5.01 against 3.67; gain, add: 4.64 against 3.89),
 * behind as soon as levels comes in (its f64 division per sample: levels alone 3.48 against 4.07), and each
 * further op costs a whole pass of vector work while the table costs nothing more. wasm-simd's 128-bit
 * arithmetic is behind its table loop on every linear chain since that loop reads one shared table with
 * constant-offset lookups (gain 1.1: 3.52 against 4.42; add +0.5: 3.70 against 4.12; gain, add: 2.60 against
 * 4.59; levels: 2.21 against 4.23), so wasm-simd runs them all through the tables (its `linear` stays, tested on
 * every value, for direct use). Both paths give the same bytes (the tests prove it on every input), so this
 * choice is about speed alone.
 */
function useArithmetic(kernel: KernelName, ops: readonly CheckedOp[]): boolean {
  return kernel === 'native' && ops.length <= 2 && ops.every((op) => op.op !== 'levels');
}

function programFor(
  tables: OpTables,
  ops: readonly CheckedOp[],
  layout: CheckedParams,
): LinearProgram | null {
  let program = programs.get(tables);
  if (program === undefined) {
    program = linearProgram(ops, layout.bands, layout.low, layout.max) ?? null;
    programs.set(tables, program);
  }
  return program;
}

/**
 * A kernel that also applies `params.ops`: a chain of one whole-number add becomes the kernel's own brighten
 * (SIMD saturating add where the kernel has it), every other chain goes through the per-band tables, built
 * once here and applied by the kernel's own table loop (TypeScript, wasm or C++), so all four give the same
 * bytes.
 */
function withOps(kernel: TableKernel): Kernel {
  const brighten = (
    buffer: ArrayBuffer,
    byteOffset: number,
    byteLength: number,
    params: BrightenParams,
  ): void => {
    if (params === null || typeof params !== 'object' || params.ops === undefined) {
      kernel.brighten(buffer, byteOffset, byteLength, params);
      return;
    }
    const { ops: given, ...rest } = params;
    const layout = checkBrightenArgs(buffer, byteOffset, byteLength, { ...rest, delta: 0 });
    const ops = checkOps(given, layout.bands, !layout.alpha && (layout.bands === 2 || layout.bands === 4));
    const deltas = addOnlyDeltas(ops);
    if (deltas !== undefined) {
      kernel.brighten(buffer, byteOffset, byteLength, { ...rest, delta: deltas });
      return;
    }
    if (byteLength === 0) return;
    const tables = tablesFor(params, ops, layout.bands, layout.alpha);
    let add = asAdd.get(tables);
    if (add === undefined) {
      add = tablesAsAdd(tables, params.type, params.max) ?? null;
      asAdd.set(tables, add);
    }
    if (add !== null) {
      // Proven equal on all 65,536 inputs of every band: brighten's SIMD saturating add gives the same bytes.
      kernel.brighten(buffer, byteOffset, byteLength, { ...rest, delta: add });
      return;
    }
    if (kernel.invert !== undefined) {
      let invert = isInvert.get(tables);
      if (invert === undefined) {
        invert = tablesAreInvert(tables, params.type, params.max);
        isInvert.set(tables, invert);
      }
      if (invert) {
        // Proven equal on all 65,536 inputs of every band: the kernel's SIMD invert gives the same bytes.
        kernel.invert(buffer, byteOffset, byteLength, layout);
        return;
      }
    }
    if (kernel.linear !== undefined && useArithmetic(kernel.name, ops)) {
      const program = programFor(tables, ops, layout);
      if (program !== null) {
        kernel.linear(buffer, byteOffset, byteLength, program, layout);
        return;
      }
    }
    kernel.applyTables(buffer, byteOffset, byteLength, tables, layout.bigEndian);
  };
  const journaled = kernel.brightenJournaled;
  if (journaled === undefined) return Object.freeze({ name: kernel.name, brighten });
  // Under the journal, the kernel's own loop takes a plain brighten (or a chain that only adds); any other
  // chain is recorded from JavaScript (undefined).
  const brightenJournaled = (
    buffer: ArrayBuffer,
    byteOffset: number,
    byteLength: number,
    params: BrightenParams,
    chunks: JournaledChunks,
  ): number | undefined => {
    if (params === null || typeof params !== 'object' || params.ops === undefined) {
      return journaled(buffer, byteOffset, byteLength, params, chunks);
    }
    const { ops: given, ...rest } = params;
    const layout = checkBrightenArgs(buffer, byteOffset, byteLength, { ...rest, delta: 0 });
    const deltas = addOnlyDeltas(
      checkOps(given, layout.bands, !layout.alpha && (layout.bands === 2 || layout.bands === 4)),
    );
    return deltas === undefined
      ? undefined
      : journaled(buffer, byteOffset, byteLength, { ...rest, delta: deltas }, chunks);
  };
  return Object.freeze({ name: kernel.name, brighten, brightenJournaled });
}
