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
 * - `breakdown`: where the time of one pass goes (mapping, prefaulting, the kernel saving its journal as it
 *   changes each chunk, unmapping; read, kernel, write), measured with the same kernel host the workers use,
 *   and the fixed cost of a run;
 * - `scaling`: file sizes, each run in a fresh `rawbright brighten --json` process whose report gives
 *   the throughput and the peak RSS (so the RSS is that run's own, not the benchmark's).
 *
 * Method: every case runs `runs` times (fewer, `slowRuns`, for the slow ones: durable, misaligned,
 * files over 2 GiB), in a rotating round-robin order so a noisy moment on a shared machine hits every
 * case, after one untimed warm-up run per part. Between in-place runs the file is synced (untimed), so
 * every run starts from the same state: cached, clean pages and no writeback pending. The delta
 * alternates in sign so the data stays spread out (a saturating add costs the same either way).
 *
 * Layout: what each part measures is a table of rows (src/bench/file-rows.ts); here each part has one
 * runner that measures its table's rows and adds its ratios, and {@link runFileBench} sets up the main
 * file and calls the runners in order. The text report is src/bench/report.ts, the charts chart.ts.
 */
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { rmSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { native } from '../addon.js';
import { KERNEL_CHUNK } from '../brighten/journal.js';
import { type BrightenOptions, brightenFile, type Report } from '../brighten/pipeline.js';
import { invalidParameterError, RawbrightError } from '../errors.js';
import { MappedFile } from '../file/mapped-file.js';
import { formatBytes } from '../format.js';
import { KernelHost } from '../kernels/host.js';
import type { RgbaBrightenParams as BrightenParams } from '../kernels/types.js';
import { integerInRange } from '../validate.js';
import {
  alignmentRows,
  type CaseRow,
  DISK_ROW,
  DURABLE_ROWS,
  LEVER_ROWS,
  MISALIGNMENT,
  REFERENCE_ROWS,
  type RowOptions,
  RUN_OVERHEAD_ROW,
  STRATEGY_ROWS,
  scalingRow,
  windowRows,
  workerRows,
} from './file-rows.js';
import { type ReferenceJob, referenceUnavailableReason, runReference } from './reference.js';
import { gbps, type Summary, summarize } from './stats.js';
import { createRandomFile, syncFile, Workspace, warmFile } from './workspace.js';

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
const DEFAULT_FILE_BENCH_PARAMS: Readonly<BrightenParams> = Object.freeze({
  delta: 1000,
  type: 'uint16',
  channels: 'rgb',
});
/** The most bytes the sweep, the alignment matrix and the durable runs brighten (they run many times). */
const SWEEP_LENGTH = GIB;
const ALIGNMENT_LENGTH = 512 * MIB;
const DURABLE_LENGTH = 512 * MIB;
/** The default window, the reference program's window and the breakdown's window. */
const WINDOW = 64 * MIB;
/** The in-memory limit's buffer: far larger than any CPU cache. */
const IN_MEMORY_BYTES = 256 * MIB;
/** The peak RSS the project aims for with 64 MiB windows and one worker (issue 4). */
const PEAK_RSS_TARGET_BYTES = 210 * MIB;

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

// ---------------------------------------------------------------------------------------------------
// Measuring rows.
// ---------------------------------------------------------------------------------------------------

/** What one run measured. */
interface Measured {
  seconds: number;
  bytes: number;
  strategyUsed?: string;
  peakRssBytes?: number;
  processSeconds?: number;
}

/** A row made runnable: how to run it once, and how many times. */
interface CaseDef {
  row: CaseRow;
  runs: number;
  /** Runs the case once with the given delta sign; resolves with what was measured. */
  run: (sign: 1 | -1) => Promise<Measured> | Measured;
}

/** The validated options of one benchmark run. */
interface Settings {
  size: number;
  runs: number;
  slowRuns: number;
  parts: FileBenchPart[];
  params: BrightenParams;
  sweepWindows: number[];
  alignmentWindows: number[];
  scalingSizes: number[];
  workerCounts: number[];
}

/** What the parts share while the benchmark runs. */
interface BenchContext {
  settings: Settings;
  workspace: Workspace;
  result: FileBenchResult;
  /** Why the native references cannot run, if they cannot. */
  referenceMissing?: string;
  /** The main file, and the out-of-place output beside it. */
  path: string;
  out: string;
  /** The next delta sign: alternating, so the data stays spread out. */
  nextSign: () => 1 | -1;
  progress?: (text: string) => void;
}

/** Where a part's rows run: the file, and options every pipeline row of the part shares (its length). */
interface RowTarget {
  path: string;
  common?: RowOptions;
}

function runnerFor(ctx: BenchContext, row: CaseRow, target: RowTarget): CaseDef['run'] {
  const { params } = ctx.settings;
  const by = (sign: 1 | -1) => sign * params.delta;
  const run = row.run;
  switch (run.kind) {
    case 'pipeline': {
      const { outOfPlace, ...options } = { ...target.common, ...run.options };
      const full = outOfPlace ? { ...options, out: ctx.out, overwrite: true } : options;
      return (sign) => pipelineRun(target.path, full, by(sign));
    }
    case 'reference':
      return (sign) =>
        referenceRun(target.path, { mode: run.mode, params: { ...params, delta: by(sign) }, window: WINDOW });
    case 'disk': {
      const size = Number(target.common?.length ?? ctx.settings.size);
      return () => referenceRun(ctx.workspace.path('disk-test.raw'), { mode: 'disk', size });
    }
    case 'process':
      return (sign) => childRun(target.path, by(sign));
  }
}

/**
 * Measures a part's rows in the benchmark's run loop.
 * @returns one case per row, in the rows' order
 */
function measureRows(
  ctx: BenchContext,
  part: string,
  rows: readonly CaseRow[],
  target: RowTarget = { path: ctx.path },
): Promise<FileCase[]> {
  const { runs, slowRuns } = ctx.settings;
  const defs = rows.map((row) => ({
    row,
    runs: row.slow ? slowRuns : runs,
    run: runnerFor(ctx, row, target),
  }));
  return measure(part, defs, ctx.nextSign, ctx.progress);
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
        `${part}: ${def.row.label}, run ${round + 1}/${def.runs}: ${gbps(result.bytes, result.seconds).toFixed(2)} GB/s`,
      );
    }
  }
  return defs.map((def, index) => toCase(def.row, measured[index]));
}

function toCase(row: CaseRow, runs: Measured[]): FileCase {
  const rss = runs.flatMap((r) => (r.peakRssBytes === undefined ? [] : [r.peakRssBytes]));
  const wall = runs.flatMap((r) => (r.processSeconds === undefined ? [] : [r.processSeconds]));
  const used = [...new Set(runs.flatMap((r) => (r.strategyUsed === undefined ? [] : [r.strategyUsed])))];
  return {
    id: row.id,
    label: row.label,
    bytes: runs[0].bytes,
    runs: runs.length,
    gbps: summarize(runs.map((r) => gbps(r.bytes, r.seconds))),
    seconds: runs.map((r) => r.seconds),
    ...(used.length > 0 && { strategyUsed: used.join('+') }),
    ...(rss.length > 0 && { peakRssBytes: summarize(rss) }),
    ...(wall.length > 0 && { processSeconds: wall }),
    ...row.extra,
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

/** One `rawbright brighten FILE --json` in a fresh Node process: its own throughput and peak RSS. */
function childRun(path: string, by: number): Measured {
  const started = performance.now();
  const run = spawnSync(process.execPath, [CLI, 'brighten', path, `--by=${by}`, '--json'], {
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

/** One untimed run through the pipeline before a part, so its first timed run is not its first run. */
async function warmUp(ctx: BenchContext, options: Omit<BrightenOptions, 'by'>): Promise<void> {
  await pipelineRun(ctx.path, options, ctx.nextSign() * ctx.settings.params.delta);
}

// ---------------------------------------------------------------------------------------------------
// The in-memory limit and the phase breakdown: measured outside the pipeline.
// ---------------------------------------------------------------------------------------------------

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

type PhaseTimes = Record<string, number>;
const now = () => performance.now() / 1000;

/**
 * One mmap pass over [0, length) as a journaled worker runs it by default: overlay, prefault, the wasm-simd kernel
 * saving and changing each chunk in one pass into the journal slot mapped beside the arena, release.
 */
function timeMmapPass(
  host: KernelHost,
  file: MappedFile,
  length: number,
  params: BrightenParams,
): PhaseTimes {
  const t = { overlay: 0, populate: 0, 'kernel + journal': 0, release: 0 };
  let first = 0;
  for (let offset = 0; offset < length; offset += WINDOW) {
    const size = Math.min(WINDOW, length - offset);
    let at = now();
    const region = host.overlay(file, offset, size, false);
    t.overlay += now() - at;
    at = now();
    native.populate(host.memory.buffer, region.pointer, size, true);
    t.populate += now() - at;
    at = now();
    if (host.brightenJournaled(region, params, KERNEL_CHUNK, first) === undefined) {
      host.release();
      throw new RawbrightError(
        'ERR_UNSUPPORTED',
        'the wasm-simd kernel cannot record the journal for these parameters',
      );
    }
    t['kernel + journal'] += now() - at;
    first += Math.ceil(size / KERNEL_CHUNK);
    at = now();
    host.release();
    t.release += now() - at;
  }
  return t;
}

/** One pread pass over [0, length): read into the arena, kernel, write back. */
function timePreadPass(
  host: KernelHost,
  file: MappedFile,
  length: number,
  params: BrightenParams,
): PhaseTimes {
  const t = { read: 0, kernel: 0, write: 0 };
  for (let offset = 0; offset < length; offset += WINDOW) {
    const size = Math.min(WINDOW, length - offset);
    let at = now();
    const region = host.copyIn(file, offset, size);
    t.read += now() - at;
    at = now();
    host.brighten(region, params);
    t.kernel += now() - at;
    at = now();
    host.copyOut(region, file, offset);
    t.write += now() - at;
    host.release();
  }
  return t;
}

function summarisePasses(list: PhaseTimes[]): PhaseBreakdown {
  const phases: Record<string, Summary> = {};
  for (const name of Object.keys(list[0])) phases[name] = summarize(list.map((p) => p[name]));
  return { phases, total: summarize(list.map((p) => Object.values(p).reduce((a, b) => a + b, 0))) };
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
  // A journal slot's room (its header page and a chunk's ring): what the kernel records into, as in a run.
  const slotBytes = 4096 + KERNEL_CHUNK;
  const slotPath = `${path}.breakdown-slot`;
  const slot = MappedFile.create(slotPath, { size: slotBytes, overwrite: true });
  const passes = { mmap: [] as PhaseTimes[], pread: [] as PhaseTimes[] };
  try {
    if (!host.mapJournalSlot(slot, 0, slotBytes)) {
      throw new RawbrightError(
        'ERR_UNSUPPORTED',
        'the journal slot cannot be mapped into the wasm memory here',
      );
    }
    for (let run = -1; run < runs; run++) {
      const m = timeMmapPass(host, file, length, { ...params, delta: nextSign() * params.delta });
      syncFile(path);
      const p = timePreadPass(host, file, length, { ...params, delta: nextSign() * params.delta });
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
    slot.close();
    rmSync(slotPath, { force: true });
  }
  return { mmap: summarisePasses(passes.mmap), pread: summarisePasses(passes.pread) };
}

// ---------------------------------------------------------------------------------------------------
// The parts: each runs its table and puts its figures into the result.
// ---------------------------------------------------------------------------------------------------

async function strategiesPart(ctx: BenchContext): Promise<void> {
  await warmUp(ctx, {});
  const references = ctx.referenceMissing === undefined ? REFERENCE_ROWS : [];
  const all = await measureRows(ctx, 'strategies', [...STRATEGY_ROWS, ...references]);
  const cases = all.slice(0, STRATEGY_ROWS.length);
  const measuredReferences = all.slice(STRATEGY_ROWS.length);
  const { inMemory } = ctx.result;
  const everything = [...cases, ...measuredReferences, inMemory];
  const reference = (id: string) => measuredReferences.find((c) => c.id === id);
  ctx.result.strategies = {
    cases,
    references: measuredReferences,
    ratios: {
      vsNativeMmap: ratios(everything, reference('native-mmap')),
      vsNativePread: ratios(everything, reference('native-pread')),
      vsInMemory: ratios(everything, inMemory),
    },
  };
}

async function durablePart(ctx: BenchContext): Promise<void> {
  const length = Math.min(ctx.settings.size, DURABLE_LENGTH);
  const rows = ctx.referenceMissing === undefined ? [...DURABLE_ROWS, DISK_ROW] : DURABLE_ROWS;
  const all = await measureRows(ctx, 'durable', rows, { path: ctx.path, common: { length } });
  const disk = all.find((c) => c.id === DISK_ROW.id);
  const cases = all.filter((c) => c.id !== DISK_ROW.id);
  if (disk !== undefined) {
    ctx.result.durable = { lengthBytes: length, cases, disk, ratios: { vsDisk: ratios(cases, disk) } };
  } else {
    ctx.result.notes.push(
      'The durable runs have no disk reference: the native reference program is not available.',
    );
  }
}

async function alignmentPart(ctx: BenchContext): Promise<void> {
  const length = Math.min(ctx.settings.size, ALIGNMENT_LENGTH);
  const windows = ctx.settings.alignmentWindows.filter((w) => w <= length);
  await warmUp(ctx, { length });
  ctx.result.alignment = {
    lengthBytes: length,
    misalignmentBytes: MISALIGNMENT,
    cases: await measureRows(ctx, 'alignment', alignmentRows(windows), {
      path: ctx.path,
      common: { length },
    }),
  };
}

async function windowsPart(ctx: BenchContext): Promise<void> {
  const length = Math.min(ctx.settings.size, SWEEP_LENGTH);
  const windows = ctx.settings.sweepWindows.filter((w) => w <= length);
  await warmUp(ctx, { length });
  ctx.result.windows = {
    lengthBytes: length,
    cases: await measureRows(ctx, 'windows', windowRows(windows), { path: ctx.path, common: { length } }),
  };
}

async function leversPart(ctx: BenchContext): Promise<void> {
  await warmUp(ctx, {});
  const cases = await measureRows(ctx, 'levers', LEVER_ROWS);
  ctx.result.levers = { cases, ratios: { vsBaseline: ratios(cases, cases[0]) } };
}

async function workersPart(ctx: BenchContext): Promise<void> {
  const counts = ctx.settings.workerCounts;
  await warmUp(ctx, { workers: Math.max(...counts) });
  ctx.result.workers = { cases: await measureRows(ctx, 'workers', workerRows(counts)) };
}

async function breakdownPart(ctx: BenchContext): Promise<void> {
  const { params, runs, size } = ctx.settings;
  const length = Math.min(size, SWEEP_LENGTH);
  ctx.progress?.('breakdown: timing the phases of a pass');
  const phases = phaseBreakdown(ctx.path, length, params, runs, ctx.nextSign);
  const tiny = ctx.workspace.path('tiny.raw');
  createRandomFile(tiny, 8 * MIB);
  const [runOverhead] = await measureRows(ctx, 'breakdown', [RUN_OVERHEAD_ROW], { path: tiny });
  rmSync(tiny, { force: true });
  ctx.result.breakdown = { lengthBytes: length, window: WINDOW, ...phases, runOverhead };
}

/** Runs after the main file is gone: each size is its own file, made and removed in turn. */
async function scalingPart(ctx: BenchContext): Promise<void> {
  const cases: FileCase[] = [];
  for (const fileSize of ctx.settings.scalingSizes) {
    const path = ctx.workspace.path(`scaling-${fileSize}.raw`);
    ctx.progress?.(`scaling: creating a ${formatBytes(fileSize)} file`);
    createRandomFile(path, fileSize);
    warmFile(path);
    cases.push(...(await measureRows(ctx, 'scaling', [scalingRow(fileSize)], { path })));
    rmSync(path, { force: true });
    if (fileSize > totalmem() / 2) {
      ctx.result.notes.push(
        `The ${formatBytes(fileSize)} scaling file is over half this machine's memory: it may not stay cached.`,
      );
    }
  }
  ctx.result.scaling = { cases };
}

/** Each part's runner. Every part but `scaling` works on the main file. */
const PART_RUNNERS: Record<FileBenchPart, (ctx: BenchContext) => Promise<void>> = {
  strategies: strategiesPart,
  durable: durablePart,
  alignment: alignmentPart,
  windows: windowsPart,
  levers: leversPart,
  workers: workersPart,
  breakdown: breakdownPart,
  scaling: scalingPart,
};

// ---------------------------------------------------------------------------------------------------
// The whole benchmark.
// ---------------------------------------------------------------------------------------------------

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

function resolveSettings(options: FileBenchOptions): Settings {
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
  const cores = availableParallelism();
  return {
    size,
    runs,
    slowRuns,
    parts,
    params,
    sweepWindows: checkSizes('windows', options.windows ?? DEFAULT_SWEEP_WINDOWS, 4 * GIB),
    alignmentWindows: checkSizes(
      'alignmentWindows',
      options.alignmentWindows ?? DEFAULT_ALIGNMENT_WINDOWS,
      4 * GIB,
    ),
    scalingSizes: checkSizes('scalingSizes', options.scalingSizes ?? DEFAULT_SCALING_SIZES, 2 ** 50),
    workerCounts: (options.workers ?? Array.from({ length: cores }, (_, i) => i + 1)).map((n) =>
      integerInRange('workers', n, 1, 64),
    ),
  };
}

/** Writes and warms the main file, recording how long that took. */
function createMainFile(ctx: BenchContext): void {
  const { size } = ctx.settings;
  ctx.progress?.(`creating a ${formatBytes(size)} file in ${ctx.workspace.dir}`);
  const started = performance.now();
  createRandomFile(ctx.path, size);
  const createSeconds = (performance.now() - started) / 1000;
  const warmSeconds = warmFile(ctx.path);
  ctx.result.setup = { createSeconds, warmSeconds };
  if (size > totalmem() / 2) {
    ctx.result.notes.push(
      `The ${formatBytes(size)} file is over half this machine's memory: it may not stay in the page cache, and then the figures are the disk's.`,
    );
  }
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
  const settings = resolveSettings(options);
  const { size, runs, slowRuns, params, parts } = settings;
  const notes: string[] = [];
  const referenceMissing = referenceUnavailableReason();
  if (referenceMissing !== undefined) notes.push(`Native references skipped: ${referenceMissing}.`);
  let sign: 1 | -1 = 1;
  const nextSign = (): 1 | -1 => {
    sign = sign === 1 ? -1 : 1;
    return sign;
  };
  const workspace = Workspace.create(options.dir, fileBenchSpaceNeeded(size, parts, settings.scalingSizes));
  const result: FileBenchResult = {
    sizeBytes: size,
    runs,
    slowRuns,
    params,
    parts,
    inMemory: inMemoryCase(params, runs, options.onProgress),
    targets: [],
    notes,
  };
  const ctx: BenchContext = {
    settings,
    workspace,
    result,
    referenceMissing,
    path: workspace.path('bench.raw'),
    out: workspace.path('bench-out.raw'),
    nextSign,
    progress: options.onProgress,
  };
  try {
    // The parts run in FILE_BENCH_PARTS order whatever the order asked: the main file's parts, then scaling.
    const mainParts = FILE_BENCH_PARTS.filter((p) => p !== 'scaling' && parts.includes(p));
    if (mainParts.length > 0) {
      createMainFile(ctx);
      for (const part of mainParts) await PART_RUNNERS[part](ctx);
      rmSync(ctx.path, { force: true });
    }
    if (parts.includes('scaling')) await PART_RUNNERS.scaling(ctx);
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
