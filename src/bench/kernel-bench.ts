/**
 * The kernel benchmark: every brighten kernel on the same bytes, already in memory, plus the references
 * measured in the same run (memcpy bandwidth through the native copyBytes, and the native in-place kernel).
 *
 * The buffer lives inside a WebAssembly memory (the wasm kernels can only work there) and the js and native
 * kernels are handed that same memory.buffer, so all four touch identical bytes at identical addresses.
 * Before every timed kernel run the original bytes are copied back (untimed), so every run sees the same
 * input: a saturating add on already-saturated data would otherwise be a different workload. Runs go
 * round-robin over the kernels, in a rotating order, so a noisy moment on a shared machine hits all of them.
 *
 * Then the adjust operations (issue 15): add, gain, levels, gamma, invert and one chain of them, each kernel on
 * the same bytes, as GB/s and as ratios to js and native, so it shows where WebAssembly wins over JavaScript once
 * the work is a table lookup rather than memory-bound arithmetic.
 *
 * After that, the same is done for a list of pixel layouts (1, 3 and 4 bands, both byte orders, a
 * 12-bit max, int16, per-band deltas), each kernel on the same bytes, so the cost of a layout shows against
 * its little-endian twin.
 */
import { randomFillSync } from 'node:crypto';
import { native } from '../addon.js';
import { invalidParameterError, RawbrightError } from '../errors.js';
import { type AdjustOp, checkOps, createKernel, KERNEL_NAMES, wasmDataEnd } from '../kernels/index.js';
import type { BrightenParams, Kernel, KernelName } from '../kernels/types.js';
import { checkBrightenArgs } from '../kernels/types.js';
import { bytesPerPixel } from '../pixels.js';
import { integerInRange } from '../validate.js';
import {
  type BenchClock,
  gbps,
  medianRatio,
  pairedSpeedRatio,
  type Summary,
  summarize,
  timerFor,
} from './stats.js';

/** What the benchmark measures: the four kernels and memcpy. */
export type KernelBenchEntry = KernelName | 'memcpy';
/** Every entry, in table order. */
export const KERNEL_BENCH_ENTRIES: readonly KernelBenchEntry[] = [...KERNEL_NAMES, 'memcpy'];

const WASM_PAGE = 65536;
/** Where the benchmark's bytes start in the wasm memory: 2 MiB aligned, far above the module's own data. */
const DATA_OFFSET = 2 * 1024 * 1024;
/** The largest buffer: a wasm32 memory holds 4 GiB, less the low 2 MiB. */
const MAX_KERNEL_BENCH_BYTES = 2 ** 32 - DATA_OFFSET;
/** The default buffer size: large enough that no cache holds it, so the kernels run at memory speed. */
const DEFAULT_KERNEL_BENCH_BYTES = 256 * 1024 * 1024;
/** The default number of timed runs per kernel (after one warm-up run). */
export const DEFAULT_KERNEL_BENCH_RUNS = 5;
/** The default operation: a typical brighten of unsigned samples, alpha untouched. */
export const DEFAULT_KERNEL_BENCH_PARAMS: Readonly<BrightenParams> = Object.freeze({
  delta: 1000,
  type: 'uint16',
  channels: 'rgb',
});

/** One row of the layout table: a label and the operation measured. */
export interface KernelBenchLayout {
  label: string;
  params: BrightenParams;
}

/** The layouts measured after the main table: every band count real files have, in both byte orders. */
export const DEFAULT_KERNEL_BENCH_LAYOUTS: readonly KernelBenchLayout[] = Object.freeze([
  { label: '4 bands (RGBA, alpha kept), little-endian', params: { delta: 1000, type: 'uint16', bands: 4 } },
  {
    label: '4 bands (RGBA, alpha kept), big-endian',
    params: { delta: 1000, type: 'uint16', bands: 4, byteOrder: 'big' },
  },
  { label: '3 bands (RGB), little-endian', params: { delta: 1000, type: 'uint16', bands: 3 } },
  { label: '3 bands (RGB), big-endian', params: { delta: 1000, type: 'uint16', bands: 3, byteOrder: 'big' } },
  { label: '1 band (grey), little-endian', params: { delta: 1000, type: 'uint16', bands: 1 } },
  { label: '1 band (grey), big-endian', params: { delta: 1000, type: 'uint16', bands: 1, byteOrder: 'big' } },
  {
    label: '1 band, big-endian, max 4095 (12-bit PNM)',
    params: { delta: 1000, type: 'uint16', bands: 1, byteOrder: 'big', max: 4095 },
  },
  {
    label: '1 band int16, big-endian (FITS)',
    params: { delta: 1000, type: 'int16', bands: 1, byteOrder: 'big' },
  },
  {
    label: '3 bands, per-band +1000/0/-1000, little-endian',
    params: { delta: [1000, 0, -1000], type: 'uint16', bands: 3 },
  },
] satisfies KernelBenchLayout[]);

/** One adjust operation row: a label and the chain, applied to 4-band uint16 pixels with alpha kept. */
export interface KernelBenchOperation {
  label: string;
  ops: readonly AdjustOp[];
  /**
   * A linear chain the native kernel runs as f64 SIMD arithmetic (wasm-simd runs it through its table loop,
   * which is faster there; see useArithmetic in src/kernels/index.ts): its target is wasm-simd at least 0.9×
   * native, rather than 1 GB/s for the tables.
   */
  linear?: boolean;
}

/** The operations measured: each op alone, and one chain (table ops: gain, levels, gamma, invert, the chain). */
export const DEFAULT_KERNEL_BENCH_OPERATIONS: readonly KernelBenchOperation[] = Object.freeze([
  { label: 'add +1000', ops: [{ op: 'add', value: 1000 }] },
  { label: 'gain 1.1', ops: [{ op: 'gain', value: 1.1 }], linear: true },
  { label: 'add +0.5 (a fraction)', ops: [{ op: 'add', value: 0.5 }], linear: true },
  {
    label: 'gain 1.1, add -100.5',
    ops: [
      { op: 'gain', value: 1.1 },
      { op: 'add', value: -100.5 },
    ],
    linear: true,
  },
  { label: 'levels 1000:60000', ops: [{ op: 'levels', black: 1000, white: 60000 }] },
  { label: 'gamma 2.2', ops: [{ op: 'gamma', value: 2.2 }] },
  { label: 'invert', ops: [{ op: 'invert' }] },
  {
    label: 'levels, gain, gamma, invert',
    ops: [
      { op: 'levels', black: 1000, white: 60000 },
      { op: 'gain', value: 1.1 },
      { op: 'gamma', value: 2.2 },
      { op: 'invert' },
    ],
  },
] satisfies KernelBenchOperation[]);

/** The layout of the operation rows: 4-band uint16, alpha kept, little-endian. */
const OPERATION_LAYOUT = { type: 'uint16', bands: 4 } as const;
/** The project's goal for table chains in wasm: at least this many GB/s on one core. */
const WASM_TABLE_TARGET_GBPS = 1;

/** Big-endian rows compared with their little-endian twins: [big, little] labels. */
const BYTE_ORDER_PAIRS: readonly [string, string][] = [
  ['4 bands (RGBA, alpha kept), big-endian', '4 bands (RGBA, alpha kept), little-endian'],
  ['3 bands (RGB), big-endian', '3 bands (RGB), little-endian'],
  ['1 band (grey), big-endian', '1 band (grey), little-endian'],
];
/** The project's goal for big-endian layouts: at least this fraction of little-endian speed. */
const BIG_ENDIAN_TARGET = 0.8;

export interface KernelBenchOptions {
  /** Timed runs per kernel, after one untimed warm-up run [5]. */
  runs?: number;
  /** Bytes brightened per run, a multiple of 8 [256 MiB]. */
  sizeBytes?: number;
  /** The brighten operation [delta 1000, uint16, rgb]. */
  params?: BrightenParams;
  /** The layout table's rows [DEFAULT_KERNEL_BENCH_LAYOUTS]; an empty list skips it. */
  layouts?: readonly KernelBenchLayout[];
  /** The adjust operation rows [DEFAULT_KERNEL_BENCH_OPERATIONS]; an empty list skips them. */
  operations?: readonly KernelBenchOperation[];
  /**
   * The clock each run is timed by ['wall']: `'cpu'` counts only the time the process ran (see
   * cpuTimeOnce), for a machine whose other jobs take the core away in the middle of runs.
   */
  clock?: BenchClock;
  /** Called after each timed run (for progress output); `layout` is the layout row's label, if any. */
  onRun?: (entry: KernelBenchEntry, run: number, runs: number, gbps: number, layout?: string) => void;
}

/** The figures for one entry. */
export interface KernelFigures {
  /**
   * Throughput in GB/s (10^9 bytes per second, of the result's `clock`): bytes brightened in place, or for
   * memcpy bytes copied.
   */
  gbps: Summary;
  /** Raw seconds per run (of the result's `clock`), in run order. */
  seconds: number[];
}

/** A target the project sets for the wasm SIMD kernel, and whether this run met it (median vs median). */
export interface KernelBenchTarget {
  description: string;
  wanted: number;
  measured: number;
  met: boolean;
}

/** One measured layout row: every kernel (no memcpy) on `bytes` bytes, a whole number of its pixels. */
export interface KernelLayoutFigures {
  label: string;
  params: BrightenParams;
  bytes: number;
  kernels: Record<KernelName, KernelFigures>;
}

/** One measured adjust operation: every kernel on the same bytes, and median ratios to js and native. */
export interface KernelOperationFigures extends KernelLayoutFigures {
  ratios: { vsJs: Record<KernelName, number>; vsNative: Record<KernelName, number> };
}

export interface KernelBenchResult {
  sizeBytes: number;
  runs: number;
  /** The clock the runs were timed by: wall seconds, or the process's CPU seconds. */
  clock: BenchClock;
  params: BrightenParams;
  /** The native kernel's vector path on this CPU ('avx2', 'sse2', 'scalar'). */
  nativePath: string;
  node: string;
  kernels: Record<KernelBenchEntry, KernelFigures>;
  /** Each entry's throughput against the reference's: the median of the ratios of the runs of one round. */
  ratios: { vsNative: Record<KernelBenchEntry, number>; vsJs: Record<KernelBenchEntry, number> };
  targets: KernelBenchTarget[];
  /** The adjust operations (4-band uint16, alpha kept), in the order asked for. */
  operations: KernelOperationFigures[];
  /**
   * wasm-simd against native on the arithmetic (linear) rows, then wasm and wasm-simd on the table operations
   * (all but add) against {@link WASM_TABLE_TARGET_GBPS}.
   */
  operationTargets: KernelBenchTarget[];
  /** The layout table, in the order asked for. */
  layouts: KernelLayoutFigures[];
  /** Big-endian rows against their little-endian twins (median vs median), where both were measured. */
  layoutTargets: KernelBenchTarget[];
}

/**
 * A short description of a brighten operation for table headers: `uint16 rgb, delta +1000` for the legacy
 * form, otherwise type, bands, byte order, max and delta(s).
 * @param params the operation
 * @returns one line of text
 */
export function describeBenchParams(params: BrightenParams): string {
  const signed = (d: number) => `${d > 0 ? '+' : ''}${d}`;
  const delta =
    typeof params.delta === 'number' ? signed(params.delta) : `[${params.delta.map(signed).join(', ')}]`;
  const parts: string[] = [params.type];
  if (params.channels !== undefined) parts[0] += ` ${params.channels}`;
  if (params.bands !== undefined) parts.push(`${params.bands} band${params.bands === 1 ? '' : 's'}`);
  if (params.alpha === true) parts.push('alpha changed');
  if (params.byteOrder !== undefined) parts.push(`${params.byteOrder}-endian`);
  if (params.max !== undefined) parts.push(`max ${params.max}`);
  return `${parts.join(', ')}, delta ${delta}`;
}

/** A layout's band count, checked (the full check runs on the buffer below). */
function checkLayoutBands(params: BrightenParams): 1 | 2 | 3 | 4 {
  return checkBrightenArgs(new ArrayBuffer(0), 0, 0, params).bands;
}

function fillRandom(bytes: Uint8Array): void {
  // randomFillSync takes at most 2^31 - 1 bytes at a time.
  const chunk = 64 * 1024 * 1024;
  for (let at = 0; at < bytes.length; at += chunk)
    randomFillSync(bytes.subarray(at, Math.min(at + chunk, bytes.length)));
}

/** The options, checked, with the adjust operations turned into brighten parameters. */
interface BenchPlan {
  runs: number;
  clock: BenchClock;
  size: number;
  params: BrightenParams;
  layouts: readonly KernelBenchLayout[];
  operations: { label: string; linear: boolean; params: BrightenParams }[];
  /** The bytes each operation brightens: the whole 8-byte pixels that fit in `size`. */
  operationBytes: number;
}

/** Checks runs, size and the operations, in that order. */
function planBench(options: KernelBenchOptions): BenchPlan {
  const runs = integerInRange('runs', options.runs ?? DEFAULT_KERNEL_BENCH_RUNS, 1, 1000);
  const clock = options.clock ?? 'wall';
  if (clock !== 'wall' && clock !== 'cpu') throw invalidParameterError('clock', "'wall' or 'cpu'", clock);
  const size = options.sizeBytes ?? DEFAULT_KERNEL_BENCH_BYTES;
  if (!Number.isSafeInteger(size) || size < 8 || size % 8 !== 0 || size > MAX_KERNEL_BENCH_BYTES) {
    throw invalidParameterError('size', `a multiple of 8 bytes from 8 to ${MAX_KERNEL_BENCH_BYTES}`, size);
  }
  const params = { ...(options.params ?? DEFAULT_KERNEL_BENCH_PARAMS) };
  const layouts = options.layouts ?? DEFAULT_KERNEL_BENCH_LAYOUTS;
  const operations = (options.operations ?? DEFAULT_KERNEL_BENCH_OPERATIONS).map(
    ({ label, ops, linear }) => ({
      label,
      linear: linear === true,
      params: {
        delta: 0,
        ...OPERATION_LAYOUT,
        ops: checkOps(ops, OPERATION_LAYOUT.bands, true),
      } as BrightenParams,
    }),
  );
  const operationBytes = size - (size % bytesPerPixel(OPERATION_LAYOUT.bands));
  if (operations.length > 0 && operationBytes === 0) {
    throw invalidParameterError('size', 'at least one 8-byte pixel for the operations', size);
  }
  return { runs, clock, size, params, layouts, operations, operationBytes };
}

/** The wasm memory every kernel works in, holding the random bytes each run starts from. */
interface BenchMemory {
  memory: WebAssembly.Memory;
  buffer: ArrayBuffer;
  /** Each layout's bytes: the largest whole number of its pixels that fits in `size`. */
  layoutBytes: number[];
  /** Copies the original random bytes back over the buffer. */
  restore: () => void;
}

/**
 * Makes the memory, then checks the main parameters and every layout against it (each must change some
 * sample), then fills the original bytes.
 */
function prepareBenchMemory({ size, params, layouts }: BenchPlan): BenchMemory {
  const pages = Math.ceil((DATA_OFFSET + size) / WASM_PAGE);
  if (wasmDataEnd() > DATA_OFFSET) {
    throw new RawbrightError('ERR_WASM_LAYOUT', 'the wasm module data overlaps the benchmark buffer');
  }
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
  const buffer = memory.buffer;
  if (checkBrightenArgs(buffer, DATA_OFFSET, size, params).unchanged) {
    throw invalidParameterError('delta', 'a non-zero delta (0 skips the work)', params.delta);
  }
  // Each layout brightens the largest whole number of its pixels that fits in `size`.
  const layoutBytes = layouts.map(({ params: p }) => size - (size % bytesPerPixel(checkLayoutBands(p))));
  layouts.forEach(({ label, params: p }, i) => {
    if (layoutBytes[i] === 0 || checkBrightenArgs(buffer, DATA_OFFSET, layoutBytes[i], p).unchanged) {
      throw invalidParameterError('layouts', 'layouts that change some sample of at least one pixel', label);
    }
  });
  const original = new Uint8Array(size);
  fillRandom(original);
  const restore = () => native.copyBytes(buffer, DATA_OFFSET, original.buffer, original.byteOffset, size);
  return { memory, buffer, layoutBytes, restore };
}

/** Round-robin timed runs of `entries` on `bytes` bytes with `params`, after one warm-up run of each. */
type Measure = <E extends KernelBenchEntry>(
  entries: readonly E[],
  params: BrightenParams,
  bytes: number,
  layout?: string,
) => Record<E, number[]>;

/** Creates the kernels on `memory` and returns the function that times them. */
function benchMeasurer(
  { memory, buffer, restore }: BenchMemory,
  runs: number,
  clock: BenchClock,
  onRun: KernelBenchOptions['onRun'],
): Measure {
  const time = timerFor(clock);
  const kernels = Object.fromEntries(
    KERNEL_NAMES.map((name) => [name, createKernel(name, memory)]),
  ) as Record<KernelName, Kernel>;
  return <E extends KernelBenchEntry>(
    entries: readonly E[],
    p: BrightenParams,
    bytes: number,
    layout?: string,
  ): Record<E, number[]> => {
    const once = (entry: E): number => {
      if (entry === 'memcpy') return time(restore);
      restore();
      const kernel = kernels[entry as KernelName];
      return time(() => kernel.brighten(buffer, DATA_OFFSET, bytes, p));
    };
    // Warm-up: faults the memory in, lets V8 optimise the js kernel and tier up the wasm.
    for (const entry of entries) once(entry);
    const seconds = Object.fromEntries(entries.map((entry) => [entry, [] as number[]])) as Record<
      E,
      number[]
    >;
    for (let run = 0; run < runs; run++) {
      for (let i = 0; i < entries.length; i++) {
        const entry = entries[(run + i) % entries.length];
        const elapsed = once(entry);
        seconds[entry].push(elapsed);
        onRun?.(entry, run + 1, runs, gbps(bytes, elapsed), layout);
      }
    }
    return seconds;
  };
}

function target(description: string, wanted: number, measured: number): KernelBenchTarget {
  return { description, wanted, measured, met: measured >= wanted };
}

/** GB/s min/median/max and the raw seconds of each entry in `times`, for `bytes` bytes a run. */
function figuresOf<E extends KernelBenchEntry>(
  entries: readonly E[],
  times: Record<E, number[]>,
  bytes: number,
): Record<E, KernelFigures> {
  const out = {} as Record<E, KernelFigures>;
  for (const entry of entries) {
    out[entry] = { gbps: summarize(times[entry].map((t) => gbps(bytes, t))), seconds: times[entry] };
  }
  return out;
}

/** Each entry's throughput against `reference`'s: the median of the ratios of runs timed in the same round. */
function ratiosTo<E extends KernelBenchEntry>(
  entries: readonly E[],
  figures: Record<E, KernelFigures>,
  reference: E,
): Record<E, number> {
  return Object.fromEntries(
    entries.map((entry) => [entry, pairedSpeedRatio(figures[entry].seconds, figures[reference].seconds)]),
  ) as Record<E, number>;
}

/** Every kernel on every adjust operation, in the order given. */
function measureOperations(measure: Measure, plan: BenchPlan): KernelOperationFigures[] {
  const bytes = plan.operationBytes;
  return plan.operations.map(({ label, params: p }) => {
    const of = figuresOf(KERNEL_NAMES, measure(KERNEL_NAMES, p, bytes, label), bytes);
    return {
      label,
      params: p,
      bytes,
      kernels: of,
      ratios: { vsJs: ratiosTo(KERNEL_NAMES, of, 'js'), vsNative: ratiosTo(KERNEL_NAMES, of, 'native') },
    };
  });
}

/**
 * Per row: wasm (always its table loop) against 1 GB/s, and wasm-simd against 1 GB/s on table rows or
 * against 0.9x native on the linear rows (native runs them as arithmetic). A lone add not marked linear has no target.
 */
function operationTargetsOf(figures: KernelOperationFigures[], plan: BenchPlan): KernelBenchTarget[] {
  const linearLabels = new Set(plan.operations.filter((o) => o.linear).map((o) => o.label));
  return figures
    .filter(
      (o) => !(o.params.ops?.length === 1 && o.params.ops[0]?.op === 'add' && !linearLabels.has(o.label)),
    )
    .flatMap((o) => [
      target(
        `wasm ${o.label} at least ${WASM_TABLE_TARGET_GBPS} GB/s`,
        WASM_TABLE_TARGET_GBPS,
        o.kernels.wasm.gbps.median,
      ),
      linearLabels.has(o.label)
        ? target(`wasm-simd ${o.label} (linear) at least 0.9x native`, 0.9, o.ratios.vsNative['wasm-simd'])
        : target(
            `wasm-simd ${o.label} at least ${WASM_TABLE_TARGET_GBPS} GB/s`,
            WASM_TABLE_TARGET_GBPS,
            o.kernels['wasm-simd'].gbps.median,
          ),
    ]);
}

/** Every kernel on every layout, in the order given. */
function measureLayouts(measure: Measure, plan: BenchPlan, layoutBytes: number[]): KernelLayoutFigures[] {
  return plan.layouts.map(({ label, params: p }, i) => {
    const bytes = layoutBytes[i];
    const kernels = figuresOf(KERNEL_NAMES, measure(KERNEL_NAMES, p, bytes, label), bytes);
    return { label, params: { ...p }, bytes, kernels };
  });
}

/** wasm-simd and native on each big-endian layout against its little-endian twin, where both were measured. */
function layoutTargetsOf(layouts: KernelLayoutFigures[]): KernelBenchTarget[] {
  const targets: KernelBenchTarget[] = [];
  for (const [bigLabel, littleLabel] of BYTE_ORDER_PAIRS) {
    const big = layouts.find((l) => l.label === bigLabel);
    const little = layouts.find((l) => l.label === littleLabel);
    if (big === undefined || little === undefined) continue;
    for (const name of ['wasm-simd', 'native'] as const) {
      targets.push(
        target(
          `${name} ${bigLabel} at least ${BIG_ENDIAN_TARGET}x little-endian`,
          BIG_ENDIAN_TARGET,
          medianRatio(big.kernels[name].gbps, little.kernels[name].gbps),
        ),
      );
    }
  }
  return targets;
}

/**
 * Measures the brighten kernels and the memcpy reference.
 * @param options runs [5], sizeBytes [256 MiB], params [delta 1000, uint16, rgb], layouts
 *   [DEFAULT_KERNEL_BENCH_LAYOUTS], onRun
 * @returns per-entry GB/s min/median/max, ratios against native and js, the SIMD targets, and per-layout
 *   figures with the big-endian targets
 * @throws {RawbrightError} `ERR_INVALID_ARG_VALUE` for bad options
 * @example
 * const result = runKernelBench({ runs: 5, sizeBytes: 64 * 1024 * 1024 });
 * console.log(result.ratios.vsNative['wasm-simd']);
 */
export function runKernelBench(options: KernelBenchOptions = {}): KernelBenchResult {
  const plan = planBench(options);
  const bench = prepareBenchMemory(plan);
  const measure = benchMeasurer(bench, plan.runs, plan.clock, options.onRun);
  // Measured in this order: the main parameters, the operations, the layouts.
  const figures = figuresOf(
    KERNEL_BENCH_ENTRIES,
    measure(KERNEL_BENCH_ENTRIES, plan.params, plan.size),
    plan.size,
  );
  const vsNative = ratiosTo(KERNEL_BENCH_ENTRIES, figures, 'native');
  const vsJs = ratiosTo(KERNEL_BENCH_ENTRIES, figures, 'js');
  const operations = measureOperations(measure, plan);
  const layouts = measureLayouts(measure, plan, bench.layoutBytes);
  return {
    sizeBytes: plan.size,
    runs: plan.runs,
    clock: plan.clock,
    params: plan.params,
    nativePath: native.brightenPath,
    node: process.version,
    kernels: figures,
    ratios: { vsNative, vsJs },
    targets: [
      target('wasm-simd at least 0.9x native', 0.9, vsNative['wasm-simd']),
      target('wasm-simd at least 15x js', 15, vsJs['wasm-simd']),
    ],
    operations,
    operationTargets: operationTargetsOf(operations, plan),
    layouts,
    layoutTargets: layoutTargetsOf(layouts),
  };
}
