/**
 * The benchmark charts: a few focused Vega-Lite charts built from a {@link BenchResult}, each rendered
 * headless to SVG with Vega's View (`renderer: 'none'` + `toSVG()`) and turned into PNG by sharp.
 *
 * Each chart is one column {@link CHART_WIDTH} pixels wide, so a README shows it at about its own size
 * (a repository page shows images at most ~830 px wide): the kernels; the file strategies against the
 * native C++ reference; every timed run behind those medians; the window sweep and the overlay's
 * placement; file-size scaling; and the remaining parts (levers, workers, durable runs, the breakdown).
 * Bars show the median with a min–max whisker, lines a min–max band: one number from a shared machine
 * says little.
 */
import { writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import sharp from 'sharp';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { RawbrightError } from '../errors.js';
import { formatBytes } from '../format.js';
import { KERNEL_NAMES } from '../kernels/types.js';
import type { FileCase } from './file-bench.js';
import { KERNEL_BENCH_ENTRIES } from './kernel-bench.js';
import { machineLine } from './machine.js';
import type { ProcessCase } from './process-bench.js';
import { gbps, type Summary } from './stats.js';
import type { BenchResult } from './suite.js';

const MIB = 1024 * 1024;
/** Every chart's width in SVG pixels, labels included (padding aside). */
export const CHART_WIDTH = 760;
/** PNG pixels per SVG pixel: 2 keeps text sharp on high-density screens. */
const PNG_SCALE = 2;
const FONT_SIZE = 11;
/** The plot width of a panel in a side-by-side pair: room for two y axes and the gap between. */
const HALF_WIDTH = (CHART_WIDTH - 2 * 55 - 30) / 2;
const TITLE_FONT_SIZE = 15;
const PANEL_TITLE_FONT_SIZE = 13;

/** Bar colours by what a bar is, the same in every chart. */
const GROUP_COLOURS: Record<string, string> = {
  rawbright: '#4c78a8',
  'rawbright (default)': '#1f3b73',
  'native C++ reference': '#f58518',
  'in memory (limit)': '#54a24b',
  'disk (limit)': '#b279a2',
  'bare node': '#54a24b',
  kernel: '#4c78a8',
  'memcpy (bytes copied)': '#9d755d',
};

// DejaVu Sans advance widths in thousandths of an em, characters 32 to 126, read from the font's
// hmtx table: the font the PNG renderer (librsvg, through fontconfig) draws these charts in.
// biome-ignore format: a table
const DEJAVU_REGULAR = [
  318,401,460,838,636,950,780,275,390,390,500,838,318,361,318,337,636,636,636,636,636,636,636,636,636,636,337,337,
  838,838,838,531,1000,684,686,698,770,632,575,775,752,295,295,656,557,863,748,787,603,787,695,635,611,732,684,989,
  685,611,685,390,337,390,838,500,500,613,635,550,635,615,352,635,634,278,278,579,278,974,634,612,635,635,411,521,
  392,634,592,818,592,592,525,636,337,636,838,
];
// biome-ignore format: a table
const DEJAVU_BOLD = [
  348,456,521,838,696,1002,872,306,457,457,523,838,380,415,380,365,696,696,696,696,696,696,696,696,696,696,400,400,
  838,838,838,580,1000,774,762,734,830,683,683,821,837,372,372,775,637,995,837,850,733,850,770,720,682,812,774,1103,
  771,724,725,457,365,457,838,500,500,675,716,593,716,678,435,716,712,343,343,665,343,1042,712,687,716,716,493,595,
  478,712,652,924,645,652,582,712,365,712,838,
];
/** The few non-ASCII characters the charts use (the same in both weights). */
const DEJAVU_OTHER: Record<string, number> = { '—': 1000, '–': 500, '×': 838, '±': 838, '·': 318, '…': 1000 };

function charWidth(ch: string, bold: boolean): number {
  const code = ch.codePointAt(0) ?? 32;
  const table = bold ? DEJAVU_BOLD : DEJAVU_REGULAR;
  return (code >= 32 && code <= 126 ? table[code - 32] : (DEJAVU_OTHER[ch] ?? 1000)) / 1000;
}

/**
 * The width of a text in the charts' font, in pixels. Headless Vega has no canvas to measure text
 * and guesses 0.8 em per character, which misplaces labels and clips titles; Vega lets the measure
 * be replaced (as vl-convert does), and this one knows the font the PNG is drawn in.
 * @param text the text
 * @param fontSize pixels [11]
 * @param bold bold weight [false]
 * @returns pixels
 */
export function textWidth(text: string, fontSize = FONT_SIZE, bold = false): number {
  let width = 0;
  for (const ch of text) width += charWidth(ch, bold);
  return width * fontSize;
}

function measureText(
  item: { fontSize?: number; fontWeight?: string | number; limit?: number },
  text: unknown,
): number {
  const raw = text === null || text === undefined ? '' : String(text);
  const bold = /bold|[6-9]00/.test(String(item.fontWeight ?? ''));
  const width = textWidth(raw, item.fontSize ?? FONT_SIZE, bold);
  return item.limit !== undefined && item.limit > 0 ? Math.min(width, item.limit) : width;
}
// vega's typings leave textMetrics out; it is exported (from vega-scenegraph) all the same.
(vega as unknown as { textMetrics: { width: typeof measureText } }).textMetrics.width = measureText;

/** Axis labels for sizes given in MiB: `256 MiB`, `1 GiB`. */
const SIZE_LABEL =
  "datum.value >= 1024 ? format(datum.value / 1024, '~g') + ' GiB' : format(datum.value, '~g') + ' MiB'";

const spreadOf = (s: Summary) => ({ median: s.median, min: s.min, max: s.max });

// Vega-Lite's own types are strict unions; the panels are assembled as plain objects and the
// top-level spec is checked by compile().
type Panel = Record<string, unknown>;

interface BarRow {
  label: string;
  group: string;
  median: number;
  min: number;
  max: number;
  /** The text after the whisker [the median]. */
  text?: string;
}

interface PointRow {
  x: number;
  series: string;
  median: number;
  min: number;
  max: number;
}

/**
 * How a panel is laid out in its chart. Stacked panels share one y-label column: Vega aligns their
 * plots, so a panel with shorter labels would otherwise leave its plot too wide for the chart.
 */
interface Layout {
  /** The y-label column's width in pixels [the panel's own widest label]. */
  labelColumn?: number;
}

/**
 * A bar panel's y axis and plot width: label column plus plot make {@link CHART_WIDTH}.
 * @returns the plot width, and the y axis (its `minExtent` is the label column, read back by {@link buildCharts})
 */
function yLabelLayout(labels: string[], layout: Layout) {
  const labelColumn = Math.round(
    layout.labelColumn ?? Math.max(0, ...labels.map((label) => textWidth(label))) + 12,
  );
  return {
    width: CHART_WIDTH - labelColumn,
    axis: { labelLimit: CHART_WIDTH, minExtent: labelColumn, maxExtent: labelColumn },
  };
}

/** A legend under the plot, in as many columns as fit in `width` (Vega sizes each column to its widest entry). */
function bottomLegend(labels: string[], width: number) {
  const entry = (label: string) => textWidth(label) + 36;
  let columns = labels.length;
  const fits = (n: number) => {
    let total = 0;
    for (let column = 0; column < n; column++) {
      total += Math.max(...labels.filter((_, i) => i % n === column).map(entry));
    }
    return total <= width;
  };
  while (columns > 1 && !fits(columns)) columns--;
  return { orient: 'bottom', direction: 'horizontal', columns, labelLimit: width };
}

/**
 * The x domain's upper end that leaves room right of each bar's whisker for its text.
 * @param rows the bars, each with the text written after its whisker
 * @param width the plot width in pixels
 */
function domainWithText(rows: { max: number; text: string }[], width: number): number {
  return Math.max(
    ...rows.map((r) => {
      const free = width - textWidth(r.text, FONT_SIZE - 1) - 10;
      return free > width / 4 ? (r.max * width) / free : r.max * 4;
    }),
  );
}

function colourScale(groups: string[]) {
  return { domain: groups, range: groups.map((g) => GROUP_COLOURS[g] ?? GROUP_COLOURS.rawbright) };
}

/** Horizontal bars (median) with min–max whiskers and the median written after each whisker. */
function barPanel(title: string, rows: BarRow[], layout: Layout, unit = 'GB/s'): Panel {
  const groups = [...new Set(rows.map((r) => r.group))];
  const { width, axis } = yLabelLayout(
    rows.map((r) => r.label),
    layout,
  );
  const values = rows.map((r) => ({ ...r, text: r.text ?? r.median.toFixed(2) }));
  const x = {
    type: 'quantitative',
    title: `${unit}: median, whisker min–max`,
    scale: { domain: [0, domainWithText(values, width)], nice: false },
    axis: { tickCount: Math.max(3, Math.floor(width / 60)) },
  };
  return {
    title,
    width,
    height: { step: 20 },
    data: { values },
    encoding: { y: { field: 'label', type: 'nominal', sort: null, title: null, axis } },
    layer: [
      {
        mark: { type: 'bar', height: { band: 0.75 } },
        encoding: {
          x: { ...x, field: 'median' },
          color: {
            field: 'group',
            type: 'nominal',
            title: null,
            scale: colourScale(groups),
            legend: groups.length > 1 ? bottomLegend(groups, width) : null,
          },
        },
      },
      {
        mark: { type: 'rule', color: '#333' },
        encoding: { x: { ...x, field: 'min' }, x2: { field: 'max' } },
      },
      {
        mark: { type: 'text', align: 'left', dx: 4, fontSize: FONT_SIZE - 1 },
        encoding: { x: { ...x, field: 'max' }, text: { field: 'text' } },
      },
    ],
  };
}

function linePanel(
  title: string,
  rows: PointRow[],
  xTitle: string,
  yTitle: string,
  options: { logY?: boolean; width?: number } = {},
): Panel {
  const x = {
    field: 'x',
    type: 'quantitative',
    title: xTitle,
    scale: { type: 'log', base: 2, nice: false },
    axis: { labelExpr: SIZE_LABEL, values: [...new Set(rows.map((r) => r.x))] },
  };
  const y = { type: 'quantitative', title: yTitle, scale: options.logY ? { type: 'log' } : { zero: true } };
  const series = [...new Set(rows.map((r) => r.series))];
  return {
    title,
    width: options.width ?? CHART_WIDTH - 60,
    height: 180,
    data: { values: rows.map((row) => ({ ...row, band: row.series })) },
    layer: [
      {
        mark: { type: 'area', opacity: 0.15 },
        encoding: {
          x,
          y: { ...y, field: 'min' },
          y2: { field: 'max' },
          // Its own copy of the series (same values, same order, so the same colours) without a legend:
          // a shared legend would draw the pale band as every symbol.
          color: { field: 'band', type: 'nominal', sort: null, legend: null },
        },
      },
      {
        mark: { type: 'line', point: true },
        encoding: {
          x,
          y: { ...y, field: 'median' },
          color: {
            field: 'series',
            type: 'nominal',
            title: null,
            sort: null,
            legend: series.length > 1 ? bottomLegend(series, options.width ?? CHART_WIDTH - 60) : null,
          },
        },
      },
    ],
    resolve: { scale: { color: 'independent' } },
  };
}

const caseBar = (c: FileCase, group: string, text?: string): BarRow => ({
  label: c.label,
  group,
  ...spreadOf(c.gbps),
  ...(text !== undefined && { text }),
});

const times = (ratio: number | undefined, of: string) =>
  ratio === undefined ? '' : `  (${ratio >= 10 ? ratio.toFixed(1) : ratio.toFixed(2)}× ${of})`;

function kernelPanel(result: BenchResult, layout: Layout = {}): Panel | undefined {
  const k = result.kernels;
  if (k === undefined) return undefined;
  const rows = KERNEL_BENCH_ENTRIES.map((entry) => ({
    label: entry === 'memcpy' ? 'memcpy (bytes copied)' : entry,
    group:
      entry === 'memcpy' ? 'memcpy (bytes copied)' : entry === 'native' ? 'native C++ reference' : 'kernel',
    ...spreadOf(k.kernels[entry].gbps),
    text: `${k.kernels[entry].gbps.median.toFixed(2)}${entry === 'native' ? '' : times(k.ratios.vsNative[entry], 'native')}`,
  }));
  return barPanel(
    `Kernels on a ${formatBytes(k.sizeBytes)} buffer in memory (${k.params.type} ${k.params.channels}, native path ${k.nativePath})`,
    rows,
    layout,
  );
}

/** The adjust operations: every kernel per operation, with its ratio to js (where WebAssembly wins, by how much). */
function operationsPanel(result: BenchResult, layout: Layout = {}): Panel | undefined {
  const operations = result.kernels?.operations;
  if (operations === undefined || operations.length === 0) return undefined;
  const rows = operations.flatMap((o) =>
    KERNEL_NAMES.map((name) => ({
      label: `${o.label} · ${name}`,
      group: name === 'native' ? 'native C++ reference' : 'kernel',
      ...spreadOf(o.kernels[name].gbps),
      text: `${o.kernels[name].gbps.median.toFixed(2)}${name === 'js' ? '' : times(o.ratios.vsJs[name], 'js')}`,
    })),
  );
  return barPanel(
    'Adjust operations per kernel (uint16, 4 bands, alpha kept): add as brighten, the others by table lookup',
    rows,
    layout,
  );
}

/** The strategies' cases, the references and the in-memory limit, each with its bar group. */
function strategyBars(result: BenchResult): { c: FileCase; group: string }[] | undefined {
  const file = result.file;
  const s = file?.strategies;
  if (file === undefined || s === undefined) return undefined;
  return [
    ...s.cases.map((c) => ({ c, group: c.id === 'mmap' ? 'rawbright (default)' : 'rawbright' })),
    ...s.references.map((c) => ({ c, group: 'native C++ reference' })),
    { c: file.inMemory, group: 'in memory (limit)' },
  ];
}

function strategiesPanel(result: BenchResult, layout: Layout = {}): Panel | undefined {
  const bars = strategyBars(result);
  const file = result.file;
  if (bars === undefined || file?.strategies === undefined) return undefined;
  const vsNative = file.strategies.ratios.vsNativeMmap;
  const rows = bars.map(({ c, group }) =>
    caseBar(
      c,
      group,
      `${c.gbps.median.toFixed(2)}${c.id === 'native-mmap' ? '' : times(vsNative[c.id], 'C++ mmap')}`,
    ),
  );
  return barPanel(
    `Brightening a warm ${formatBytes(file.sizeBytes)} file: rawbright vs the native C++ program`,
    rows,
    layout,
  );
}

/** Every timed run of the strategies as a dot, and each case's median as a tick. */
function runsPanel(result: BenchResult, layout: Layout = {}): Panel | undefined {
  const bars = strategyBars(result);
  if (bars === undefined || result.file === undefined) return undefined;
  const runs = bars.flatMap(({ c, group }) =>
    c.seconds.map((seconds, index) => ({
      label: c.label,
      group,
      run: index + 1,
      gbps: gbps(c.bytes, seconds),
    })),
  );
  const medians = bars.map(({ c, group }) => ({ label: c.label, group, gbps: c.gbps.median }));
  const groups = [...new Set(bars.map((b) => b.group))];
  const x = {
    field: 'gbps',
    type: 'quantitative',
    title: 'GB/s of each timed run (dots) and the median (tick)',
  };
  const { width, axis } = yLabelLayout(
    bars.map((b) => b.c.label),
    layout,
  );
  return {
    title: `Every timed run on the warm ${formatBytes(result.file.sizeBytes)} file (${result.file.runs} per case, interleaved)`,
    width,
    height: { step: 20 },
    encoding: { y: { field: 'label', type: 'nominal', sort: null, title: null, axis } },
    layer: [
      {
        data: { values: runs },
        mark: { type: 'circle', size: 55, opacity: 0.75 },
        encoding: {
          x,
          color: {
            field: 'group',
            type: 'nominal',
            title: null,
            scale: colourScale(groups),
            legend: bottomLegend(groups, width),
          },
          tooltip: [{ field: 'run' }, { field: 'gbps', format: '.2f' }],
        },
      },
      {
        data: { values: medians },
        mark: { type: 'tick', color: '#222', thickness: 2, size: 14 },
        encoding: { x },
      },
    ],
  };
}

/** A line panel's plot width: the chart's, or the stacked bar panels' when it shares a chart with them. */
const lineWidth = (layout: Layout) => CHART_WIDTH - (layout.labelColumn ?? 60);

function windowsPanel(result: BenchResult, layout: Layout = {}): Panel | undefined {
  const w = result.file?.windows;
  if (w === undefined || w.cases.length === 0) return undefined;
  const rows: PointRow[] = w.cases.map((c) => ({
    x: (c.window ?? 0) / MIB,
    series: c.id.startsWith('mmap') ? 'mmap overlay, journaled' : 'pread/pwrite, journaled',
    ...spreadOf(c.gbps),
  }));
  return linePanel(`Window size sweep, ${formatBytes(w.lengthBytes)} in place`, rows, 'window', 'GB/s', {
    width: lineWidth(layout),
  });
}

function alignmentPanel(result: BenchResult, layout: Layout = {}): Panel | undefined {
  const a = result.file?.alignment;
  // The matrix is empty when every alignment window is longer than the part's length.
  if (a === undefined || a.cases.length === 0) return undefined;
  const title = `mmap overlay: arena alignment × MADV_POPULATE_WRITE, ${formatBytes(a.lengthBytes)}`;
  if (new Set(a.cases.map((c) => c.window)).size === 1) {
    // One window (the quick run): four bars say more than four points on one x.
    return barPanel(
      title,
      a.cases.map((c) =>
        caseBar(
          c,
          c.id.startsWith('aligned-') && !c.id.includes('no-populate') ? 'rawbright (default)' : 'rawbright',
        ),
      ),
      layout,
    );
  }
  const rows: PointRow[] = a.cases.map((c) => {
    const aligned = c.id.startsWith('aligned');
    const populate = !c.id.includes('no-populate');
    return {
      x: (c.window ?? 0) / MIB,
      series: `${aligned ? 'aligned to 2 MiB' : `${formatBytes(a.misalignmentBytes)} off`}, ${populate ? 'populate' : 'no populate'}`,
      ...spreadOf(c.gbps),
    };
  });
  return linePanel(title, rows, 'window', 'GB/s (log scale)', { logY: true, width: lineWidth(layout) });
}

function scalingSpeedPanel(result: BenchResult): Panel | undefined {
  const s = result.file?.scaling;
  if (s === undefined) return undefined;
  const rows = s.cases.map((c) => ({
    x: (c.sizeBytes ?? 0) / MIB,
    series: 'default options',
    ...spreadOf(c.gbps),
  }));
  return linePanel('Throughput (a fresh process per run)', rows, 'file size', 'GB/s', { width: HALF_WIDTH });
}

function scalingRssPanel(result: BenchResult): Panel | undefined {
  const s = result.file?.scaling;
  if (s === undefined || s.cases.some((c) => c.peakRssBytes === undefined)) return undefined;
  const rows = s.cases.map((c) => ({
    x: (c.sizeBytes ?? 0) / MIB,
    series: 'peak RSS of the brighten process',
    median: c.peakRssBytes!.median / MIB,
    min: c.peakRssBytes!.min / MIB,
    max: c.peakRssBytes!.max / MIB,
  }));
  return linePanel('Peak RSS of the brighten process', rows, 'file size', 'MiB', { width: HALF_WIDTH });
}

function leversPanel(result: BenchResult, layout: Layout = {}): Panel | undefined {
  const levers = result.file?.levers;
  if (levers === undefined || result.file === undefined) return undefined;
  const rows = levers.cases.map((c) =>
    caseBar(
      c,
      c.id === 'baseline' ? 'rawbright (default)' : 'rawbright',
      `${c.gbps.median.toFixed(2)}${c.id === 'baseline' ? '' : times(levers.ratios.vsBaseline[c.id], 'default')}`,
    ),
  );
  return barPanel(`Levers on the ${formatBytes(result.file.sizeBytes)} file`, rows, layout);
}

function workersPanel(result: BenchResult, layout: Layout = {}): Panel | undefined {
  const workers = result.file?.workers;
  if (workers === undefined) return undefined;
  return barPanel(
    'Worker threads',
    workers.cases.map((c) => caseBar(c, 'rawbright')),
    layout,
  );
}

function durablePanel(result: BenchResult, layout: Layout = {}): Panel | undefined {
  const durable = result.file?.durable;
  if (durable === undefined) return undefined;
  const rows = [
    ...durable.cases.map((c) =>
      caseBar(c, 'rawbright', `${c.gbps.median.toFixed(2)}${times(durable.ratios.vsDisk[c.id], 'disk')}`),
    ),
    caseBar(durable.disk, 'disk (limit)'),
  ];
  return barPanel(`Durable runs (fsync), ${formatBytes(durable.lengthBytes)}`, rows, layout);
}

function breakdownPanel(result: BenchResult, layout: Layout = {}): Panel | undefined {
  const b = result.file?.breakdown;
  if (b === undefined) return undefined;
  const strategies = ['mmap overlay, journaled kernel', 'pread/pwrite'];
  const rows = (['mmap', 'pread'] as const).flatMap((strategy, index) =>
    Object.entries(b[strategy].phases).map(([phase, s], order) => ({
      strategy: strategies[index],
      phase: `${strategy}: ${phase}`,
      order,
      ms: s.median * 1000,
    })),
  );
  const { width, axis } = yLabelLayout(strategies, layout);
  return {
    title: `Where a pass over ${formatBytes(b.lengthBytes)} goes (${formatBytes(b.window)} windows, medians)`,
    width,
    height: { step: 26 },
    data: { values: rows },
    mark: 'bar',
    encoding: {
      y: { field: 'strategy', type: 'nominal', title: null, sort: null, axis },
      x: { field: 'ms', type: 'quantitative', title: 'milliseconds', stack: 'zero' },
      color: {
        field: 'phase',
        type: 'nominal',
        title: null,
        sort: null,
        legend: bottomLegend([...new Set(rows.map((r) => r.phase))], width),
      },
      order: { field: 'order' },
    },
  };
}

/** One chart: a name (the file's suffix), a headline, and the panels it stacks. */
interface ChartDef {
  name: string;
  /** The headline when the chart has several panels (a single panel's own title is the headline). */
  title: string;
  /** Panels side by side rather than stacked (they must be made {@link HALF_WIDTH} wide). */
  sideBySide?: boolean;
  panels: ((result: BenchResult, layout?: Layout) => Panel | undefined)[];
}

/** A whole-process case as a bar of seconds. */
function processBar(c: ProcessCase, group: string, text?: string): BarRow {
  return { label: c.label, group, ...c.summary, text: text ?? `${c.summary.median.toFixed(3)} s` };
}

function batchPanel(result: BenchResult, layout: Layout = {}): Panel | undefined {
  const batch = result.batch;
  if (batch === undefined) return undefined;
  const rows = [
    processBar(
      batch.rawbright,
      'rawbright',
      batch.vsReference === undefined
        ? undefined
        : `${batch.rawbright.summary.median.toFixed(3)} s (${batch.vsReference.toFixed(2)}x native speed)`,
    ),
    ...(batch.reference === undefined ? [] : [processBar(batch.reference, 'native C++ reference')]),
  ];
  return barPanel(
    `Batch: ${batch.files} files of ${formatBytes(batch.fileBytes)}, whole processes`,
    rows,
    layout,
    'seconds',
  );
}

function startupPanel(result: BenchResult, layout: Layout = {}): Panel | undefined {
  const startup = result.startup;
  if (startup === undefined) return undefined;
  const rows = [
    processBar(
      startup.rawbright,
      'rawbright',
      `${startup.rawbright.summary.median.toFixed(3)} s (${startup.vsNode.toFixed(2)}x node)`,
    ),
    processBar(startup.node, 'bare node'),
  ];
  return barPanel(`Start-up: one ${formatBytes(startup.fileBytes)} file`, rows, layout, 'seconds');
}

/** The charts, in the order they are written; the first one present goes to the file named. */
export const CHARTS: readonly ChartDef[] = [
  { name: 'kernels', title: 'Kernels', panels: [kernelPanel, operationsPanel] },
  { name: 'strategies', title: 'Strategies', panels: [strategiesPanel] },
  { name: 'runs', title: 'Every run', panels: [runsPanel] },
  {
    name: 'windows',
    title: "Window size and the overlay's placement",
    panels: [windowsPanel, alignmentPanel],
  },
  {
    name: 'scaling',
    title: 'File size scaling',
    sideBySide: true,
    panels: [scalingSpeedPanel, scalingRssPanel],
  },
  {
    name: 'details',
    title: 'The other parts of the file benchmark',
    panels: [leversPanel, workersPanel, durablePanel, breakdownPanel],
  },
  { name: 'process', title: 'Whole processes: a batch and start-up', panels: [batchPanel, startupPanel] },
];

/** The y-label column a bar panel was laid out with (see {@link yLabelLayout}), if it has one. */
function labelColumnOf(panel: Panel): number | undefined {
  const y = (panel.encoding as { y?: { axis?: { minExtent?: number } } } | undefined)?.y;
  return y?.axis?.minExtent;
}

/** A chart ready to render. */
export interface ChartSpec {
  name: string;
  spec: TopLevelSpec;
}

/** The two subtitle lines every chart carries: what ran, where, and with what. */
function contextLines(result: BenchResult): string[] {
  const m = result.machine;
  const load =
    `1-min load ${m.loadAverage.start.toFixed(2)}` +
    (m.loadAverage.end === undefined ? '' : `–${m.loadAverage.end.toFixed(2)}`);
  return [
    `rawbright bench${result.quick ? ' --quick' : ''}, ${result.date.slice(0, 10)} · ${machineLine(m)}`,
    `Node ${result.versions.node}, rawbright ${result.versions.rawbright}; ${load}; GB/s = 10^9 bytes/s`,
  ];
}

function chartSpec(chart: ChartDef, panels: Panel[], result: BenchResult): TopLevelSpec {
  const single = panels.length === 1;
  const headline = single ? String(panels[0].title) : chart.title;
  const { title: _, ...firstPanel } = panels[0];
  const body = single
    ? firstPanel
    : chart.sideBySide
      ? { hconcat: panels, spacing: 30 }
      : { vconcat: panels, spacing: 32 };
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...body,
    // After the body: a single panel's own (emptied) title must not replace the chart's.
    title: {
      text: headline,
      subtitle: contextLines(result),
      fontSize: TITLE_FONT_SIZE,
      subtitleFontSize: FONT_SIZE,
      subtitleColor: '#555',
      anchor: 'start',
      offset: 14,
    },
    background: 'white',
    padding: 16,
    resolve: { scale: { color: 'independent' } },
    config: {
      font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
      view: { stroke: null },
      axis: { labelFontSize: FONT_SIZE, titleFontSize: FONT_SIZE, gridColor: '#e6e6e6' },
      legend: { labelFontSize: FONT_SIZE },
      title: { fontSize: PANEL_TITLE_FONT_SIZE, anchor: 'start' },
    },
  };
  return spec as unknown as TopLevelSpec;
}

/**
 * Builds the Vega-Lite specifications of the charts the result has figures for.
 * @param result a benchmark result (any subset of the parts)
 * @returns one specification per chart, in {@link CHARTS} order
 * @throws {RawbrightError} `ERR_NOTHING_TO_CHART` when the result has no figures
 */
export function buildCharts(result: BenchResult): ChartSpec[] {
  const charts = CHARTS.flatMap((chart) => {
    const build = (layout: Layout) =>
      chart.panels.map((panel) => panel(result, layout)).filter((p): p is Panel => p !== undefined);
    let panels = build({});
    if (panels.length > 1 && !chart.sideBySide) {
      // Stacked: build again with the widest label column of them all, so every plot has the same width.
      const columns = panels.map(labelColumnOf).filter((c): c is number => c !== undefined);
      if (columns.length > 0) panels = build({ labelColumn: Math.max(...columns) });
    }
    return panels.length === 0 ? [] : [{ name: chart.name, spec: chartSpec(chart, panels, result) }];
  });
  if (charts.length === 0)
    throw new RawbrightError('ERR_NOTHING_TO_CHART', 'the result has no figures to chart');
  return charts;
}

/**
 * Renders one chart as SVG text (Vega headless: no browser, no canvas).
 * @param spec a chart from {@link buildCharts}
 * @returns the SVG document
 */
export async function renderChartSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Where each chart goes: the first to `file`, each other one beside it as `<name>-<chart><ext>`.
 * @param file the path asked for, e.g. `docs/bench.png`
 * @param names the charts' names, in order
 * @returns one path per name, e.g. `docs/bench.png`, `docs/bench-strategies.png`
 */
export function chartPaths(file: string, names: readonly string[]): string[] {
  const ext = extname(file);
  const stem = file.slice(0, file.length - ext.length);
  return names.map((name, index) => (index === 0 ? file : `${stem}-${name}${ext}`));
}

/**
 * Writes the charts as `.svg` or `.png` (chosen by the file's extension): the first chart to `file`,
 * the others beside it (see {@link chartPaths}).
 * @param file the path, ending in .svg or .png
 * @param result a benchmark result
 * @returns the paths written, in order
 * @throws {RawbrightError} `ERR_USAGE` for another extension, `ERR_NOTHING_TO_CHART` for a result without figures
 */
export async function writeCharts(file: string, result: BenchResult): Promise<string[]> {
  const format = extname(file).toLowerCase();
  if (format !== '.svg' && format !== '.png') {
    throw new RawbrightError('ERR_USAGE', `the chart file must end in .png or .svg, not ${file}`, {
      path: file,
    });
  }
  const charts = buildCharts(result);
  const paths = chartPaths(
    file,
    charts.map((c) => c.name),
  );
  for (const [index, chart] of charts.entries()) {
    const svg = await renderChartSvg(chart.spec);
    if (format === '.svg') {
      writeFileSync(paths[index], svg);
      continue;
    }
    const png = await sharp(Buffer.from(svg), { density: 72 * PNG_SCALE })
      .flatten({ background: '#ffffff' })
      .png({ compressionLevel: 9 })
      .toBuffer();
    writeFileSync(paths[index], png);
  }
  return paths;
}
