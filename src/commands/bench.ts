/**
 * `rawbright bench <what>`: the benchmarks. Each kind of benchmark is a subcommand of `bench`, registered by
 * its own `register…Bench(bench)` function below, so adding one (`bench file`, …) is one function and one
 * call in {@link registerBench}. Tables go to stdout, progress to stderr (only on a terminal), and
 * `--json FILE` writes the full result for the README figures and for comparing runs.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  DEFAULT_KERNEL_BENCH_PARAMS,
  DEFAULT_KERNEL_BENCH_RUNS,
  KERNEL_BENCH_ENTRIES,
  type KernelBenchResult,
  runKernelBench,
} from '../bench/kernel-bench.js';
import type { Summary } from '../bench/stats.js';
import { CHANNEL_MODES, type Channels, SAMPLE_TYPES, type SampleType } from '../kernels/types.js';
import { parseChoice, parseInteger, parseSizeOption, usageError } from './options.js';

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
      .join('  ');
  return `${all.map(line).join('\n')}\n`;
}

function progress(): ((text: string) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (text) => process.stderr.write(`\r\x1b[2K${text}`);
}

const fixed = (value: number, digits = 2) => value.toFixed(digits);
const ratio = (value: number) => `${value >= 10 ? value.toFixed(1) : value.toFixed(2)}x`;
const spread = (summary: Summary) => [fixed(summary.min), fixed(summary.median), fixed(summary.max)];

/**
 * Formats a kernel benchmark result as the table `rawbright bench kernels` prints.
 * @param result what {@link runKernelBench} returned
 * @returns the text, newline-terminated
 */
export function formatKernelBench(result: KernelBenchResult): string {
  const { delta, type, channels } = result.params;
  const rows = KERNEL_BENCH_ENTRIES.map((entry) => [
    entry === 'memcpy' ? 'memcpy (bytes copied)' : entry,
    ...spread(result.kernels[entry].gbps),
    ratio(result.ratios.vsNative[entry]),
    ratio(result.ratios.vsJs[entry]),
  ]);
  const targets = result.targets
    .map((t) => `  ${t.description}: ${ratio(t.measured)} (${t.met ? 'met' : 'NOT met'})`)
    .join('\n');
  return (
    `Kernels on ${(result.sizeBytes / MIB).toFixed(0)} MiB inside WebAssembly memory, ${type} ${channels}, ` +
    `delta ${delta > 0 ? '+' : ''}${delta}; ${result.runs} runs after a warm-up; ` +
    `native path ${result.nativePath}; Node ${result.node}\n\n` +
    formatTable(['kernel', 'GB/s min', 'median', 'max', 'vs native', 'vs js'], rows) +
    `\nRatios are of medians. GB/s = 10^9 bytes per second, brightened in place (memcpy: copied).\n` +
    `Targets:\n${targets}\n`
  );
}

interface KernelsFlags {
  runs: number;
  size: number;
  json?: string;
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
    .action((flags: KernelsFlags) => {
      if (flags.runs < 1) throw usageError('--runs must be at least 1');
      if (flags.size % 8 !== 0 || flags.size === 0)
        throw usageError('--size must be a positive multiple of 8 bytes');
      const show = progress();
      const result = runKernelBench({
        runs: flags.runs,
        sizeBytes: flags.size,
        params: { delta: flags.by, type: flags.type, channels: flags.channels },
        onRun:
          show && ((entry, run, runs, rate) => show(`${entry}: run ${run}/${runs}, ${rate.toFixed(2)} GB/s`)),
      });
      show?.('');
      process.stdout.write(formatKernelBench(result));
      if (flags.json !== undefined) writeJsonResult(flags.json, result);
    });
}

/**
 * Registers `rawbright bench` and its subcommands.
 * @param program the root command
 * @returns the `bench` command, so more benchmarks can be attached to it
 */
export function registerBench(program: Command): Command {
  const bench = program.command('bench').description('measure how fast rawbright runs on this machine');
  registerKernelsBench(bench);
  return bench;
}
