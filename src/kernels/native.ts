/**
 * The native brighten kernel (native/brighten.cc: SSE2, or AVX2 where the CPU has it): the in-place
 * reference the wasm kernels are measured against.
 */
import { native } from '../addon.js';
import { type BrightenParams, checkBrightenArgs, type Kernel } from './types.js';

function brighten(buffer: ArrayBuffer, byteOffset: number, byteLength: number, params: BrightenParams): void {
  // Checked here too (the addon checks again) so every kernel refuses bad input with the same message.
  const { delta, signed, alpha } = checkBrightenArgs(buffer, byteOffset, byteLength, params);
  if (delta === 0 || byteLength === 0) return;
  native.brighten(buffer, byteOffset, byteLength, delta, signed, alpha);
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
