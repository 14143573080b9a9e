/**
 * The native brighten kernel (native/brighten_kernel.h: SSE2, or AVX2 where the CPU has it): the in-place
 * reference the wasm kernels are measured against.
 */
import { native } from '../addon.js';
import type { LinearProgram } from './linear.js';
import { changedBands, HOST_IS_LITTLE_ENDIAN, type OpTables, packTables } from './ops.js';
import { type BrightenParams, type CheckedParams, checkBrightenArgs, type TableKernel } from './types.js';

function brighten(buffer: ArrayBuffer, byteOffset: number, byteLength: number, params: BrightenParams): void {
  // Checked here too (the addon checks again) so every kernel refuses bad input with the same message.
  const checked = checkBrightenArgs(buffer, byteOffset, byteLength, params);
  if (checked.unchanged || byteLength === 0) return;
  const { deltas, signed, alpha, bands, bigEndian } = checked;
  native.brighten(
    buffer,
    byteOffset,
    byteLength,
    deltas,
    signed,
    alpha,
    bands,
    bigEndian,
    signed ? undefined : checked.max,
  );
}

/** The adjust tables through the C++ loop (native/brighten_kernel.h, LookupRange); arguments checked by the caller. */
function applyTables(
  buffer: ArrayBuffer,
  byteOffset: number,
  byteLength: number,
  tables: OpTables,
  bigEndian: boolean,
): void {
  if (byteLength === 0) return;
  const packed = packTables(tables, bigEndian === HOST_IS_LITTLE_ENDIAN);
  native.applyTables(
    buffer,
    byteOffset,
    byteLength,
    packed.buffer as ArrayBuffer,
    tables.bands,
    changedBands(tables),
  );
}

/** A linear chain as exact f64 arithmetic, AVX2 where the CPU has it, else SSE2 (native/brighten_kernel.h, LinearRange); arguments checked by the caller. */
function linear(
  buffer: ArrayBuffer,
  byteOffset: number,
  byteLength: number,
  program: LinearProgram,
  checked: CheckedParams,
): void {
  if (byteLength === 0) return;
  const { bands } = checked;
  const changed = checked.alpha || (bands !== 2 && bands !== 4) ? bands : bands - 1;
  native.applyLinear(
    buffer,
    byteOffset,
    byteLength,
    program.bytes,
    program.ops,
    bands,
    changed,
    checked.signed,
    checked.bigEndian,
    program.lo,
    program.hi,
  );
}

/**
 * Creates the native kernel. It works on any ArrayBuffer (wasm memory buffers and mapped windows included).
 * @returns a kernel named `'native'`
 */
export function createNativeKernel(): TableKernel {
  return Object.freeze({ name: 'native' as const, brighten, applyTables, linear });
}
