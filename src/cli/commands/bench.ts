/**
 * `rawbright bench [kernels | file]`: the benchmarks. `rawbright bench` runs both parts (`--quick`: a
 * reduced set); each kind of benchmark is also a subcommand of `bench`, registered by its own
 * `register…Bench(bench)` function below. Tables go to stdout, progress to stderr (only on a terminal),
 * `--json FILE` writes the full result (machine, versions, date and every figure) and `--chart FILE`
 * draws it (.png or .svg) as a few focused charts, the first in FILE and the others beside it. The
 * tables themselves are formatted by src/bench/report.ts.
 */
import { writeFileSync } from 'node:fs';
import { type Command, InvalidArgumentError } from 'commander';
import { FILE_BENCH_PARTS, type FileBenchPart } from '../../bench/file-bench.js';
import {
  DEFAULT_KERNEL_BENCH_PARAMS,
  DEFAULT_KERNEL_BENCH_RUNS,
  runKernelBench,
} from '../../bench/kernel-bench.js';
import { describeMachine, describeVersions } from '../../bench/machine.js';
import { formatBenchResult, formatKernelBench } from '../../bench/report.js';
import type { BenchClock } from '../../bench/stats.js';
import { type BenchResult, QUICK_PRESET, runBench } from '../../bench/suite.js';
import { removeLiveWorkspaces } from '../../bench/workspace.js';
import { RawbrightError } from '../../errors.js';
import { CHANNEL_MODES, type Channels, SAMPLE_TYPES, type SampleType } from '../../kernels/types.js';
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

function progress(): ((text: string) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (text) => process.stderr.write(`\r\x1b[2K${text.slice(0, (process.stderr.columns || 100) - 1)}`);
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

/**
 * Draws the charts and says where they went. vega and sharp load only here: every other command starts
 * without them (and their memory).
 */
async function drawCharts(file: string, result: BenchResult): Promise<void> {
  let chart: typeof import('../../bench/chart.js');
  try {
    chart = await import('../../bench/chart.js');
  } catch (error) {
    // vega and vega-lite are optional dependencies (about 25 MB), needed only here.
    if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new RawbrightError(
      'ERR_CHART_UNAVAILABLE',
      '--chart needs the optional packages vega and vega-lite: install them with `npm install vega vega-lite`',
    );
  }
  const { writeCharts } = chart;
  const paths = await writeCharts(file, result);
  process.stdout.write(`Charts: ${paths.join(', ')}\n`);
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
  if (flags.chart !== undefined) await drawCharts(flags.chart, result);
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
    .option(
      '--chart <file>',
      'also draw the result as charts (.png or .svg): the first to FILE, the others beside it as FILE-<chart>',
    );
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
  clock: BenchClock;
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
    .option(
      '--clock <clock>',
      "time each run by 'wall' time or by the process's 'cpu' time (on a machine shared with other jobs)",
      parseChoice('--clock', ['wall', 'cpu'] as const),
      'wall' as BenchClock,
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
        clock: flags.clock,
        sizeBytes: flags.size,
        params: { delta: flags.by, type: flags.type, channels: flags.channels },
        onRun:
          show && ((entry, run, runs, rate) => show(`${entry}: run ${run}/${runs}, ${rate.toFixed(2)} GB/s`)),
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
      if (flags.chart !== undefined) await drawCharts(flags.chart, whole);
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

interface ProcessFlags extends OutputFlags {
  quick?: boolean;
  dir?: string;
  runs?: number;
}

/** `rawbright bench batch` and `rawbright bench startup`: whole processes against their references. */
function registerProcessBench(bench: Command): void {
  const parts = [
    [
      'batch',
      'one rawbright command over 32 warm files of 32 MiB (--quick: 4 MiB) against the native C++ reference run on each',
    ],
    ['startup', 'rawbright on one 64 KiB file (--quick: 4 KiB) against a bare `node -e 0`, whole processes'],
  ] as const;
  for (const [part, description] of parts) {
    bench
      .command(part)
      .description(description)
      .option('--quick', 'smaller files and 5 runs')
      .option('--dir <dir>', 'folder for the temporary files (default: the system temp folder)')
      .option(
        '--runs <n>',
        'timed runs of each side, alternated, after a warm-up (default: 9)',
        parseInteger('--runs'),
      )
      .option('--json <file>', 'also write the full result as JSON')
      .option('--chart <file>', 'also draw the result as a chart (.png or .svg)')
      .action(async (flags: ProcessFlags) => {
        checkChartPath(flags);
        if (flags.runs !== undefined && flags.runs < 1) throw usageError('--runs must be at least 1');
        const show = progress();
        const result = await withCleanupOnSignals(() =>
          runBench({
            what: [part],
            quick: flags.quick,
            processRuns: flags.runs,
            file: { dir: flags.dir },
            command: commandLine(),
            onProgress: show,
          }),
        );
        show?.('');
        await emit(result, flags);
      });
  }
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
  registerProcessBench(bench);
  bench
    .command('ipc')
    .description(
      'round trips and streamed throughput between processes: Channel, process.send, a Unix socket, a MessagePort',
    )
    .option(
      '--rounds <n>',
      'round trips per case (default: 2000; 1 MiB: a twentieth); streams 5x, 2x, a tenth of it',
      parseInteger('--rounds'),
    )
    .option('--json <file>', 'also write the rows as JSON')
    .option('--chart <file>', 'also write a chart (.svg or .png)')
    .action(async (flags: { rounds?: number; json?: string; chart?: string }) => {
      const { formatIpcBench, runIpcBench } = await import('../../bench/ipc-bench.js');
      const result = await runIpcBench({ rounds: flags.rounds });
      const { rows } = result;
      console.log(formatIpcBench(result));
      if (flags.json !== undefined) {
        writeFileSync(flags.json, `${JSON.stringify({ ipc: rows, spin: result.spin }, null, 2)}\n`);
      }
      if (flags.chart !== undefined) {
        const { writeIpcChart } = await import('../../bench/ipc-chart.js');
        const { cpus, loadavg } = await import('node:os');
        const subtitle = `rawbright bench ipc${flags.rounds !== undefined ? ` --rounds ${flags.rounds}` : ''}, ${new Date().toISOString().slice(0, 10)} · ${cpus().length} cores, 1-min load ${loadavg()[0].toFixed(1)} · Node ${process.versions.node}`;
        await writeIpcChart(flags.chart, rows, subtitle);
        console.log(`chart: ${flags.chart}`);
      }
    });
  return bench;
}
