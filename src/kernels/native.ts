/**
 * The native brighten kernel (native/brighten_kernel.h: SSE2, or AVX2 where the CPU has it): the in-place
 * reference the wasm kernels are measured against.
 */
import { native } from '../addon.js';
import { type BrightenParams, checkBrightenArgs, type Kernel } from './types.js';

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

/**
 * Creates the native kernel. It works on any ArrayBuffer (wasm memory buffers and mapped windows included).
 * @returns a kernel named `'native'`
 */
export function createNativeKernel(): Kernel {
  return Object.freeze({ name: 'native' as const, brighten });
}

/** The vector path the native kernel takes on this CPU: `'avx2'`, `'sse2'` or `'scalar'`. */
export function nativeKernelPath(): string {
  return native.brightenPath;
}
