/**
 * The brighten kernels: one {@link Kernel} interface, four implementations (see {@link KERNEL_NAMES}).
 * `js` is the reference; `wasm` and `wasm-simd` run the AssemblyScript kernels inside a WebAssembly memory;
 * `native` is the C++ kernel.
 */
import { oneOf } from '../validate.js';
import { createJsKernel } from './js.js';
import { createNativeKernel } from './native.js';
import { KERNEL_NAMES, type Kernel, type KernelName } from './types.js';
import { createWasmKernel } from './wasm.js';

export type {
  Bands,
  BrightenParams,
  ByteOrder,
  Channels,
  Kernel,
  KernelName,
  RgbaBrightenParams,
  SampleType,
} from './types.js';
export { BAND_COUNTS, BYTE_ORDERS, CHANNEL_MODES, KERNEL_NAMES, MAX_DELTA, SAMPLE_TYPES } from './types.js';
export { wasmDataEnd } from './wasm.js';

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
  if (checked === 'js') return createJsKernel();
  if (checked === 'native') return createNativeKernel();
  return createWasmKernel(checked, memory);
}
