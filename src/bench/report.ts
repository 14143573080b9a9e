/**
 * The benchmark's text output: the tables `rawbright bench`, `bench kernels` and `bench file` print.
 * Every figure comes from the result object (the same one `--json` writes), so the text and the JSON
 * always agree. The file report is a list of sections, one per part, each a table of that part's cases;
 * acceptance targets stay in the JSON (`targets`) and are not printed: the output is the measurements.
 */
import { formatBytes } from '../format.js';
import { KERNEL_NAMES } from '../kernels/types.js';
import type { FileBenchResult, FileCase, PhaseBreakdown, Ratios } from './file-bench.js';
import { describeBenchParams, KERNEL_BENCH_ENTRIES, type KernelBenchResult } from './kernel-bench.js';
import { machineLine } from './machine.js';
import type { BatchBenchResult, ProcessCase, StartupBenchResult } from './process-bench.js';
import { type Summary, summarize } from './stats.js';
import type { BenchResult } from './suite.js';

const MIB = 1024 * 1024;

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

/**
 * A figure with two decimals, as every GB/s in the tables.
 * @param value the figure
 * @param digits decimals [2]
 */
const formatFixed = (value: number, digits = 2): string => value.toFixed(digits);

/**
 * A ratio of medians: `0.47x`, `12.9x`, or `-` when there is no reference.
 * @param value the ratio, if measured
 */
export const formatRatio = (value: number | undefined): string =>
  value === undefined ? '-' : `${value >= 10 ? value.toFixed(1) : value.toFixed(2)}x`;

/** min, median and max, formatted. */
const spread = (summary: Summary) => [summary.min, summary.median, summary.max].map((v) => formatFixed(v));

const GBPS_COLUMNS = ['GB/s min', 'median', 'max'];

/**
 * Formats a kernel benchmark result as the table `rawbright bench kernels` prints.
 * @param result what `runKernelBench` returned
 * @returns the text, newline-terminated
 */
export function formatKernelBench(result: KernelBenchResult): string {
  const rows = KERNEL_BENCH_ENTRIES.map((entry) => [
    entry === 'memcpy' ? 'memcpy (bytes copied)' : entry,
    ...spread(result.kernels[entry].gbps),
    formatRatio(result.ratios.vsNative[entry]),
    formatRatio(result.ratios.vsJs[entry]),
  ]);
  const operations = result.operations ?? [];
  const operationText =
    operations.length === 0
      ? ''
      : '\nAdjust operations (uint16, 4 bands, alpha kept; median GB/s, the same bytes for every kernel; ' +
        'add runs as brighten; invert as SIMD arithmetic on wasm-simd; chains of at most two adds and gains as SIMD arithmetic on native; the rest through a 65,536-entry table per band, one shared when all bands have the same):\n\n' +
        formatTable(
          [
            'operation',
            ...KERNEL_NAMES,
            'wasm vs js',
            'wasm-simd vs js',
            'wasm vs native',
            'wasm-simd vs native',
          ],
          operations.map((o) => [
            o.label,
            ...KERNEL_NAMES.map((name) => o.kernels[name].gbps.median.toFixed(2)),
            formatRatio(o.ratios.vsJs.wasm),
            formatRatio(o.ratios.vsJs['wasm-simd']),
            formatRatio(o.ratios.vsNative.wasm),
            formatRatio(o.ratios.vsNative['wasm-simd']),
          ]),
        );
  const layouts = result.layouts ?? [];
  const layoutText =
    layouts.length === 0
      ? ''
      : '\nLayouts (uint16 +1000 unless the row says otherwise; median GB/s, the same bytes for every kernel):\n\n' +
        formatTable(
          ['layout', ...KERNEL_NAMES],
          layouts.map((l) => [
            l.label,
            ...KERNEL_NAMES.map((name) => l.kernels[name].gbps.median.toFixed(2)),
          ]),
        );
  return (
    `Kernels on ${formatBytes(result.sizeBytes)} inside WebAssembly memory, ${describeBenchParams(result.params)}; ` +
    `${result.runs} runs after a warm-up, timed by ${result.clock === 'cpu' ? 'the process CPU time' : 'wall time'}; ` +
    `native path ${result.nativePath}; Node ${result.node}\n\n` +
    formatTable(['kernel', ...GBPS_COLUMNS, 'vs native', 'vs js'], rows) +
    '\nRatios are medians of run-by-run ratios (the kernels take turns, one run each a round). GB/s = 10^9 bytes ' +
    `per ${result.clock === 'cpu' ? 'CPU ' : ''}second, brightened in place (memcpy: copied).\n` +
    operationText +
    layoutText
  );
}

/** A ratio column of a case table: its heading, and the ratios by case id. */
type RatioColumn = [heading: string, ratios: Ratios];

/**
 * A table of cases: label, runs, GB/s min / median / max, then one column per ratio.
 * @param cases the cases, in table order
 * @param ratioColumns ratio columns [none]
 * @param label the first column's heading ['case']
 * @returns the table
 */
export function formatCaseTable(cases: FileCase[], ratioColumns: RatioColumn[] = [], label = 'case'): string {
  const rows = cases.map((c) => [
    c.label,
    String(c.runs),
    ...spread(c.gbps),
    ...ratioColumns.map(([, r]) => formatRatio(r[c.id])),
  ]);
  return formatTable([label, 'runs', ...GBPS_COLUMNS, ...ratioColumns.map(([heading]) => heading)], rows);
}

/** One section of the file report: a heading line and a table, or nothing when its part did not run. */
type Section = (result: FileBenchResult) => string | undefined;

/** A section that is one case table (none when the part measured no case, e.g. every window too long). */
function caseSection(
  pick: (
    result: FileBenchResult,
  ) => { heading: string; cases: FileCase[]; ratios?: RatioColumn[] } | undefined,
): Section {
  return (result) => {
    const picked = pick(result);
    if (picked === undefined || picked.cases.length === 0) return undefined;
    return `\n${picked.heading}\n${formatCaseTable(picked.cases, picked.ratios)}`;
  };
}

const strategiesSection: Section = (result) => {
  const s = result.strategies;
  if (s === undefined) {
    return `\nIn-memory limit: ${result.inMemory.label}: ${spread(result.inMemory.gbps).join(' / ')} GB/s\n`;
  }
  return (
    '\nStrategies, in place unless said (GB/s of the whole brightenFile call):\n' +
    formatCaseTable(
      [...s.cases, ...s.references, result.inMemory],
      [
        ['vs native mmap', s.ratios.vsNativeMmap],
        ['vs native pread', s.ratios.vsNativePread],
        ['vs in memory', s.ratios.vsInMemory],
      ],
    )
  );
};

/** Rows of the breakdown table for one strategy: each phase's median, its share, then the total. */
function phaseRows(strategy: string, phases: PhaseBreakdown, lengthBytes: number): string[][] {
  const rows = Object.entries(phases.phases).map(([phase, summary]) => [
    `${strategy}: ${phase}`,
    formatFixed(summary.median * 1000, 1),
    `${formatFixed((100 * summary.median) / phases.total.median, 0)}%`,
  ]);
  rows.push([
    `${strategy}: total`,
    formatFixed(phases.total.median * 1000, 1),
    `${formatFixed(lengthBytes / phases.total.median / 1e9)} GB/s`,
  ]);
  return rows;
}

const breakdownSection: Section = ({ breakdown: b }) => {
  if (b === undefined) return undefined;
  const rows = [...phaseRows('mmap', b.mmap, b.lengthBytes), ...phaseRows('pread', b.pread, b.lengthBytes)];
  const ms = b.runOverhead.seconds.map((s) => s * 1000);
  return (
    `\nWhere one pass over ${formatBytes(b.lengthBytes)} goes (${formatBytes(b.window)} windows, one kernel host, main thread; medians):\n` +
    formatTable(['phase', 'ms', 'share'], rows) +
    'Fixed cost of a run (workers, wasm, journal, locks; a whole brightenFile call on an 8 MiB file): ' +
    `${formatFixed(Math.min(...ms), 0)}–${formatFixed(Math.max(...ms), 0)} ms.\n`
  );
};

const scalingSection: Section = ({ scaling }) => {
  if (scaling === undefined) return undefined;
  const rows = scaling.cases.map((c) => [
    formatBytes(c.sizeBytes ?? 0),
    String(c.runs),
    ...spread(c.gbps),
    c.peakRssBytes === undefined ? '-' : formatFixed(c.peakRssBytes.max / MIB, 0),
    c.processSeconds === undefined ? '-' : formatFixed(summarize(c.processSeconds).median),
  ]);
  return (
    "\nFile size scaling: default options, each run a fresh 'rawbright brighten --json' process (GB/s from its report; " +
    "process time includes Node's start-up):\n" +
    formatTable(['file size', 'runs', ...GBPS_COLUMNS, 'peak RSS MiB (max)', 'process s'], rows)
  );
};

/** The file report's sections, in the order the parts run. */
const FILE_SECTIONS: readonly Section[] = [
  strategiesSection,
  caseSection(
    ({ durable: d }) =>
      d && {
        heading: `Durable runs (fsync every window) on the first ${formatBytes(d.lengthBytes)}:`,
        cases: [...d.cases, d.disk],
        ratios: [['vs disk', d.ratios.vsDisk]],
      },
  ),
  caseSection(
    ({ alignment: a }) =>
      a && {
        heading:
          `The mmap overlay's placement: 2 MiB-congruent with the file offset (default) or ${formatBytes(a.misalignmentBytes)} off, ` +
          `with and without MADV_POPULATE_WRITE, on the first ${formatBytes(a.lengthBytes)}:`,
        cases: a.cases,
      },
  ),
  caseSection(
    ({ windows: w }) =>
      w && { heading: `Window size sweep on the first ${formatBytes(w.lengthBytes)}:`, cases: w.cases },
  ),
  caseSection(
    ({ levers: l }) =>
      l && {
        heading: 'Levers (mmap overlay, journaled, unless said):',
        cases: l.cases,
        ratios: [['vs default', l.ratios.vsBaseline]],
      },
  ),
  caseSection(({ workers: k }) => k && { heading: 'Worker threads:', cases: k.cases }),
  breakdownSection,
  scalingSection,
];

/**
 * Formats a file benchmark result as the tables `rawbright bench file` prints.
 * @param result what `runFileBench` returned
 * @returns the text, newline-terminated
 */
export function formatFileBench(result: FileBenchResult): string {
  const { delta, type, channels } = result.params;
  const out = [
    `File benchmark: ${formatBytes(result.sizeBytes)} file, ${type} ${channels}, delta ±${Math.abs(delta)}; ` +
      `${result.runs} runs per case after one warm-up run (${result.slowRuns} for slow cases); ` +
      'the file is cached (warm) and synced, untimed, between runs.\n',
  ];
  if (result.setup !== undefined) {
    out.push(
      `Setup: file written and synced in ${formatFixed(result.setup.createSeconds)} s, read once (warm) in ${formatFixed(result.setup.warmSeconds)} s.\n`,
    );
  }
  for (const section of FILE_SECTIONS) {
    const text = section(result);
    if (text !== undefined) out.push(text);
  }
  if (result.notes.length > 0) out.push(`\nNotes:\n${result.notes.map((n) => `  ${n}`).join('\n')}\n`);
  out.push('\nRatios are of medians. GB/s = 10^9 bytes per second.\n');
  return out.join('');
}

/**
 * Formats a whole benchmark result: the machine, then each part's tables.
 * @param result what `runBench` returned
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
  if (result.batch !== undefined) parts.push(formatBatchBench(result.batch));
  if (result.startup !== undefined) parts.push(formatStartupBench(result.startup));
  parts.push(`Took ${result.durationSeconds.toFixed(0)} s.\n`);
  return parts.join('\n');
}

const SECONDS_COLUMNS = ['s min', 'median', 'max'];

function processRows(cases: ProcessCase[], ratios: (string | undefined)[]): string[][] {
  return cases.map((c, i) => [
    c.label,
    ...[c.summary.min, c.summary.median, c.summary.max].map((v) => formatFixed(v, 3)),
    ratios[i] ?? '',
  ]);
}

/**
 * Formats the batch part: one rawbright command over every file against the native reference per file.
 * @param result what `runBatchBench` returned
 */
function formatBatchBench(result: BatchBenchResult): string {
  const cases = result.reference === undefined ? [result.rawbright] : [result.rawbright, result.reference];
  const table = formatTable(
    ['case', ...SECONDS_COLUMNS, 'speed vs native'],
    processRows(cases, [
      formatRatio(result.vsReference),
      result.reference === undefined ? undefined : '1.00x',
    ]),
  );
  const notes = result.notes
    .map(
      (n) => `  ${n}
`,
    )
    .join('');
  return (
    `Batch: ${result.files} files of ${formatBytes(result.fileBytes)}, warm, whole processes, ` +
    `${result.runs} run${result.runs === 1 ? '' : 's'} alternated (rawbright ${formatFixed(result.gbps)} GB/s)
${table}${notes}`
  );
}

/**
 * Formats the start-up part: rawbright on one small file against bare node.
 * @param result what `runStartupBench` returned
 */
function formatStartupBench(result: StartupBenchResult): string {
  const table = formatTable(
    ['case', ...SECONDS_COLUMNS, 'time vs node'],
    processRows([result.rawbright, result.node], [formatRatio(result.vsNode), '1.00x']),
  );
  return `Start-up: one ${formatBytes(result.fileBytes)} file, whole processes, ${result.runs} run${result.runs === 1 ? '' : 's'} alternated
${table}`;
}
