/** What a finished run reports: bytes, speed, and how it ran. */
import type { KernelName } from '../kernels/types.js';
import type { Strategy } from './options.js';
import type { RunPlan } from './pool.js';
import type { ResolvedStrategy } from './protocol.js';
import type { WorkersChoice } from './workers.js';

export interface Report {
  path: string;
  /** What the file is (`raw`, `tiff`, `bigtiff`, `fits`, `pnm`), as its own bytes say. */
  format?: string;
  out?: string;
  bytes: number;
  pixels: number;
  seconds: number;
  gbps: number;
  kernel: KernelName;
  /** The strategy asked for, and the one used. */
  strategyRequested: Strategy;
  strategy: ResolvedStrategy;
  /** Why the strategy used differs from the one asked for. */
  fallbackReason?: string;
  windows: number;
  window: number;
  workers: number;
  /** The workers chosen (the same as `workers`), and why: `'auto: 2 GiB file, 2 cores, load 0.3'`, `'asked for 2'`. */
  workersChosen: number;
  workersReason: string;
  /**
   * Where the windows ran: on the calling thread (`inThread`, one worker), on worker threads, or on both
   * (`inThread` with more workers: the first on the calling thread, the others on worker threads).
   */
  thread: 'main' | 'worker' | 'both';
  /** The run used the kernel (wasm memory and instance) an earlier run on its thread left: the calling thread, or (on workers) every worker thread kept from an earlier run of the batch. */
  kernelReused: boolean;
  journal: boolean;
  /** Peak resident memory of this process so far, in bytes. */
  peakRssBytes: number;
}

/** What the worker pool says about a run. */
export interface RunResult {
  seconds: number;
  /** The strategy used: `pread` if any worker fell back from `mmap`. */
  strategy: ResolvedStrategy;
  fallbackReason?: string;
  thread: 'main' | 'worker' | 'both';
  kernelReused: boolean;
}

function peakRss(): number {
  return process.resourceUsage().maxRSS * 1024;
}

export function buildReport(
  plan: RunPlan,
  strategyRequested: Strategy,
  result: RunResult,
  choice: WorkersChoice,
): Report {
  const workers = Math.max(1, Math.min(plan.workers, plan.windows.length));
  const bytes = plan.windows.reduce((sum, w) => sum + w.brightenLength, 0);
  const pixels = plan.windows.reduce((sum, w) => sum + w.brightenLength / (2 * (w.params?.bands ?? 4)), 0);
  return {
    path: plan.path,
    ...(plan.out !== undefined && { out: plan.out }),
    bytes,
    pixels,
    seconds: result.seconds,
    gbps: result.seconds > 0 ? bytes / result.seconds / 1e9 : 0,
    kernel: plan.config.kernel,
    strategyRequested,
    strategy: result.strategy,
    ...(result.fallbackReason !== undefined && { fallbackReason: result.fallbackReason }),
    windows: plan.windows.length,
    window: plan.config.arenaBytes,
    workers,
    workersChosen: workers,
    workersReason: choice.reason,
    thread: result.thread,
    kernelReused: result.kernelReused,
    journal: plan.journal !== undefined,
    peakRssBytes: peakRss(),
  };
}
