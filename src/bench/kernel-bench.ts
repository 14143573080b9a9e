/**
 * The kernel benchmark: every brighten kernel on the same bytes, already in memory, plus the references
 * measured in the same run (memcpy bandwidth through the native copyBytes, and the native in-place kernel).
 *
 * The buffer lives inside a WebAssembly memory (the wasm kernels can only work there) and the js and native
 * kernels are handed that same memory.buffer, so all four touch identical bytes at identical addresses.
 * Before every timed kernel run the original bytes are copied back (untimed), so every run sees the same
 * input: a saturating add on already-saturated data would otherwise be a different workload. Runs go
 * round-robin over the kernels, in a rotating order, so a noisy moment on a shared machine hits all of them.
 */
import { randomFillSync } from 'node:crypto';
import { native } from '../addon.js';
import { invalidParameterError } from '../errors.js';
import { createKernel, KERNEL_NAMES, wasmDataEnd } from '../kernels/index.js';
import type { BrightenParams, KernelName } from '../kernels/types.js';
import { checkBrightenArgs } from '../kernels/types.js';
import { integerInRange } from '../validate.js';
import { gbps, medianRatio, type Summary, summarize, timeOnce } from './stats.js';

/** What the benchmark measures: the four kernels and memcpy. */
export type KernelBenchEntry = KernelName | 'memcpy';
/** Every entry, in table order. */
export const KERNEL_BENCH_ENTRIES: readonly KernelBenchEntry[] = [...KERNEL_NAMES, 'memcpy'];

const WASM_PAGE = 65536;
/** Where the benchmark's bytes start in the wasm memory: 2 MiB aligned, far above the module's own data. */
const DATA_OFFSET = 2 * 1024 * 1024;
/** The largest buffer: a wasm32 memory holds 4 GiB, less the low 2 MiB. */
export const MAX_KERNEL_BENCH_BYTES = 2 ** 32 - DATA_OFFSET;
/** The default buffer size: large enough that no cache holds it, so the kernels run at memory speed. */
export const DEFAULT_KERNEL_BENCH_BYTES = 256 * 1024 * 1024;
/** The default number of timed runs per kernel (after one warm-up run). */
export const DEFAULT_KERNEL_BENCH_RUNS = 5;
/** The default operation: a typical brighten of unsigned samples, alpha untouched. */
export const DEFAULT_KERNEL_BENCH_PARAMS: Readonly<BrightenParams> = Object.freeze({
  delta: 1000,
  type: 'uint16',
  channels: 'rgb',
});

export interface KernelBenchOptions {
  /** Timed runs per kernel, after one untimed warm-up run [5]. */
  runs?: number;
  /** Bytes brightened per run, a multiple of 8 [256 MiB]. */
  sizeBytes?: number;
  /** The brighten operation [delta 1000, uint16, rgb]. */
  params?: BrightenParams;
  /** Called after each timed run (for progress output). */
  onRun?: (entry: KernelBenchEntry, run: number, runs: number, gbps: number) => void;
}

/** The figures for one entry. */
export interface KernelFigures {
  /** Throughput in GB/s (10^9 bytes per second): bytes brightened in place, or for memcpy bytes copied. */
  gbps: Summary;
  /** Raw seconds per run, in run order. */
  seconds: number[];
}

/** A target the project sets for the wasm SIMD kernel, and whether this run met it (median vs median). */
export interface KernelBenchTarget {
  description: string;
  wanted: number;
  measured: number;
  met: boolean;
}

export interface KernelBenchResult {
  sizeBytes: number;
  runs: number;
  params: BrightenParams;
  /** The native kernel's vector path on this CPU ('avx2', 'sse2', 'scalar'). */
  nativePath: string;
  node: string;
  kernels: Record<KernelBenchEntry, KernelFigures>;
  /** Median throughput of each entry divided by the reference's median. */
  ratios: { vsNative: Record<KernelBenchEntry, number>; vsJs: Record<KernelBenchEntry, number> };
  targets: KernelBenchTarget[];
}

function fillRandom(bytes: Uint8Array): void {
  // randomFillSync takes at most 2^31 - 1 bytes at a time.
  const chunk = 64 * 1024 * 1024;
  for (let at = 0; at < bytes.length; at += chunk)
    randomFillSync(bytes.subarray(at, Math.min(at + chunk, bytes.length)));
}

/**
 * Measures the brighten kernels and the memcpy reference.
 * @param options runs [5], sizeBytes [256 MiB], params [delta 1000, uint16, rgb], onRun
 * @returns per-entry GB/s min/median/max, ratios against native and js, and the SIMD targets
 * @throws {RawbrightError} `ERR_INVALID_ARG_VALUE` for bad options
 * @example
 * const result = runKernelBench({ runs: 5, sizeBytes: 64 * 1024 * 1024 });
 * console.log(result.ratios.vsNative['wasm-simd']);
 */
export function runKernelBench(options: KernelBenchOptions = {}): KernelBenchResult {
  const runs = integerInRange('runs', options.runs ?? DEFAULT_KERNEL_BENCH_RUNS, 1, 1000);
  const size = options.sizeBytes ?? DEFAULT_KERNEL_BENCH_BYTES;
  if (!Number.isSafeInteger(size) || size < 8 || size % 8 !== 0 || size > MAX_KERNEL_BENCH_BYTES) {
    throw invalidParameterError('size', `a multiple of 8 bytes from 8 to ${MAX_KERNEL_BENCH_BYTES}`, size);
  }
  const params = { ...(options.params ?? DEFAULT_KERNEL_BENCH_PARAMS) };
  if (params.delta === 0) throw invalidParameterError('delta', 'a non-zero delta (0 skips the work)', 0);

  const pages = Math.ceil((DATA_OFFSET + size) / WASM_PAGE);
  if (wasmDataEnd() > DATA_OFFSET) throw new Error('the wasm module data overlaps the benchmark buffer');
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const buffer = memory.buffer;
  checkBrightenArgs(buffer, DATA_OFFSET, size, params);
  const original = new Uint8Array(size);
  fillRandom(original);
  const restore = () => native.copyBytes(buffer, DATA_OFFSET, original.buffer, original.byteOffset, size);

  const kernels = Object.fromEntries(KERNEL_NAMES.map((name) => [name, createKernel(name, memory)]));
  const measureOnce = (entry: KernelBenchEntry): number => {
    if (entry === 'memcpy') return timeOnce(restore);
    restore();
    const kernel = kernels[entry];
    return timeOnce(() => kernel.brighten(buffer, DATA_OFFSET, size, params));
  };

  // Warm-up: faults the memory in, lets V8 optimise the js kernel and tier up the wasm.
  for (const entry of KERNEL_BENCH_ENTRIES) measureOnce(entry);
  const seconds = Object.fromEntries(KERNEL_BENCH_ENTRIES.map((entry) => [entry, [] as number[]])) as Record<
    KernelBenchEntry,
    number[]
  >;
  for (let run = 0; run < runs; run++) {
    for (let i = 0; i < KERNEL_BENCH_ENTRIES.length; i++) {
      const entry = KERNEL_BENCH_ENTRIES[(run + i) % KERNEL_BENCH_ENTRIES.length];
      const elapsed = measureOnce(entry);
      seconds[entry].push(elapsed);
      options.onRun?.(entry, run + 1, runs, gbps(size, elapsed));
    }
  }

  const figures = {} as Record<KernelBenchEntry, KernelFigures>;
  for (const entry of KERNEL_BENCH_ENTRIES) {
    figures[entry] = { gbps: summarize(seconds[entry].map((s) => gbps(size, s))), seconds: seconds[entry] };
  }
  const vsNative = {} as Record<KernelBenchEntry, number>;
  const vsJs = {} as Record<KernelBenchEntry, number>;
  for (const entry of KERNEL_BENCH_ENTRIES) {
    vsNative[entry] = medianRatio(figures[entry].gbps, figures.native.gbps);
    vsJs[entry] = medianRatio(figures[entry].gbps, figures.js.gbps);
  }
  const target = (description: string, wanted: number, measured: number): KernelBenchTarget => ({
    description,
    wanted,
    measured,
    met: measured >= wanted,
  });
  return {
    sizeBytes: size,
    runs,
    params,
    nativePath: native.brightenPath,
    node: process.version,
    kernels: figures,
    ratios: { vsNative, vsJs },
    targets: [
      target('wasm-simd at least 0.9x native', 0.9, vsNative['wasm-simd']),
      target('wasm-simd at least 15x js', 15, vsJs['wasm-simd']),
    ],
  };
}
