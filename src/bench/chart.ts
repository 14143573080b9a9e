/**
 * The benchmark chart: a Vega-Lite specification built from a {@link BenchResult} (bars for kernels,
 * strategies, levers, durable runs and workers; lines for the window sweep, the alignment matrix and
 * the file-size scaling), compiled to Vega, rendered headless to SVG with Vega's View
 * (`renderer: 'none'` + `toSVG()`), and turned into PNG by sharp. Every panel shows the median with a
 * min–max whisker or band, because one number from a shared machine says little.
 */
import { writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import sharp from 'sharp';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { RawbrightError } from '../errors.js';
import type { FileCase } from './file-bench.js';
import { KERNEL_BENCH_ENTRIES } from './kernel-bench.js';
import { machineLine } from './machine.js';
import type { Summary } from './stats.js';
import type { BenchResult } from './suite.js';

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;
const PANEL_WIDTH = 430;
/** PNG pixels per SVG pixel: 2 keeps text sharp on high-density screens. */
const PNG_SCALE = 2;

/** Bar colours by what a bar is, the same in every panel. */
const GROUP_COLOURS: Record<string, string> = {
  rawbright: '#4c78a8',
  'rawbright (default)': '#1f3b73',
  'native C++ reference': '#f58518',
  'in memory (limit)': '#54a24b',
  'disk (limit)': '#b279a2',
  kernel: '#4c78a8',
  'memcpy (bytes copied)': '#9d755d',
};

interface BarRow {
  label: string;
  group: string;
  median: number;
  min: number;
  max: number;
}

interface PointRow {
  x: number;
  series: string;
  median: number;
  min: number;
  max: number;
}

/** DejaVu Sans advance widths in em, by character class: what the PNG renderer (librsvg) will draw. */
function emWidth(ch: string): number {
  if (/[il.,:;|!'\s]/.test(ch)) return 0.3;
  if (/[fjrt()[\]\-/]/.test(ch)) return 0.39;
  if (/[mwMW×]/.test(ch)) return 0.9;
  if (/[A-Z]/.test(ch)) return 0.7;
  if (/[0-9]/.test(ch)) return 0.64;
  return 0.6;
}

/**
 * Headless Vega has no canvas to measure text and guesses 0.8 em per character, which truncates
 * labels and pads every axis. Vega supports replacing the measure (as vl-convert does); this one
 * knows the widths of the font the PNG is drawn in.
 */
function measureText(
  item: { fontSize?: number; fontWeight?: string | number; limit?: number },
  text: unknown,
): number {
  const raw = text === null || text === undefined ? '' : String(text).trim();
  const size = item.fontSize ?? 11;
  const bold = /bold|[6-9]00/.test(String(item.fontWeight ?? ''));
  let width = 0;
  for (const ch of raw) width += emWidth(ch);
  width *= size * (bold ? 1.08 : 1);
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

function barPanel(title: string, rows: BarRow[], unit = 'GB/s'): Panel {
  const groups = [...new Set(rows.map((r) => r.group))];
  return {
    title,
    width: PANEL_WIDTH,
    height: { step: 18 },
    data: { values: rows },
    encoding: {
      y: { field: 'label', type: 'nominal', sort: null, title: null, axis: { labelLimit: 400 } },
    },
    layer: [
      {
        mark: { type: 'bar', height: { band: 0.75 } },
        encoding: {
          x: { field: 'median', type: 'quantitative', title: `${unit}: median, whisker min–max` },
          color: {
            field: 'group',
            type: 'nominal',
            title: null,
            scale: { domain: groups, range: groups.map((g) => GROUP_COLOURS[g] ?? '#4c78a8') },
            legend:
              groups.length > 1
                ? { orient: 'bottom', direction: 'horizontal', columns: 2, labelLimit: 300 }
                : null,
          },
        },
      },
      {
        mark: { type: 'rule', color: '#333' },
        encoding: { x: { field: 'min', type: 'quantitative', axis: null }, x2: { field: 'max' } },
      },
      {
        mark: { type: 'text', align: 'left', dx: 4, fontSize: 10 },
        encoding: {
          x: { field: 'max', type: 'quantitative', axis: null },
          text: { field: 'median', type: 'quantitative', format: '.2f' },
        },
      },
    ],
  };
}

function linePanel(
  title: string,
  rows: PointRow[],
  xTitle: string,
  yTitle: string,
  options: { logY?: boolean; xValues?: number[]; rule?: { y: number; label: string } } = {},
): Panel {
  const x = {
    field: 'x',
    type: 'quantitative',
    title: xTitle,
    scale: { type: 'log', base: 2, nice: false },
    axis: { labelExpr: SIZE_LABEL, ...(options.xValues !== undefined && { values: options.xValues }) },
  };
  const y = { type: 'quantitative', scale: options.logY ? { type: 'log' } : { zero: true } };
  const layers: Panel[] = [
    {
      mark: { type: 'area', opacity: 0.15 },
      encoding: {
        x,
        y: { ...y, field: 'min', title: yTitle },
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
        y: { ...y, field: 'median', title: yTitle },
        color: {
          field: 'series',
          type: 'nominal',
          title: null,
          sort: null,
          legend: {
            orient: 'bottom',
            direction: 'horizontal',
            columns: 2,
            labelLimit: 300,
          },
        },
      },
    },
  ];
  if (options.rule !== undefined) {
    layers.push({
      data: { values: [options.rule] },
      layer: [
        {
          mark: { type: 'rule', strokeDash: [4, 3], color: '#c00' },
          encoding: { y: { field: 'y', type: 'quantitative' } },
        },
        {
          mark: { type: 'text', align: 'left', dx: 4, dy: -6, color: '#c00', fontSize: 10, x: 0 },
          encoding: { y: { field: 'y', type: 'quantitative' }, text: { field: 'label' } },
        },
      ],
    });
  }
  return {
    title,
    width: PANEL_WIDTH,
    height: 220,
    data: { values: rows.map((row) => ({ ...row, band: row.series })) },
    layer: layers,
    resolve: { scale: { color: 'independent' } },
  };
}

const caseBar = (c: FileCase, group: string, label = c.label): BarRow => ({
  label,
  group,
  ...spreadOf(c.gbps),
});

function kernelPanel(result: BenchResult): Panel | undefined {
  const k = result.kernels;
  if (k === undefined) return undefined;
  const rows = KERNEL_BENCH_ENTRIES.map((entry) => ({
    label: entry === 'memcpy' ? 'memcpy (bytes copied)' : entry,
    group:
      entry === 'memcpy' ? 'memcpy (bytes copied)' : entry === 'native' ? 'native C++ reference' : 'kernel',
    ...spreadOf(k.kernels[entry].gbps),
  }));
  return barPanel(`Kernels on a ${k.sizeBytes / MIB} MiB buffer in memory`, rows);
}

function strategiesPanel(result: BenchResult): Panel | undefined {
  const s = result.file?.strategies;
  if (s === undefined || result.file === undefined) return undefined;
  const rows = [
    ...s.cases.map((c) => caseBar(c, c.id === 'mmap' ? 'rawbright (default)' : 'rawbright')),
    ...s.references.map((c) => caseBar(c, 'native C++ reference')),
    caseBar(result.file.inMemory, 'in memory (limit)'),
  ];
  return barPanel(`Strategies on a warm ${formatSize(result.file.sizeBytes)} file`, rows);
}

function leversPanel(result: BenchResult): Panel | undefined {
  const levers = result.file?.levers;
  if (levers === undefined || result.file === undefined) return undefined;
  const rows = levers.cases.map((c) => caseBar(c, c.id === 'baseline' ? 'rawbright (default)' : 'rawbright'));
  return barPanel(`Levers on the ${formatSize(result.file.sizeBytes)} file`, rows);
}

function durablePanel(result: BenchResult): Panel | undefined {
  const durable = result.file?.durable;
  if (durable === undefined) return undefined;
  const rows = [...durable.cases.map((c) => caseBar(c, 'rawbright')), caseBar(durable.disk, 'disk (limit)')];
  return barPanel(`Durable runs (fsync), ${formatSize(durable.lengthBytes)}`, rows);
}

function workersPanel(result: BenchResult): Panel | undefined {
  const workers = result.file?.workers;
  if (workers === undefined) return undefined;
  const rows = workers.cases.map((c) => caseBar(c, 'rawbright'));
  return barPanel('Worker threads', rows);
}

function breakdownPanel(result: BenchResult): Panel | undefined {
  const b = result.file?.breakdown;
  if (b === undefined) return undefined;
  const rows = (['mmap', 'pread'] as const).flatMap((strategy) =>
    Object.entries(b[strategy].phases).map(([phase, s], order) => ({
      strategy: strategy === 'mmap' ? 'mmap overlay + journal copy' : 'pread/pwrite',
      phase: `${strategy}: ${phase}`,
      order,
      ms: s.median * 1000,
    })),
  );
  return {
    title: `Where a pass over ${formatSize(b.lengthBytes)} goes (${formatSize(b.window)} windows, medians)`,
    width: PANEL_WIDTH,
    height: { step: 26 },
    data: { values: rows },
    mark: 'bar',
    encoding: {
      y: { field: 'strategy', type: 'nominal', title: null },
      x: { field: 'ms', type: 'quantitative', title: 'milliseconds', stack: 'zero' },
      color: {
        field: 'phase',
        type: 'nominal',
        title: null,
        sort: null,
        legend: { orient: 'bottom', direction: 'horizontal', columns: 3, labelLimit: 180 },
      },
      order: { field: 'order' },
    },
  };
}

function windowsPanel(result: BenchResult): Panel | undefined {
  const w = result.file?.windows;
  if (w === undefined) return undefined;
  const rows: PointRow[] = w.cases.map((c) => ({
    x: (c.window ?? 0) / MIB,
    series: c.id.startsWith('mmap') ? 'mmap overlay, journaled' : 'pread/pwrite, journaled',
    ...spreadOf(c.gbps),
  }));
  const values = [...new Set(rows.map((r) => r.x))];
  return linePanel(`Window size sweep, ${formatSize(w.lengthBytes)} in place`, rows, 'window', 'GB/s', {
    xValues: values,
  });
}

function alignmentPanel(result: BenchResult): Panel | undefined {
  const a = result.file?.alignment;
  if (a === undefined) return undefined;
  const rows: PointRow[] = a.cases.map((c) => {
    const aligned = c.id.startsWith('aligned');
    const populate = !c.id.includes('no-populate');
    return {
      x: (c.window ?? 0) / MIB,
      series: `${aligned ? 'aligned to 2 MiB' : `${a.misalignmentBytes / 1024} KiB off`}, ${populate ? 'populate' : 'no populate'}`,
      ...spreadOf(c.gbps),
    };
  });
  const values = [...new Set(rows.map((r) => r.x))];
  return linePanel(
    `mmap overlay: arena alignment × MADV_POPULATE_WRITE, ${formatSize(a.lengthBytes)}`,
    rows,
    'window',
    'GB/s (log scale)',
    { logY: true, xValues: values },
  );
}

function scalingPanels(result: BenchResult): Panel[] {
  const s = result.file?.scaling;
  if (s === undefined) return [];
  const x = (c: FileCase) => (c.sizeBytes ?? 0) / MIB;
  const values = s.cases.map(x);
  const speed: PointRow[] = s.cases.map((c) => ({ x: x(c), series: 'default options', ...spreadOf(c.gbps) }));
  const rss: PointRow[] = s.cases.map((c) => ({
    x: x(c),
    series: 'peak RSS of the brighten process',
    ...spreadOf(
      c.peakRssBytes === undefined
        ? { min: 0, median: 0, max: 0 }
        : {
            min: c.peakRssBytes.min / MIB,
            median: c.peakRssBytes.median / MIB,
            max: c.peakRssBytes.max / MIB,
          },
    ),
  }));
  return [
    linePanel('File size scaling: throughput (fresh process per run)', speed, 'file size', 'GB/s', {
      xValues: values,
    }),
    linePanel('File size scaling: peak RSS', rss, 'file size', 'MiB', {
      xValues: values,
      rule: { y: 210, label: 'target: 210 MiB' },
    }),
  ];
}

function formatSize(bytes: number): string {
  return bytes >= GIB ? `${+(bytes / GIB).toFixed(2)} GiB` : `${+(bytes / MIB).toFixed(2)} MiB`;
}

/**
 * Builds the Vega-Lite specification of the chart.
 * @param result a benchmark result (any subset of the parts)
 * @returns the specification: panels two to a row, titled with the machine and the date
 * @throws {RawbrightError} `ERR_NOTHING_TO_CHART` when the result has no figures
 */
export function buildChartSpec(result: BenchResult): TopLevelSpec {
  const panels = [
    kernelPanel(result),
    strategiesPanel(result),
    windowsPanel(result),
    alignmentPanel(result),
    ...scalingPanels(result),
    leversPanel(result),
    workersPanel(result),
    durablePanel(result),
    breakdownPanel(result),
  ].filter((p): p is Panel => p !== undefined);
  if (panels.length === 0)
    throw new RawbrightError('ERR_NOTHING_TO_CHART', 'the result has no figures to chart');
  const rows: Panel[] = [];
  for (let i = 0; i < panels.length; i += 2) {
    rows.push({ hconcat: panels.slice(i, i + 2), spacing: 40, resolve: { scale: { color: 'independent' } } });
  }
  const date = result.date.slice(0, 10);
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `rawbright bench${result.quick ? ' --quick' : ''} — ${result.machine.cpu}, ${result.machine.cores} cores — ${date}`,
      subtitle: [
        machineLine(result.machine),
        `Node ${result.versions.node}, V8 ${result.versions.v8}, rawbright ${result.versions.rawbright}; ` +
          `1-min load ${result.machine.loadAverage.start.toFixed(2)}` +
          (result.machine.loadAverage.end === undefined
            ? ''
            : `–${result.machine.loadAverage.end.toFixed(2)}`) +
          '; GB/s = 10^9 bytes/s',
      ],
      fontSize: 18,
      subtitleFontSize: 12,
      anchor: 'start',
      offset: 12,
    },
    background: 'white',
    padding: 16,
    vconcat: rows,
    spacing: 36,
    resolve: { scale: { color: 'independent' } },
    config: {
      font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
      view: { stroke: null },
      axis: { labelFontSize: 11, titleFontSize: 11, gridColor: '#e6e6e6' },
      legend: { labelFontSize: 11 },
      title: { fontSize: 13, anchor: 'start' },
    },
  };
  return spec as unknown as TopLevelSpec;
}

/**
 * Renders the chart as SVG text (Vega headless: no browser, no canvas).
 * @param result a benchmark result
 * @returns the SVG document
 */
export async function renderChartSvg(result: BenchResult): Promise<string> {
  const vegaSpec = compile(buildChartSpec(result)).spec;
  const view = new vega.View(vega.parse(vegaSpec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Writes the chart as `.svg` or `.png` (chosen by the file's extension).
 * @param file the path, ending in .svg or .png
 * @param result a benchmark result
 * @throws {RawbrightError} `ERR_USAGE` for another extension
 */
export async function writeChart(file: string, result: BenchResult): Promise<void> {
  const format = extname(file).toLowerCase();
  if (format !== '.svg' && format !== '.png') {
    throw new RawbrightError('ERR_USAGE', `the chart file must end in .png or .svg, not ${file}`, {
      path: file,
    });
  }
  const svg = await renderChartSvg(result);
  if (format === '.svg') {
    writeFileSync(file, svg);
    return;
  }
  const png = await sharp(Buffer.from(svg), { density: 72 * PNG_SCALE })
    .flatten({ background: '#ffffff' })
    .png({ compressionLevel: 9 })
    .toBuffer();
  writeFileSync(file, png);
}
