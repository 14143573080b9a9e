/**
 * `rawbright bench [kernels | file]`: the benchmarks. `rawbright bench` runs both parts (`--quick`: a
 * reduced set); each kind of benchmark is also a subcommand of `bench`, registered by its own
 * `register…Bench(bench)` function below. Tables go to stdout, progress to stderr (only on a terminal),
 * `--json FILE` writes the full result (machine, versions, date and every figure) and `--chart FILE`
 * draws it (.png or .svg).
 */
import { writeFileSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import {
  FILE_BENCH_PARTS,
  type FileBenchPart,
  type FileBenchResult,
  type FileCase,
  type Ratios,
} from '../../bench/file-bench.js';
import {
  DEFAULT_KERNEL_BENCH_PARAMS,
  DEFAULT_KERNEL_BENCH_RUNS,
  describeBenchParams,
  KERNEL_BENCH_ENTRIES,
  type KernelBenchResult,
  runKernelBench,
} from '../../bench/kernel-bench.js';
import { describeMachine, describeVersions, machineLine } from '../../bench/machine.js';
import type { Summary } from '../../bench/stats.js';
import { type BenchResult, QUICK_PRESET, runBench } from '../../bench/suite.js';
import { formatBytes, removeLiveWorkspaces } from '../../bench/workspace.js';
import {
  CHANNEL_MODES,
  type Channels,
  KERNEL_NAMES,
  SAMPLE_TYPES,
  type SampleType,
} from '../../kernels/types.js';
import { parseChoice, parseInteger, parseSizeOption, usageError } from '../options.js';
import { parseSize } from '../size.js';

const MIB = 1024 * 1024;

/**
 * Writes a benchmark result as JSON (two-space indented, newline-terminated).
 * @param file the path to write
 * @param result any JSON-serialisable result
 */
export function writeJsonResult(file: string, result: unknown): void {
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
}

/**
 * Lays out rows as a plain-text table: the first column left-aligned, the others right-aligned.
 * @param header column titles
 * @param rows cells, already formatted
 * @returns the table, one line per row, newline-terminated
 */
export function formatTable(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, column) => Math.max(...all.map((row) => row[column].length)));
  const line = (row: string[]) =>
    row
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]) : cell.padStart(widths[column])))
      .join('  ')
      .trimEnd();
  return `${all.map(line).join('\n')}\n`;
}

function progress(): ((text: string) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (text) => process.stderr.write(`\r\x1b[2K${text.slice(0, (process.stderr.columns || 100) - 1)}`);
}

const fixed = (value: number, digits = 2) => value.toFixed(digits);
const ratio = (value: number | undefined) =>
  value === undefined ? '-' : `${value >= 10 ? value.toFixed(1) : value.toFixed(2)}x`;
const spread = (summary: Summary) => [fixed(summary.min), fixed(summary.median), fixed(summary.max)];

/**
 * Formats a kernel benchmark result as the table `rawbright bench kernels` prints.
 * @param result what {@link runKernelBench} returned
 * @returns the text, newline-terminated
 */
export function formatKernelBench(result: KernelBenchResult): string {
  const rows = KERNEL_BENCH_ENTRIES.map((entry) => [
    entry === 'memcpy' ? 'memcpy (bytes copied)' : entry,
    ...spread(result.kernels[entry].gbps),
    ratio(result.ratios.vsNative[entry]),
    ratio(result.ratios.vsJs[entry]),
  ]);
  const targetLines = (targets: KernelBenchResult['targets']) =>
    targets.map((t) => `  ${t.description}: ${ratio(t.measured)} (${t.met ? 'met' : 'NOT met'})`).join('\n');
  const layouts = result.layouts ?? [];
  const layoutText =
    layouts.length === 0
      ? ''
      : `\nLayouts (uint16 +1000 unless the row says otherwise; median GB/s, same bytes for every kernel):\n\n` +
        formatTable(
          ['layout', ...KERNEL_NAMES],
          layouts.map((l) => [l.label, ...KERNEL_NAMES.map((name) => fixed(l.kernels[name].gbps.median))]),
        ) +
        (result.layoutTargets.length === 0
          ? ''
          : `Big-endian targets:\n${targetLines(result.layoutTargets)}\n`);
  return (
    `Kernels on ${(result.sizeBytes / MIB).toFixed(0)} MiB inside WebAssembly memory, ${describeBenchParams(result.params)}; ` +
    `${result.runs} runs after a warm-up; ` +
    `native path ${result.nativePath}; Node ${result.node}\n\n` +
    formatTable(['kernel', 'GB/s min', 'median', 'max', 'vs native', 'vs js'], rows) +
    `\nRatios are of medians. GB/s = 10^9 bytes per second, brightened in place (memcpy: copied).\n` +
    `Targets:\n${targetLines(result.targets)}\n` +
    layoutText
  );
}

function caseTable(cases: FileCase[], ratioColumns: [string, Ratios][] = [], label = 'case'): string {
  const rows = cases.map((c) => [
    c.label,
    String(c.runs),
    ...spread(c.gbps),
    ...ratioColumns.map(([, r]) => ratio(r[c.id])),
  ]);
  return formatTable(
    [label, 'runs', 'GB/s min', 'median', 'max', ...ratioColumns.map(([name]) => name)],
    rows,
  );
}

/**
 * Formats a file benchmark result as the tables `rawbright bench file` prints.
 * @param result what {@link runFileBench} returned
 * @returns the text, newline-terminated
 */
export function formatFileBench(result: FileBenchResult): string {
  const { delta, type, channels } = result.params;
  const out: string[] = [];
  out.push(
    `File benchmark: ${formatBytes(result.sizeBytes)} file, ${type} ${channels}, delta ±${Math.abs(delta)}; ` +
      `${result.runs} runs per case after one warm-up run (${result.slowRuns} for slow cases); ` +
      'the file is cached (warm) and synced, untimed, between runs.\n',
  );
  if (result.setup !== undefined) {
    out.push(
      `Setup: file written and synced in ${fixed(result.setup.createSeconds)} s, read once (warm) in ${fixed(result.setup.warmSeconds)} s.\n`,
    );
  }
  const s = result.strategies;
  if (s !== undefined) {
    out.push(`\nStrategies, in place unless said (GB/s of the whole brightenFile call):\n`);
    out.push(
      caseTable(
        [...s.cases, ...s.references, result.inMemory],
        [
          ['vs native mmap', s.ratios.vsNativeMmap],
          ['vs native pread', s.ratios.vsNativePread],
          ['vs in memory', s.ratios.vsInMemory],
        ],
      ),
    );
  } else {
    out.push(
      `\nIn-memory limit: ${result.inMemory.label}: ${spread(result.inMemory.gbps).join(' / ')} GB/s\n`,
    );
  }
  const d = result.durable;
  if (d !== undefined) {
    out.push(`\nDurable runs (fsync every window) on the first ${formatBytes(d.lengthBytes)}:\n`);
    out.push(caseTable([...d.cases, d.disk], [['vs disk', d.ratios.vsDisk]]));
  }
  const a = result.alignment;
  if (a !== undefined) {
    out.push(
      `\nThe mmap overlay's placement: 2 MiB-congruent with the file offset (default) or ${a.misalignmentBytes / 1024} KiB off, ` +
        `with and without MADV_POPULATE_WRITE, on the first ${formatBytes(a.lengthBytes)}:\n`,
    );
    out.push(caseTable(a.cases));
  }
  const w = result.windows;
  if (w !== undefined) {
    out.push(`\nWindow size sweep on the first ${formatBytes(w.lengthBytes)}:\n`);
    out.push(caseTable(w.cases));
  }
  const l = result.levers;
  if (l !== undefined) {
    out.push(`\nLevers (mmap overlay, journaled, unless said):\n`);
    out.push(caseTable(l.cases, [['vs default', l.ratios.vsBaseline]]));
  }
  const k = result.workers;
  if (k !== undefined) {
    out.push(`\nWorker threads:\n`);
    out.push(caseTable(k.cases));
  }
  const b = result.breakdown;
  if (b !== undefined) {
    out.push(
      `\nWhere one pass over ${formatBytes(b.lengthBytes)} goes (${formatBytes(b.window)} windows, one kernel host, main thread; medians):\n`,
    );
    const rows: string[][] = [];
    for (const strategy of ['mmap', 'pread'] as const) {
      const phases = b[strategy];
      for (const [phase, summary] of Object.entries(phases.phases)) {
        rows.push([
          `${strategy}: ${phase}`,
          fixed(summary.median * 1000, 1),
          `${fixed((100 * summary.median) / phases.total.median, 0)}%`,
        ]);
      }
      rows.push([
        `${strategy}: total`,
        fixed(phases.total.median * 1000, 1),
        `${fixed(b.lengthBytes / phases.total.median / 1e9)} GB/s`,
      ]);
    }
    out.push(formatTable(['phase', 'ms', 'share'], rows));
    const o = b.runOverhead;
    out.push(
      `Fixed cost of a run (workers, wasm, journal, locks; a whole brightenFile call on an 8 MiB file): ` +
        `${fixed(o.seconds.length > 0 ? Math.min(...o.seconds) * 1000 : 0, 0)}–${fixed(Math.max(...o.seconds) * 1000, 0)} ms.\n`,
    );
  }
  const sc = result.scaling;
  if (sc !== undefined) {
    out.push(
      `\nFile size scaling: default options, each run a fresh 'rawbright brighten --json' process (GB/s from its report; ` +
        `process time includes Node's start-up):\n`,
    );
    const rows = sc.cases.map((c) => [
      formatBytes(c.sizeBytes ?? 0),
      String(c.runs),
      ...spread(c.gbps),
      c.peakRssBytes === undefined ? '-' : fixed(c.peakRssBytes.max / MIB, 0),
      c.processSeconds === undefined ? '-' : fixed(median(c.processSeconds)),
    ]);
    out.push(
      formatTable(
        ['file size', 'runs', 'GB/s min', 'median', 'max', 'peak RSS MiB (max)', 'process s'],
        rows,
      ),
    );
  }
  if (result.targets.length > 0) {
    out.push('\nTargets:\n');
    for (const t of result.targets) {
      out.push(`  ${t.description}: ${fixed(t.measured)} (${t.met ? 'met' : 'NOT met'})\n`);
    }
  }
  if (result.notes.length > 0) out.push(`\nNotes:\n${result.notes.map((n) => `  ${n}`).join('\n')}\n`);
  out.push('\nRatios are of medians. GB/s = 10^9 bytes per second.\n');
  return out.join('');
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * Formats a whole benchmark result: the machine, then each part's tables.
 * @param result what {@link runBench} returned
 * @returns the text, newline-terminated
 */
export function formatBenchResult(result: BenchResult): string {
  const m = result.machine;
  const load =
    `1-min load average ${m.loadAverage.start.toFixed(2)} at the start` +
    (m.loadAverage.end === undefined ? '' : `, ${m.loadAverage.end.toFixed(2)} at the end`);
  const parts = [
    `rawbright bench${result.quick ? ' --quick' : ''}, ${result.date}\n` +
      `Machine: ${machineLine(m)}${m.transparentHugepages === undefined ? '' : `, THP ${m.transparentHugepages}`}\n` +
      `Bench folder: ${m.benchDir === undefined ? '-' : `${m.benchDir.path} (${m.benchDir.filesystem} on ${m.benchDir.device})`}\n` +
      `Node ${result.versions.node}, V8 ${result.versions.v8}, rawbright ${result.versions.rawbright}; ${load}\n`,
  ];
  if (result.kernels !== undefined) parts.push(formatKernelBench(result.kernels));
  if (result.file !== undefined) parts.push(formatFileBench(result.file));
  parts.push(`Took ${result.durationSeconds.toFixed(0)} s.\n`);
  return parts.join('\n');
}

/** A comma-separated list of sizes, e.g. `1MiB,64MiB,1GiB`. */
function parseSizeList(flag: string): (text: string) => number[] {
  return (text) => {
    try {
      return text.split(',').map((item) => parseSize(item.trim(), flag));
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  };
}

function parseIntegerList(flag: string): (text: string) => number[] {
  const one = parseInteger(flag);
  return (text) => text.split(',').map((item) => one(item.trim()));
}

function parseParts(text: string): FileBenchPart[] {
  const parts = text.split(',').map((item) => item.trim());
  for (const part of parts) {
    if (!(FILE_BENCH_PARTS as readonly string[]).includes(part)) {
      throw new InvalidArgumentError(
        `--parts must be a comma-separated list of ${FILE_BENCH_PARTS.join(', ')}, not ${JSON.stringify(part)}`,
      );
    }
  }
  return parts as FileBenchPart[];
}

interface OutputFlags {
  json?: string;
  chart?: string;
}

interface FileFlags extends OutputFlags {
  quick?: boolean;
  dir?: string;
  size?: number;
  runs?: number;
  slowRuns?: number;
  windows?: number[];
  sizes?: number[];
  workers?: number[];
  parts?: FileBenchPart[];
}

function checkChartPath(flags: OutputFlags): void {
  if (flags.chart !== undefined && !/\.(png|svg)$/i.test(flags.chart)) {
    throw usageError(`--chart must name a .png or .svg file, not ${flags.chart}`);
  }
}

function checkFileFlags(flags: FileFlags): void {
  checkChartPath(flags);
  if (flags.runs !== undefined && flags.runs < 1) throw usageError('--runs must be at least 1');
  if (flags.slowRuns !== undefined && flags.slowRuns < 1) throw usageError('--slow-runs must be at least 1');
  if (flags.size !== undefined && (flags.size % 8 !== 0 || flags.size < MIB)) {
    throw usageError('--size must be a multiple of 8 bytes, at least 1MiB');
  }
  for (const [flag, list] of [
    ['--windows', flags.windows],
    ['--sizes', flags.sizes],
  ] as const) {
    if (list?.some((value) => value < 8 || value % 8 !== 0)) {
      throw usageError(`${flag} must list multiples of 8 bytes`);
    }
  }
  if (flags.workers?.some((n) => n < 1)) throw usageError('--workers must list counts of at least 1');
}

/** The command line as typed, for the result's `command` field. */
function commandLine(): string {
  return ['rawbright', ...process.argv.slice(2)].join(' ');
}

/** Draws the chart. vega and sharp load only here: every other command starts without them (and their memory). */
async function drawChart(file: string, result: BenchResult): Promise<void> {
  const { writeChart } = await import('../../bench/chart.js');
  await writeChart(file, result);
}

/**
 * Runs a file benchmark so that Ctrl-C or SIGTERM removes its temporary files before the process
 * exits (status 130): the main file alone is 2 GiB.
 */
async function withCleanupOnSignals<T>(work: () => Promise<T>): Promise<T> {
  const onSignal = (signal: NodeJS.Signals) => {
    const removed = removeLiveWorkspaces();
    process.stderr.write(
      `\nrawbright: ${signal}: stopped the benchmark and removed ${removed.join(', ') || 'nothing'}\n`,
    );
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await work();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

async function emit(result: BenchResult, flags: OutputFlags): Promise<void> {
  process.stdout.write(formatBenchResult(result));
  if (flags.json !== undefined) writeJsonResult(flags.json, result);
  if (flags.chart !== undefined) await drawChart(flags.chart, result);
}

function addFileOptions(command: Command): Command {
  return command
    .option(
      '--quick',
      `a reduced set in about a minute (a ${QUICK_PRESET.file.sizeBytes / MIB} MiB file, smaller sweeps)`,
    )
    .option(
      '--dir <dir>',
      'folder for the temporary files (default: the system temp folder); its disk matters',
    )
    .option('--size <size>', 'the main file (default: 2GiB; --quick: 256MiB)', parseSizeOption('--size'))
    .option('--runs <n>', 'timed runs per case after a warm-up (default: 5)', parseInteger('--runs'))
    .option(
      '--slow-runs <n>',
      'timed runs for slow cases: durable, misaligned, files over 2 GiB (default: 3)',
      parseInteger('--slow-runs'),
    )
    .option('--windows <sizes>', 'window sweep, e.g. 1MiB,64MiB,1GiB', parseSizeList('--windows'))
    .option(
      '--sizes <sizes>',
      'file sizes of the scaling part, e.g. 256MiB,2GiB,8GiB',
      parseSizeList('--sizes'),
    )
    .option(
      '--workers <counts>',
      'worker counts, e.g. 1,2 (default: 1 to the number of cores)',
      parseIntegerList('--workers'),
    )
    .option('--parts <parts>', `file benchmark parts to run: ${FILE_BENCH_PARTS.join(',')}`, parseParts)
    .option('--json <file>', 'also write the full result as JSON')
    .option('--chart <file>', 'also draw the result as a chart (.png or .svg)');
}

function fileOptions(flags: FileFlags) {
  return {
    dir: flags.dir,
    sizeBytes: flags.size,
    runs: flags.runs,
    slowRuns: flags.slowRuns,
    windows: flags.windows,
    scalingSizes: flags.sizes,
    workers: flags.workers,
    parts: flags.parts,
  };
}

interface KernelsFlags extends OutputFlags {
  runs: number;
  size: number;
  by: number;
  type: SampleType;
  channels: Channels;
}

/** `rawbright bench kernels`: every kernel on one buffer in memory, with memcpy and native as references. */
function registerKernelsBench(bench: Command): void {
  bench
    .command('kernels')
    .description(
      'measure the brighten kernels (js, wasm, wasm-simd, native) on one buffer in memory, with memcpy ' +
        'bandwidth and the native kernel as references',
    )
    .option(
      '--runs <n>',
      'timed runs per kernel, after a warm-up',
      parseInteger('--runs'),
      DEFAULT_KERNEL_BENCH_RUNS,
    )
    .option(
      '--size <size>',
      'bytes brightened per run (a multiple of 8)',
      parseSizeOption('--size'),
      256 * MIB,
    )
    .option('--json <file>', 'also write the full result as JSON')
    .option('--chart <file>', 'also draw the result as a chart (.png or .svg)')
    .option('--by <delta>', 'the brightness delta', parseInteger('--by'), DEFAULT_KERNEL_BENCH_PARAMS.delta)
    .option(
      '--type <type>',
      'sample type',
      parseChoice('--type', SAMPLE_TYPES),
      DEFAULT_KERNEL_BENCH_PARAMS.type,
    )
    .option(
      '--channels <channels>',
      'channels brightened',
      parseChoice('--channels', CHANNEL_MODES),
      DEFAULT_KERNEL_BENCH_PARAMS.channels,
    )
    .action(async (flags: KernelsFlags) => {
      if (flags.runs < 1) throw usageError('--runs must be at least 1');
      if (flags.size % 8 !== 0 || flags.size === 0)
        throw usageError('--size must be a positive multiple of 8 bytes');
      checkChartPath(flags);
      const show = progress();
      const date = new Date().toISOString();
      const started = performance.now();
      const result = runKernelBench({
        runs: flags.runs,
        sizeBytes: flags.size,
        params: { delta: flags.by, type: flags.type, channels: flags.channels },
        onRun:
          show &&
          ((entry, run, runs, rate, layout) =>
            show(
              `${layout === undefined ? '' : `${layout}: `}${entry}: run ${run}/${runs}, ${rate.toFixed(2)} GB/s`,
            )),
      });
      show?.('');
      process.stdout.write(formatKernelBench(result));
      const whole: BenchResult = {
        machine: describeMachine(),
        versions: describeVersions(),
        date,
        command: commandLine(),
        quick: false,
        durationSeconds: (performance.now() - started) / 1000,
        kernels: result,
      };
      // The kernel figures stay at the top level (as before); machine, versions and date join them.
      if (flags.json !== undefined) {
        const { kernels: _, ...context } = whole;
        writeJsonResult(flags.json, { ...result, ...context });
      }
      if (flags.chart !== undefined) await drawChart(flags.chart, whole);
    });
}

/** `rawbright bench file`: strategies, references, sweeps and scaling on real files. */
function registerFileBench(bench: Command): void {
  addFileOptions(
    bench
      .command('file')
      .description(
        'measure brightening real files: strategies against a native C++ reference, durable runs against the ' +
          'disk, the overlay alignment, window sizes, levers, workers, and file-size scaling with peak RSS',
      ),
  ).action(async (flags: FileFlags) => {
    checkFileFlags(flags);
    const show = progress();
    const result = await withCleanupOnSignals(() =>
      runBench({
        what: ['file'],
        quick: flags.quick,
        file: fileOptions(flags),
        command: commandLine(),
        onProgress: show,
      }),
    );
    show?.('');
    await emit(result, flags);
  });
}

/**
 * Registers `rawbright bench` and its subcommands: `all` (the default: `rawbright bench --quick` is
 * `rawbright bench all --quick`), `kernels` and `file`. `bench` itself takes no options, so each
 * subcommand's `--json`, `--size`, `--runs` are its own wherever they appear on the line.
 * @param program the root command
 * @returns the `bench` command, so more benchmarks can be attached to it
 */
export function registerBench(program: Command): Command {
  const bench = program.command('bench').description('measure how fast rawbright runs on this machine');
  addFileOptions(
    bench
      .command('all', { isDefault: true })
      .description('the kernels, then the files: about 10 minutes (--quick: about 1); the default'),
  ).action(async (flags: FileFlags) => {
    checkFileFlags(flags);
    const show = progress();
    const result = await withCleanupOnSignals(() =>
      runBench({
        quick: flags.quick,
        kernels: { runs: flags.runs },
        file: fileOptions(flags),
        command: commandLine(),
        onProgress: show,
      }),
    );
    show?.('');
    await emit(result, flags);
  });
  registerKernelsBench(bench);
  registerFileBench(bench);
  return bench;
}
