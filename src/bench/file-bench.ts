/**
 * The file benchmark: rawbright brightening real files, against references measured in the same run.
 *
 * Parts (each can be run alone):
 * - `strategies`: a warm file brightened in place with the mmap overlay and with pread/pwrite, each
 *   with and without the undo journal, and out of place; references: the native C++ program
 *   (native/bench/reference.cc) doing the same job with mmap + MADV_POPULATE_WRITE and with
 *   pread/pwrite through a 64 MiB buffer, and the native kernel on a buffer already in memory (the
 *   practical limit: no file, no page faults);
 * - `durable`: `durable` runs (fsync every window) against the disk's write bandwidth with fsync;
 * - `alignment`: the overlay with its 2 MiB congruence and deliberately 64 KiB off it, with and
 *   without MADV_POPULATE_WRITE, per window size;
 * - `windows`: the window size sweep for each strategy;
 * - `levers`: what else might make the fast path faster (MADV_HUGEPAGE, sync_file_range as the run
 *   goes, the journal's chunk size, no prefaulting), each next to the default in the same rotation;
 * - `workers`: 1 … N worker threads;
 * - `breakdown`: where the time of one pass goes (mapping, prefaulting, kernel, unmapping; read,
 *   kernel, write), measured with the same kernel host the workers use, and the fixed cost of a run;
 * - `scaling`: file sizes, each run in a fresh `rawbright brighten --json` process whose report gives
 *   the throughput and the peak RSS (so the RSS is that run's own, not the benchmark's).
 *
 * Method: every case runs `runs` times (fewer, `slowRuns`, for the slow ones: durable, misaligned,
 * files over 2 GiB), in a rotating round-robin order so a noisy moment on a shared machine hits every
 * case, after one untimed warm-up run per part. Between in-place runs the file is synced (untimed), so
 * every run starts from the same state: cached, clean pages and no writeback pending. The delta
 * alternates in sign so the data stays spread out (a saturating add costs the same either way).
 */
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { rmSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { native } from '../addon.js';
import { type BrightenOptions, brightenFile, type Report } from '../brighten/pipeline.js';
import { invalidParameterError, RawbrightError } from '../errors.js';
import { MappedFile } from '../file/mapped-file.js';
import { KernelHost } from '../kernels/host.js';
import type { RgbaBrightenParams as BrightenParams } from '../kernels/types.js';
import { integerInRange } from '../validate.js';
import { type ReferenceJob, referenceUnavailableReason, runReference } from './reference.js';
import { gbps, type Summary, summarize } from './stats.js';
import { createRandomFile, formatBytes, syncFile, Workspace, warmFile } from './workspace.js';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

/** The parts of the file benchmark, in the order they run. */
export const FILE_BENCH_PARTS = [
  'strategies',
  'durable',
  'alignment',
  'windows',
  'levers',
  'workers',
  'breakdown',
  'scaling',
] as const;
export type FileBenchPart = (typeof FILE_BENCH_PARTS)[number];

/** The default main file: large enough that per-run costs are small next to the work. */
export const DEFAULT_FILE_BENCH_BYTES = 2 * GIB;
/** Timed runs per case (after the warm-up). */
export const DEFAULT_FILE_BENCH_RUNS = 5;
/** Timed runs for the slow cases (durable, misaligned, files over 2 GiB). */
export const DEFAULT_SLOW_RUNS = 3;
/** The window sweep, clipped to the sweep's length. */
export const DEFAULT_SWEEP_WINDOWS: readonly number[] = [1, 4, 16, 64, 256, 1024].map((m) => m * MIB);
/** The windows the alignment matrix is measured at. */
export const DEFAULT_ALIGNMENT_WINDOWS: readonly number[] = [4 * MIB, 64 * MIB, 256 * MIB];
/** The file sizes of the scaling part. */
export const DEFAULT_SCALING_SIZES: readonly number[] = [256 * MIB, GIB, 2 * GIB, 4 * GIB, 8 * GIB];
/** The brighten operation measured everywhere. */
export const DEFAULT_FILE_BENCH_PARAMS: Readonly<BrightenParams> = Object.freeze({
  delta: 1000,
  type: 'uint16',
  channels: 'rgb',
});
/** How far the `alignment` part shifts overlays off the 2 MiB congruence: where V8 usually puts a wasm memory. */
export const MISALIGNMENT = 64 * 1024;
/** The most bytes the sweep, the alignment matrix and the durable runs brighten (they run many times). */
const SWEEP_LENGTH = GIB;
const ALIGNMENT_LENGTH = 512 * MIB;
const DURABLE_LENGTH = 512 * MIB;
/** Files above this size get `slowRuns` in the scaling part. */
const SLOW_SIZE = 2 * GIB;
/** The default window, the reference program's window and the breakdown's window. */
const WINDOW = 64 * MIB;
/** The in-memory limit's buffer: far larger than any CPU cache. */
const IN_MEMORY_BYTES = 256 * MIB;
/** The peak RSS the project aims for with 64 MiB windows and one worker (issue 4). */
export const PEAK_RSS_TARGET_BYTES = 210 * MIB;

const CLI = fileURLToPath(new URL('../cli/index.js', import.meta.url));

export interface FileBenchOptions {
  /** The folder the temporary files go in [the system's temp folder]. The disk behind it matters. */
  dir?: string;
  /** The main file's size, a multiple of 8 [2 GiB]. */
  sizeBytes?: number;
  /** Timed runs per case [5]. */
  runs?: number;
  /** Timed runs for the slow cases [3]. */
  slowRuns?: number;
  /** The window sweep [1 MiB … 1 GiB]. */
  windows?: readonly number[];
  /** The alignment matrix's windows [4, 64, 256 MiB]. */
  alignmentWindows?: readonly number[];
  /** The scaling part's file sizes [256 MiB, 1, 2, 4, 8 GiB]. */
  scalingSizes?: readonly number[];
  /** Worker counts [1 … the number of cores]. */
  workers?: readonly number[];
  /** The parts to run [all]. */
  parts?: readonly FileBenchPart[];
  /** The brighten operation [delta 1000, uint16, rgb]. */
  params?: BrightenParams;
  /** Progress lines (one per run), for a terminal. */
  onProgress?: (text: string) => void;
}

/** One measured case. */
export interface FileCase {
  /** A stable identifier, e.g. `mmap`, `pread-no-journal`, `native-mmap`. */
  id: string;
  /** What it is, in words. */
  label: string;
  /** Bytes brightened (or, for the disk reference, written) per run. */
  bytes: number;
  runs: number;
  /** GB/s (10^9 bytes per second) per run, summarised. */
  gbps: Summary;
  /** Seconds per run, in run order. */
  seconds: number[];
  /** The strategy the pipeline actually used (it says so when it falls back). */
  strategyUsed?: string;
  /** Window size in bytes, where it varies. */
  window?: number;
  workers?: number;
  /** Peak RSS of each run's own process (child-process runs only). */
  peakRssBytes?: Summary;
  /** Wall-clock seconds of each child process, Node's start-up included (child-process runs only). */
  processSeconds?: number[];
  /** The file size, in the scaling part. */
  sizeBytes?: number;
  /** Anything a reader must know to read the figure right. */
  note?: string;
}

/** Median of `a` over median of `b`, per case id. */
export type Ratios = Record<string, number>;

/** A target the project sets, and whether this run met it. */
export interface FileBenchTarget {
  description: string;
  wanted: number;
  measured: number;
  met: boolean;
}

/** Seconds per phase of one pass over the breakdown's length, summarised over the runs. */
export interface PhaseBreakdown {
  phases: Record<string, Summary>;
  /** The pass's total. */
  total: Summary;
}

export interface FileBenchResult {
  sizeBytes: number;
  runs: number;
  slowRuns: number;
  params: BrightenParams;
  parts: FileBenchPart[];
  /** Seconds spent creating (written and synced) and warming (read once) the main file. */
  setup?: { createSeconds: number; warmSeconds: number };
  /** The native kernel on a buffer in memory: the practical limit for any strategy. */
  inMemory: FileCase;
  strategies?: {
    cases: FileCase[];
    references: FileCase[];
    /** Each case's median over the native mmap reference's, the native pread reference's, and the in-memory limit's. */
    ratios: { vsNativeMmap: Ratios; vsNativePread: Ratios; vsInMemory: Ratios };
  };
  durable?: { lengthBytes: number; cases: FileCase[]; disk: FileCase; ratios: { vsDisk: Ratios } };
  alignment?: { lengthBytes: number; misalignmentBytes: number; cases: FileCase[] };
  windows?: { lengthBytes: number; cases: FileCase[] };
  levers?: { cases: FileCase[]; ratios: { vsBaseline: Ratios } };
  workers?: { cases: FileCase[] };
  breakdown?: {
    lengthBytes: number;
    window: number;
    mmap: PhaseBreakdown;
    pread: PhaseBreakdown;
    /** A whole `brightenFile` call on a one-window (8 MiB) file: the fixed cost of a run. */
    runOverhead: FileCase;
  };
  scaling?: { cases: FileCase[] };
  targets: FileBenchTarget[];
  /** Things a reader must know: skipped references, files that may not stay cached, … */
  notes: string[];
}

/** A case to measure: how to run it once, and how many times. */
interface CaseDef {
  id: string;
  label: string;
  runs: number;
  /** Runs the case once with the given delta sign; resolves with what was measured. */
  run: (sign: 1 | -1) => Promise<Measured> | Measured;
  extra?: Partial<FileCase>;
}

interface Measured {
  seconds: number;
  bytes: number;
  strategyUsed?: string;
  peakRssBytes?: number;
  processSeconds?: number;
}

function checkSizes(name: string, values: readonly number[], max: number): number[] {
  if (!Array.isArray(values) || values.length === 0) {
    throw invalidParameterError(name, 'a non-empty list of sizes', values);
  }
  return values.map((value) => {
    if (!Number.isSafeInteger(value) || value < 8 || value % 8 !== 0 || value > max) {
      throw invalidParameterError(name, `sizes that are multiples of 8 bytes from 8 to ${max}`, value);
    }
    return value;
  });
}

/** The benchmark's run loop: rotating round-robin over the cases, progress after every run. */
async function measure(
  part: string,
  defs: CaseDef[],
  nextSign: () => 1 | -1,
  onProgress?: (text: string) => void,
): Promise<FileCase[]> {
  const measured = defs.map(() => [] as Measured[]);
  const rounds = Math.max(...defs.map((d) => d.runs));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < defs.length; i++) {
      const index = (round + i) % defs.length;
      const def = defs[index];
      if (round >= def.runs) continue;
      const result = await def.run(nextSign());
      measured[index].push(result);
      onProgress?.(
        `${part}: ${def.label}, run ${round + 1}/${def.runs}: ${gbps(result.bytes, result.seconds).toFixed(2)} GB/s`,
      );
    }
  }
  return defs.map((def, index) => toCase(def, measured[index]));
}

function toCase(def: CaseDef, runs: Measured[]): FileCase {
  const rss = runs.flatMap((r) => (r.peakRssBytes === undefined ? [] : [r.peakRssBytes]));
  const wall = runs.flatMap((r) => (r.processSeconds === undefined ? [] : [r.processSeconds]));
  const used = [...new Set(runs.flatMap((r) => (r.strategyUsed === undefined ? [] : [r.strategyUsed])))];
  return {
    id: def.id,
    label: def.label,
    bytes: runs[0].bytes,
    runs: runs.length,
    gbps: summarize(runs.map((r) => gbps(r.bytes, r.seconds))),
    seconds: runs.map((r) => r.seconds),
    ...(used.length > 0 && { strategyUsed: used.join('+') }),
    ...(rss.length > 0 && { peakRssBytes: summarize(rss) }),
    ...(wall.length > 0 && { processSeconds: wall }),
    ...def.extra,
  };
}

function ratios(cases: FileCase[], reference: FileCase | undefined): Ratios {
  const out: Ratios = {};
  if (reference === undefined) return out;
  for (const c of cases) out[c.id] = c.gbps.median / reference.gbps.median;
  return out;
}

/** Brightens the file once through the pipeline; the time is the whole call, as a caller waits for it. */
async function pipelineRun(
  path: string,
  options: Omit<BrightenOptions, 'by'>,
  by: number,
): Promise<Measured> {
  const started = performance.now();
  const report: Report = await brightenFile(path, { ...options, by });
  const seconds = (performance.now() - started) / 1000;
  if (options.out !== undefined) rmSync(options.out, { force: true });
  else syncFile(path);
  return { seconds, bytes: report.bytes, strategyUsed: report.strategy };
}

function referenceRun(path: string, job: ReferenceJob): Measured {
  const report = runReference(path, job);
  if (job.mode === 'disk') rmSync(path, { force: true });
  else syncFile(path);
  return {
    seconds: report.seconds,
    bytes: report.bytes,
    peakRssBytes: report.peakRssBytes,
    ...(report.aligned !== undefined && {
      strategyUsed: report.aligned ? 'mmap, aligned' : 'mmap, NOT aligned',
    }),
  };
}

/** The native kernel on a buffer in memory: what any strategy would reach if the file cost nothing. */
function inMemoryCase(params: BrightenParams, runs: number, onProgress?: (text: string) => void): FileCase {
  const buffer = new ArrayBuffer(IN_MEMORY_BYTES);
  const bytes = new Uint8Array(buffer);
  for (let at = 0; at < bytes.length; at += 64 * MIB) randomFillSync(bytes.subarray(at, at + 64 * MIB));
  const signed = params.type === 'int16';
  const alpha = params.channels === 'rgba';
  const once = (sign: number) => {
    const started = performance.now();
    native.brighten(buffer, 0, IN_MEMORY_BYTES, sign * params.delta, signed, alpha);
    return (performance.now() - started) / 1000;
  };
  once(1);
  const seconds: number[] = [];
  for (let run = 0; run < runs; run++) {
    seconds.push(once(run % 2 === 0 ? -1 : 1));
    onProgress?.(`in memory: run ${run + 1}/${runs}`);
  }
  return {
    id: 'in-memory',
    label: 'native kernel on a buffer in memory (the limit)',
    bytes: IN_MEMORY_BYTES,
    runs,
    gbps: summarize(seconds.map((s) => gbps(IN_MEMORY_BYTES, s))),
    seconds,
    note: `${formatBytes(IN_MEMORY_BYTES)} buffer, ${native.brightenPath}`,
  };
}

/** Times the phases of passes over [0, length) with one kernel host, as a worker would run them. */
function phaseBreakdown(
  path: string,
  length: number,
  params: BrightenParams,
  runs: number,
  nextSign: () => 1 | -1,
): { mmap: PhaseBreakdown; pread: PhaseBreakdown } {
  const host = new KernelHost({ arenaBytes: WINDOW, kernel: 'wasm-simd' });
  const file = MappedFile.open(path, { access: 'readwrite' });
  const journalRing = new ArrayBuffer(MIB);
  const now = () => performance.now() / 1000;
  const passes = { mmap: [] as Record<string, number>[], pread: [] as Record<string, number>[] };
  try {
    const mmapPass = (delta: number) => {
      const t = { overlay: 0, populate: 0, 'journal copy': 0, kernel: 0, release: 0 };
      for (let offset = 0; offset < length; offset += WINDOW) {
        const size = Math.min(WINDOW, length - offset);
        let at = now();
        const region = host.overlay(file, offset, size, false);
        t.overlay += now() - at;
        at = now();
        native.populate(host.memory.buffer, region.pointer, size, true);
        t.populate += now() - at;
        // The journal's work, as the worker does it: each 1 MiB chunk saved, then brightened.
        for (let chunk = 0; chunk < size; chunk += MIB) {
          const piece = Math.min(MIB, size - chunk);
          at = now();
          native.copyBytes(journalRing, 0, host.memory.buffer, region.pointer + chunk, piece);
          t['journal copy'] += now() - at;
          at = now();
          host.brighten({ ...region, pointer: region.pointer + chunk, length: piece }, { ...params, delta });
          t.kernel += now() - at;
        }
        at = now();
        host.release();
        t.release += now() - at;
      }
      return t;
    };
    const preadPass = (delta: number) => {
      const t = { read: 0, kernel: 0, write: 0 };
      for (let offset = 0; offset < length; offset += WINDOW) {
        const size = Math.min(WINDOW, length - offset);
        let at = now();
        const region = host.copyIn(file, offset, size);
        t.read += now() - at;
        at = now();
        host.brighten(region, { ...params, delta });
        t.kernel += now() - at;
        at = now();
        host.copyOut(region, file, offset);
        t.write += now() - at;
        host.release();
      }
      return t;
    };
    for (let run = -1; run < runs; run++) {
      const m = mmapPass(nextSign() * params.delta);
      syncFile(path);
      const p = preadPass(nextSign() * params.delta);
      syncFile(path);
      // Run -1 is the warm-up.
      if (run >= 0) {
        passes.mmap.push(m);
        passes.pread.push(p);
      }
    }
  } finally {
    host.close();
    file.close();
  }
  const summarisePasses = (list: Record<string, number>[]): PhaseBreakdown => {
    const phases: Record<string, Summary> = {};
    for (const name of Object.keys(list[0])) phases[name] = summarize(list.map((p) => p[name]));
    return { phases, total: summarize(list.map((p) => Object.values(p).reduce((a, b) => a + b, 0))) };
  };
  return { mmap: summarisePasses(passes.mmap), pread: summarisePasses(passes.pread) };
}

/** One `rawbright brighten FILE --json` in a fresh Node process: its own throughput and peak RSS. */
function childRun(path: string, by: number, extraArgs: string[] = []): Measured {
  const started = performance.now();
  const run = spawnSync(process.execPath, [CLI, 'brighten', path, `--by=${by}`, '--json', ...extraArgs], {
    encoding: 'utf8',
    maxBuffer: 16 * MIB,
  });
  const processSeconds = (performance.now() - started) / 1000;
  if (run.status !== 0) {
    throw new RawbrightError(
      'ERR_BENCH_CHILD',
      `rawbright brighten failed in a child process: ${run.stderr.trim() || `exit status ${run.status}`}`,
      { path },
    );
  }
  const report = JSON.parse(run.stdout) as Report;
  syncFile(path);
  return {
    seconds: report.seconds,
    bytes: report.bytes,
    strategyUsed: report.strategy,
    peakRssBytes: report.peakRssBytes,
    processSeconds,
  };
}

/**
 * The disk space the benchmark needs at its peak.
 * @param sizeBytes the main file
 * @param parts the parts that run
 * @param scalingSizes the scaling part's sizes
 * @returns bytes
 */
export function fileBenchSpaceNeeded(
  sizeBytes: number,
  parts: readonly FileBenchPart[],
  scalingSizes: readonly number[],
): number {
  const mainParts = parts.filter((p) => p !== 'scaling');
  // The main file, plus an out-of-place output or the durable part's disk test beside it.
  const main = mainParts.length === 0 ? 0 : 2 * sizeBytes;
  // The scaling files are made one at a time, after the main file is gone.
  const scaling = parts.includes('scaling') ? Math.max(...scalingSizes) : 0;
  return Math.max(main, scaling);
}

/**
 * Runs the file benchmark.
 * @param options see {@link FileBenchOptions}
 * @returns every figure, the ratios, the targets and notes
 * @throws {RawbrightError} `ENOSPC` when the folder lacks room (checked before anything is written),
 *   `ERR_INVALID_ARG_VALUE` for bad options, `ERR_REFERENCE_FAILED` / `ERR_BENCH_CHILD` if a child fails
 * @example
 * const result = await runFileBench({ sizeBytes: 256 * 1024 ** 2, parts: ['strategies'] });
 * console.log(result.strategies?.ratios.vsNativeMmap.mmap);
 */
export async function runFileBench(options: FileBenchOptions = {}): Promise<FileBenchResult> {
  const size = options.sizeBytes ?? DEFAULT_FILE_BENCH_BYTES;
  if (!Number.isSafeInteger(size) || size < MIB || size % 8 !== 0) {
    throw invalidParameterError('size', 'a multiple of 8 bytes, at least 1 MiB', size);
  }
  const runs = integerInRange('runs', options.runs ?? DEFAULT_FILE_BENCH_RUNS, 1, 1000);
  const slowRuns = integerInRange('slowRuns', options.slowRuns ?? Math.min(DEFAULT_SLOW_RUNS, runs), 1, 1000);
  const parts = [...(options.parts ?? FILE_BENCH_PARTS)];
  for (const part of parts) {
    if (!FILE_BENCH_PARTS.includes(part)) {
      throw invalidParameterError('parts', `parts from ${FILE_BENCH_PARTS.join(', ')}`, part);
    }
  }
  const params = { ...(options.params ?? DEFAULT_FILE_BENCH_PARAMS) };
  if (params.delta === 0) throw invalidParameterError('delta', 'a non-zero delta (0 skips the work)', 0);
  const sweepWindows = checkSizes('windows', options.windows ?? DEFAULT_SWEEP_WINDOWS, 4 * GIB);
  const alignmentWindows = checkSizes(
    'alignmentWindows',
    options.alignmentWindows ?? DEFAULT_ALIGNMENT_WINDOWS,
    4 * GIB,
  );
  const scalingSizes = checkSizes('scalingSizes', options.scalingSizes ?? DEFAULT_SCALING_SIZES, 2 ** 50);
  const cores = availableParallelism();
  const workerCounts = (options.workers ?? Array.from({ length: cores }, (_, i) => i + 1)).map((n) =>
    integerInRange('workers', n, 1, 64),
  );
  const progress = options.onProgress;
  const notes: string[] = [];
  const referenceMissing = referenceUnavailableReason();
  if (referenceMissing !== undefined) notes.push(`Native references skipped: ${referenceMissing}.`);
  let sign: 1 | -1 = 1;
  const nextSign = (): 1 | -1 => {
    sign = sign === 1 ? -1 : 1;
    return sign;
  };
  const by = (s: 1 | -1) => s * params.delta;

  const workspace = Workspace.create(options.dir, fileBenchSpaceNeeded(size, parts, scalingSizes));
  const result: FileBenchResult = {
    sizeBytes: size,
    runs,
    slowRuns,
    params,
    parts,
    inMemory: inMemoryCase(params, runs, progress),
    targets: [],
    notes,
  };
  try {
    const mainParts = parts.filter((p) => p !== 'scaling');
    if (mainParts.length > 0) {
      const path = workspace.path('bench.raw');
      const out = workspace.path('bench-out.raw');
      progress?.(`creating a ${formatBytes(size)} file in ${workspace.dir}`);
      const started = performance.now();
      createRandomFile(path, size);
      const createSeconds = (performance.now() - started) / 1000;
      const warmSeconds = warmFile(path);
      result.setup = { createSeconds, warmSeconds };
      if (size > totalmem() / 2) {
        notes.push(
          `The ${formatBytes(size)} file is over half this machine's memory: it may not stay in the page cache, and then the figures are the disk's.`,
        );
      }
      const inPlace = (options2: Omit<BrightenOptions, 'by'>) => (s: 1 | -1) =>
        pipelineRun(path, options2, by(s));
      const reference = (job: ReferenceJob) => () => referenceRun(path, job);
      const warmUp = async (options2: Omit<BrightenOptions, 'by'>) => {
        await pipelineRun(path, options2, by(nextSign()));
      };

      if (mainParts.includes('strategies')) {
        await warmUp({});
        const defs: CaseDef[] = [
          { id: 'mmap', label: 'mmap overlay, journaled (default)', runs, run: inPlace({}) },
          {
            id: 'mmap-no-journal',
            label: 'mmap overlay, no journal',
            runs,
            run: inPlace({ strategy: 'mmap', journal: false }),
          },
          { id: 'pread', label: 'pread/pwrite, journaled', runs, run: inPlace({ strategy: 'pread' }) },
          {
            id: 'pread-no-journal',
            label: 'pread/pwrite, no journal',
            runs,
            run: inPlace({ strategy: 'pread', journal: false }),
          },
          {
            id: 'out-mmap',
            label: 'out of place, mmap overlay',
            runs,
            run: inPlace({ strategy: 'mmap', out, overwrite: true }),
          },
          {
            id: 'out-pread',
            label: 'out of place, pread/pwrite',
            runs,
            run: inPlace({ strategy: 'pread', out, overwrite: true }),
          },
        ];
        const referenceDefs: CaseDef[] =
          referenceMissing !== undefined
            ? []
            : [
                {
                  id: 'native-mmap',
                  label: 'native C++: mmap + MADV_POPULATE_WRITE, 64 MiB windows',
                  runs,
                  run: (s) =>
                    reference({ mode: 'mmap', params: { ...params, delta: by(s) }, window: WINDOW })(),
                },
                {
                  id: 'native-pread',
                  label: 'native C++: pread/pwrite, 64 MiB buffer',
                  runs,
                  run: (s) =>
                    reference({ mode: 'pread', params: { ...params, delta: by(s) }, window: WINDOW })(),
                },
              ];
        const all = await measure('strategies', [...defs, ...referenceDefs], nextSign, progress);
        const cases = all.slice(0, defs.length);
        const references = all.slice(defs.length);
        const everything = [...cases, ...references, result.inMemory];
        result.strategies = {
          cases,
          references,
          ratios: {
            vsNativeMmap: ratios(
              everything,
              references.find((c) => c.id === 'native-mmap'),
            ),
            vsNativePread: ratios(
              everything,
              references.find((c) => c.id === 'native-pread'),
            ),
            vsInMemory: ratios(everything, result.inMemory),
          },
        };
      }

      if (mainParts.includes('durable')) {
        const length = Math.min(size, DURABLE_LENGTH);
        const diskPath = workspace.path('disk-test.raw');
        const defs: CaseDef[] = [
          {
            id: 'mmap-durable',
            label: 'mmap overlay, journaled, durable',
            runs: slowRuns,
            run: inPlace({ durable: true, length }),
          },
          {
            id: 'pread-durable',
            label: 'pread/pwrite, journaled, durable',
            runs: slowRuns,
            run: inPlace({ strategy: 'pread', durable: true, length }),
          },
        ];
        if (referenceMissing === undefined) {
          defs.push({
            id: 'disk',
            label: 'disk write bandwidth with fsync (native)',
            runs: slowRuns,
            run: () => referenceRun(diskPath, { mode: 'disk', size: length }),
          });
        }
        const all = await measure('durable', defs, nextSign, progress);
        const disk = all.find((c) => c.id === 'disk');
        const cases = all.filter((c) => c.id !== 'disk');
        if (disk !== undefined) {
          result.durable = { lengthBytes: length, cases, disk, ratios: { vsDisk: ratios(cases, disk) } };
        } else {
          notes.push(
            'The durable runs have no disk reference: the native reference program is not available.',
          );
        }
      }

      if (mainParts.includes('alignment')) {
        const length = Math.min(size, ALIGNMENT_LENGTH);
        const windows = alignmentWindows.filter((w) => w <= length);
        await warmUp({ length });
        const defs: CaseDef[] = [];
        for (const window of windows) {
          for (const aligned of [true, false]) {
            for (const populate of [true, false]) {
              const tuning = { populate, overlayMisalignment: aligned ? 0 : MISALIGNMENT };
              defs.push({
                id: `${aligned ? 'aligned' : 'misaligned'}${populate ? '' : '-no-populate'}-${window}`,
                label: `${aligned ? 'aligned' : `${MISALIGNMENT / 1024} KiB off`}, ${populate ? 'populate' : 'no populate'}, ${formatBytes(window)} windows`,
                runs: aligned ? runs : slowRuns,
                run: inPlace({ strategy: 'mmap', window, length, tuning }),
                extra: { window },
              });
            }
          }
        }
        result.alignment = {
          lengthBytes: length,
          misalignmentBytes: MISALIGNMENT,
          cases: await measure('alignment', defs, nextSign, progress),
        };
      }

      if (mainParts.includes('windows')) {
        const length = Math.min(size, SWEEP_LENGTH);
        const windows = sweepWindows.filter((w) => w <= length);
        await warmUp({ length });
        const defs: CaseDef[] = [];
        for (const strategy of ['mmap', 'pread'] as const) {
          for (const window of windows) {
            defs.push({
              id: `${strategy}-${window}`,
              label: `${strategy === 'mmap' ? 'mmap overlay' : 'pread/pwrite'}, journaled, ${formatBytes(window)} windows`,
              runs,
              run: inPlace({ strategy, window, length }),
              extra: { window },
            });
          }
        }
        result.windows = { lengthBytes: length, cases: await measure('windows', defs, nextSign, progress) };
      }

      if (mainParts.includes('levers')) {
        await warmUp({});
        const defs: CaseDef[] = [
          { id: 'baseline', label: 'default (mmap overlay, journaled)', runs, run: inPlace({}) },
          {
            id: 'hugepage',
            label: 'MADV_HUGEPAGE on every overlay',
            runs,
            run: inPlace({ tuning: { hugepage: true } }),
          },
          {
            id: 'writeback',
            label: 'sync_file_range after every window',
            runs,
            run: inPlace({ tuning: { writeback: true } }),
          },
          {
            id: 'no-populate',
            label: 'no MADV_POPULATE_WRITE',
            runs,
            run: inPlace({ tuning: { populate: false } }),
          },
          {
            id: 'chunk-256KiB',
            label: 'journal chunk 256 KiB (default 1 MiB)',
            runs,
            run: inPlace({ tuning: { journalChunk: 256 * 1024 } }),
          },
          {
            id: 'chunk-8MiB',
            label: 'journal chunk 8 MiB',
            runs,
            run: inPlace({ tuning: { journalChunk: 8 * MIB } }),
          },
          {
            id: 'out-mmap-baseline',
            label: 'out of place, mmap overlay (as in strategies)',
            runs,
            run: inPlace({ strategy: 'mmap', out, overwrite: true }),
          },
          {
            id: 'out-mmap-hugepage',
            label: 'out of place, mmap overlay, MADV_HUGEPAGE',
            runs,
            run: inPlace({ strategy: 'mmap', out, overwrite: true, tuning: { hugepage: true } }),
          },
          {
            id: 'out-mmap-no-populate',
            label: 'out of place, mmap overlay, no MADV_POPULATE_WRITE',
            runs,
            run: inPlace({ strategy: 'mmap', out, overwrite: true, tuning: { populate: false } }),
          },
          {
            id: 'pread-hugepage',
            label: 'pread/pwrite, journaled, MADV_HUGEPAGE arena',
            runs,
            run: inPlace({ strategy: 'pread', tuning: { hugepage: true } }),
          },
        ];
        const cases = await measure('levers', defs, nextSign, progress);
        result.levers = { cases, ratios: { vsBaseline: ratios(cases, cases[0]) } };
      }

      if (mainParts.includes('workers')) {
        await warmUp({ workers: Math.max(...workerCounts) });
        const defs: CaseDef[] = [];
        for (const strategy of ['mmap', 'pread'] as const) {
          for (const workers of workerCounts) {
            defs.push({
              id: `${strategy}-${workers}`,
              label: `${strategy === 'mmap' ? 'mmap overlay' : 'pread/pwrite'}, journaled, ${workers} worker${workers === 1 ? '' : 's'}`,
              runs,
              run: inPlace({ strategy, workers }),
              extra: { workers },
            });
          }
        }
        result.workers = { cases: await measure('workers', defs, nextSign, progress) };
      }

      if (mainParts.includes('breakdown')) {
        const length = Math.min(size, SWEEP_LENGTH);
        progress?.('breakdown: timing the phases of a pass');
        const phases = phaseBreakdown(path, length, params, runs, nextSign);
        const tiny = workspace.path('tiny.raw');
        createRandomFile(tiny, 8 * MIB);
        const [runOverhead] = await measure(
          'breakdown',
          [
            {
              id: 'run-overhead',
              label: 'a whole brightenFile call on an 8 MiB file',
              runs,
              run: (s) => pipelineRun(tiny, {}, by(s)),
            },
          ],
          nextSign,
          progress,
        );
        rmSync(tiny, { force: true });
        result.breakdown = { lengthBytes: length, window: WINDOW, ...phases, runOverhead };
      }
      rmSync(path, { force: true });
    }

    if (parts.includes('scaling')) {
      const cases: FileCase[] = [];
      for (const fileSize of scalingSizes) {
        const path = workspace.path(`scaling-${fileSize}.raw`);
        progress?.(`scaling: creating a ${formatBytes(fileSize)} file`);
        createRandomFile(path, fileSize);
        warmFile(path);
        const count = fileSize > SLOW_SIZE ? slowRuns : runs;
        const [measured] = await measure(
          'scaling',
          [
            {
              id: `size-${fileSize}`,
              label: `${formatBytes(fileSize)} file, default options, fresh process`,
              runs: count,
              run: (s) => childRun(path, by(s)),
              extra: { sizeBytes: fileSize },
            },
          ],
          nextSign,
          progress,
        );
        cases.push(measured);
        rmSync(path, { force: true });
        if (fileSize > totalmem() / 2) {
          notes.push(
            `The ${formatBytes(fileSize)} scaling file is over half this machine's memory: it may not stay cached.`,
          );
        }
      }
      result.scaling = { cases };
    }
  } finally {
    workspace.remove();
  }
  result.targets = fileTargets(result);
  return result;
}

function fileTargets(result: FileBenchResult): FileBenchTarget[] {
  const targets: FileBenchTarget[] = [];
  const target = (description: string, wanted: number, measured: number, higherIsBetter = true) =>
    targets.push({
      description,
      wanted,
      measured,
      met: higherIsBetter ? measured >= wanted : measured <= wanted,
    });
  const strategies = result.strategies;
  if (strategies !== undefined) {
    const defaultCase = strategies.cases.find((c) => c.id === 'mmap')!;
    target(
      `default (mmap, journaled) median GB/s on a warm ${formatBytes(result.sizeBytes)} file, at least 5`,
      5,
      defaultCase.gbps.median,
    );
    const vsNative = strategies.ratios.vsNativeMmap.mmap;
    if (vsNative !== undefined)
      target('default at least as fast as the native mmap reference (ratio)', 1, vsNative);
  }
  const scaling = result.scaling?.cases ?? [];
  const largest = scaling.at(-1);
  if (largest?.peakRssBytes !== undefined && largest.sizeBytes !== undefined) {
    target(
      `peak RSS (MiB) brightening a ${formatBytes(largest.sizeBytes)} file with 64 MiB windows, under ${PEAK_RSS_TARGET_BYTES / MIB}`,
      PEAK_RSS_TARGET_BYTES / MIB,
      largest.peakRssBytes.max / MIB,
      false,
    );
  }
  return targets;
}
