/**
 * `rawbright bench` as a whole: the kernel benchmark and the file benchmark with the full or the quick
 * settings, wrapped in one result that says what machine and software produced it and when. This is
 * the object `--json` writes and `--chart` draws.
 */
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import {
  DEFAULT_ALIGNMENT_WINDOWS,
  DEFAULT_FILE_BENCH_BYTES,
  DEFAULT_FILE_BENCH_RUNS,
  DEFAULT_SCALING_SIZES,
  DEFAULT_SLOW_RUNS,
  DEFAULT_SWEEP_WINDOWS,
  FILE_BENCH_PARTS,
  type FileBenchOptions,
  type FileBenchPart,
  type FileBenchResult,
  runFileBench,
} from './file-bench.js';
import {
  DEFAULT_KERNEL_BENCH_PARAMS,
  DEFAULT_KERNEL_BENCH_RUNS,
  type KernelBenchResult,
  runKernelBench,
} from './kernel-bench.js';
import { describeMachine, describeVersions, type MachineInfo, type Versions } from './machine.js';
import {
  type BatchBenchResult,
  DEFAULT_BATCH_FILE_BYTES,
  DEFAULT_BATCH_FILES,
  DEFAULT_PROCESS_RUNS,
  DEFAULT_STARTUP_FILE_BYTES,
  runBatchBench,
  runStartupBench,
  type StartupBenchResult,
} from './process-bench.js';

const MIB = 1024 * 1024;

/** Everything one `rawbright bench` run produced. */
export interface BenchResult {
  machine: MachineInfo;
  versions: Versions;
  /** When the run started (ISO 8601). */
  date: string;
  /** The command line, to reproduce the run. */
  command: string;
  quick: boolean;
  durationSeconds: number;
  kernels?: KernelBenchResult;
  file?: FileBenchResult;
  /** Many files in one command, whole process, against the native reference per file. */
  batch?: BatchBenchResult;
  /** One small file, whole process, against bare `node -e 0`. */
  startup?: StartupBenchResult;
}

/** The parts of `rawbright bench`, in the order they run. */
export const BENCH_PARTS = ['kernels', 'file', 'batch', 'startup'] as const;
export type BenchPart = (typeof BENCH_PARTS)[number];

/** The settings of `rawbright bench` (full) and `rawbright bench --quick`. */
export interface BenchPreset {
  kernelBytes: number;
  kernelRuns: number;
  batch: { files: number; fileBytes: number };
  startupBytes: number;
  processRuns: number;
  file: Required<
    Pick<
      FileBenchOptions,
      'sizeBytes' | 'runs' | 'slowRuns' | 'windows' | 'alignmentWindows' | 'scalingSizes' | 'parts'
    >
  >;
}

/** The full run: ≤ 10 minutes on a 2-core machine with a fast disk. */
export const FULL_PRESET: BenchPreset = Object.freeze({
  kernelBytes: 256 * MIB,
  kernelRuns: DEFAULT_KERNEL_BENCH_RUNS,
  batch: { files: DEFAULT_BATCH_FILES, fileBytes: DEFAULT_BATCH_FILE_BYTES },
  startupBytes: DEFAULT_STARTUP_FILE_BYTES,
  processRuns: DEFAULT_PROCESS_RUNS,
  file: {
    sizeBytes: DEFAULT_FILE_BENCH_BYTES,
    runs: DEFAULT_FILE_BENCH_RUNS,
    slowRuns: DEFAULT_SLOW_RUNS,
    windows: DEFAULT_SWEEP_WINDOWS,
    alignmentWindows: DEFAULT_ALIGNMENT_WINDOWS,
    scalingSizes: DEFAULT_SCALING_SIZES,
    parts: FILE_BENCH_PARTS,
  },
});

/** The quick run: ≤ 1 minute; smaller files and a reduced set of parts, still 5 runs per figure. */
export const QUICK_PRESET: BenchPreset = Object.freeze({
  kernelBytes: 64 * MIB,
  kernelRuns: DEFAULT_KERNEL_BENCH_RUNS,
  batch: { files: DEFAULT_BATCH_FILES, fileBytes: 4 * MIB },
  startupBytes: 4 * 1024,
  processRuns: 5,
  file: {
    sizeBytes: 256 * MIB,
    runs: DEFAULT_FILE_BENCH_RUNS,
    slowRuns: DEFAULT_SLOW_RUNS,
    windows: [1, 16, 256].map((m) => m * MIB),
    alignmentWindows: [64 * MIB],
    scalingSizes: [64, 128, 256].map((m) => m * MIB),
    parts: ['strategies', 'alignment', 'windows', 'workers', 'scaling'] as FileBenchPart[],
  },
});

export interface BenchOptions {
  /** Which benchmarks run [all of {@link BENCH_PARTS}]. */
  what?: readonly BenchPart[];
  /** Use {@link QUICK_PRESET} instead of {@link FULL_PRESET} [false]. */
  quick?: boolean;
  /** Overrides of the file benchmark's settings (size, runs, dir, parts, …). */
  file?: FileBenchOptions;
  /** Overrides of the kernel benchmark's buffer size and runs. */
  kernels?: { sizeBytes?: number; runs?: number };
  /** Overrides of the batch part's files and the whole-process parts' runs. */
  batch?: { files?: number; fileBytes?: number };
  startup?: { fileBytes?: number };
  processRuns?: number;
  /** The command line, recorded in the result. */
  command?: string;
  onProgress?: (text: string) => void;
}

/** The entries of `object` whose value is not undefined, so they can override defaults. */
function definedOnly<T extends object>(object: T): Partial<T> {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as Partial<T>;
}

/**
 * Runs the benchmarks.
 * @param options what to run and with which settings [both benchmarks, full preset]
 * @returns the result, with machine, versions and date
 * @throws {RawbrightError} see {@link runFileBench} and {@link runKernelBench}
 * @example
 * const result = await runBench({ quick: true });
 * console.log(result.file?.strategies?.ratios.vsNativeMmap.mmap);
 */
export async function runBench(options: BenchOptions = {}): Promise<BenchResult> {
  const preset = options.quick ? QUICK_PRESET : FULL_PRESET;
  const what = options.what ?? BENCH_PARTS;
  const started = performance.now();
  const result: BenchResult = {
    machine: describeMachine(options.file?.dir ?? tmpdir()),
    versions: describeVersions(),
    date: new Date().toISOString(),
    command: options.command ?? 'rawbright bench',
    quick: options.quick ?? false,
    durationSeconds: 0,
  };
  if (what.includes('kernels')) {
    result.kernels = runKernelBench({
      runs: options.kernels?.runs ?? preset.kernelRuns,
      sizeBytes: options.kernels?.sizeBytes ?? preset.kernelBytes,
      params: { ...DEFAULT_KERNEL_BENCH_PARAMS },
      onRun: (entry, run, runs, rate, layout) =>
        options.onProgress?.(
          `kernels: ${layout === undefined ? '' : `${layout}, `}${entry}, run ${run}/${runs}: ${rate.toFixed(2)} GB/s`,
        ),
    });
  }
  if (what.includes('file')) {
    result.file = await runFileBench({
      workers: Array.from({ length: availableParallelism() }, (_, i) => i + 1),
      ...preset.file,
      // Fewer runs than the preset's slow runs means fewer slow runs too.
      slowRuns: Math.min(preset.file.slowRuns, options.file?.runs ?? preset.file.runs),
      ...definedOnly(options.file ?? {}),
      onProgress: options.onProgress,
    });
  }
  const processRuns = options.processRuns ?? preset.processRuns;
  if (what.includes('batch')) {
    result.batch = runBatchBench({
      ...preset.batch,
      ...definedOnly(options.batch ?? {}),
      runs: processRuns,
      dir: options.file?.dir,
      onProgress: options.onProgress,
    });
  }
  if (what.includes('startup')) {
    result.startup = runStartupBench({
      fileBytes: options.startup?.fileBytes ?? preset.startupBytes,
      runs: processRuns,
      dir: options.file?.dir,
      onProgress: options.onProgress,
    });
  }
  result.machine.loadAverage.end = loadavg()[0];
  result.durationSeconds = (performance.now() - started) / 1000;
  return result;
}
