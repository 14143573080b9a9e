// The file benchmark's tables (each measured configuration is a row), the text report and the charts,
// checked on real measured results: one tiny run of every part that works on the main file, and a
// tiny kernel run. Every figure in the text is compared with the figure in the result it came from.
// No timing assertions: the machine is shared.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  buildCharts,
  CHART_WIDTH,
  CHARTS,
  chartPaths,
  renderChartSvg,
  textWidth,
} from '../../dist/bench/chart.js';
import { type FileBenchResult, type FileCase, runFileBench } from '../../dist/bench/file-bench.js';
import {
  alignmentRows,
  DISK_ROW,
  DURABLE_ROWS,
  LEVER_ROWS,
  MISALIGNMENT,
  REFERENCE_ROWS,
  RUN_OVERHEAD_ROW,
  STRATEGY_ROWS,
  scalingRow,
  windowRows,
  workerRows,
} from '../../dist/bench/file-rows.js';
import { KERNEL_BENCH_ENTRIES, runKernelBench } from '../../dist/bench/kernel-bench.js';
import { describeMachine, describeVersions } from '../../dist/bench/machine.js';
import {
  formatBenchResult,
  formatCaseTable,
  formatFileBench,
  formatKernelBench,
  formatRatio,
  formatTable,
} from '../../dist/bench/report.js';
import type { BenchResult } from '../../dist/bench/suite.js';
import { formatBytes } from '../../dist/format.js';
import { tempDir } from '../helpers/raw.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const tmp = tempDir();
afterAll(() => tmp.cleanup());

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const fixed = (value: number) => value.toFixed(2);

/** The line of `text` whose first column is `label` (tables pad the first column with spaces). */
function row(text: string, label: string): string[] {
  const line = text.split('\n').find((l) => new RegExp(`^${escapeRegExp(label)}  `).test(l));
  expect(line, `a row for ${label}`).toBeDefined();
  return line!
    .slice(label.length)
    .trim()
    .split(/\s{2,}/);
}

/** The cells a case row must hold: runs, GB/s min, median, max, then the ratios. */
function expectCaseRow(text: string, c: FileCase, ratios: (number | undefined)[] = []) {
  expect(row(text, c.label)).toEqual([
    String(c.runs),
    fixed(c.gbps.min),
    fixed(c.gbps.median),
    fixed(c.gbps.max),
    ...ratios.map(formatRatio),
  ]);
}

describe('formatBytes (one formatter for the CLI and the benchmark)', () => {
  test('exact multiples without decimals, other values to three significant digits', () => {
    expect(formatBytes(0)).toBe('0 bytes');
    expect(formatBytes(812)).toBe('812 bytes');
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(76800)).toBe('75 KiB');
    expect(formatBytes(64 * MiB)).toBe('64 MiB');
    expect(formatBytes(1536 * MiB)).toBe('1.50 GiB');
    expect(formatBytes(12.5 * GiB)).toBe('12.5 GiB');
    expect(formatBytes(2 * GiB + 1)).toBe('2.00 GiB');
    expect(formatBytes(4096 * 1024 * GiB)).toBe('4096 TiB');
  });
});

describe('the tables of what the file benchmark measures', () => {
  test('ids are unique within each part, and the strategies start with the default', () => {
    const parts = [
      [...STRATEGY_ROWS, ...REFERENCE_ROWS],
      [...DURABLE_ROWS, DISK_ROW],
      alignmentRows([4 * MiB, 64 * MiB]),
      windowRows([MiB, 4 * MiB]),
      LEVER_ROWS,
      workerRows([1, 2, 3]),
    ];
    for (const rows of parts) expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
    expect(STRATEGY_ROWS[0]).toMatchObject({ id: 'mmap', run: { kind: 'pipeline', options: {} } });
    expect(LEVER_ROWS[0]).toMatchObject({ id: 'baseline', run: { kind: 'pipeline', options: {} } });
    expect(REFERENCE_ROWS.map((r) => r.run)).toEqual([
      { kind: 'reference', mode: 'mmap' },
      { kind: 'reference', mode: 'pread' },
    ]);
  });

  test('generated rows carry their window, worker count or size, and the slow ones say so', () => {
    const alignment = alignmentRows([4 * MiB]);
    expect(alignment.map((r) => [r.id, r.slow, r.extra?.window])).toEqual([
      [`aligned-${4 * MiB}`, false, 4 * MiB],
      [`aligned-no-populate-${4 * MiB}`, false, 4 * MiB],
      [`misaligned-${4 * MiB}`, true, 4 * MiB],
      [`misaligned-no-populate-${4 * MiB}`, true, 4 * MiB],
    ]);
    expect(alignment[3].run).toEqual({
      kind: 'pipeline',
      options: {
        strategy: 'mmap',
        window: 4 * MiB,
        tuning: { populate: false, overlayMisalignment: MISALIGNMENT },
      },
    });
    expect(alignment[3].label).toBe('64 KiB off, no populate, 4 MiB windows');
    expect(windowRows([MiB]).map((r) => [r.id, r.label])).toEqual([
      [`mmap-${MiB}`, 'mmap overlay, journaled, 1 MiB windows'],
      [`pread-${MiB}`, 'pread/pwrite, journaled, 1 MiB windows'],
    ]);
    expect(workerRows([2]).map((r) => [r.label, r.extra?.workers])).toEqual([
      ['mmap overlay, journaled, 2 workers', 2],
      ['pread/pwrite, journaled, 2 workers', 2],
    ]);
    expect(scalingRow(2 * GiB)).toMatchObject({
      slow: false,
      extra: { sizeBytes: 2 * GiB },
      run: { kind: 'process' },
    });
    expect(scalingRow(4 * GiB)).toMatchObject({
      slow: true,
      label: '4 GiB file, default options, fresh process',
    });
    expect([...DURABLE_ROWS, DISK_ROW].every((r) => r.slow)).toBe(true);
  });
});

describe('a tiny run of every main-file part, and its report', () => {
  let result: FileBenchResult;
  let text: string;
  const progress: string[] = [];
  beforeAll(async () => {
    result = await runFileBench({
      dir: tmp.dir,
      sizeBytes: 8 * MiB,
      runs: 2,
      slowRuns: 1,
      windows: [2 * MiB, 4 * MiB],
      alignmentWindows: [4 * MiB],
      workers: [1, 2],
      parts: ['strategies', 'durable', 'alignment', 'windows', 'levers', 'workers', 'breakdown'],
      onProgress: (line) => progress.push(line),
    });
    text = formatFileBench(result);
  }, 240_000);

  test('each part measured its table, row for row, with the runs the row asks for', () => {
    const ids = (cases: FileCase[]) => cases.map((c) => [c.id, c.label, c.runs]);
    const expected = (rows: readonly { id: string; label: string; slow?: boolean }[]) =>
      rows.map((r) => [r.id, r.label, r.slow ? 1 : 2]);
    expect(ids(result.strategies!.cases)).toEqual(expected(STRATEGY_ROWS));
    expect(ids(result.strategies!.references)).toEqual(expected(REFERENCE_ROWS));
    expect(ids(result.durable!.cases)).toEqual(expected(DURABLE_ROWS));
    expect(ids([result.durable!.disk])).toEqual(expected([DISK_ROW]));
    expect(ids(result.alignment!.cases)).toEqual(expected(alignmentRows([4 * MiB])));
    expect(ids(result.windows!.cases)).toEqual(expected(windowRows([2 * MiB, 4 * MiB])));
    expect(ids(result.levers!.cases)).toEqual(expected(LEVER_ROWS));
    expect(ids(result.workers!.cases)).toEqual(expected(workerRows([1, 2])));
    expect(ids([result.breakdown!.runOverhead])).toEqual(expected([RUN_OVERHEAD_ROW]));
    // What each row asked for is what the pipeline did.
    expect(result.strategies!.cases.map((c) => c.strategyUsed)).toEqual([
      'mmap',
      'mmap',
      'pread',
      'pread',
      'mmap',
      'pread',
    ]);
    expect(result.windows!.cases.map((c) => c.window)).toEqual([2, 4, 2, 4].map((m) => m * MiB));
    expect(result.workers!.cases.map((c) => c.workers)).toEqual([1, 2, 1, 2]);
    // The durable part runs on its own length (the whole 8 MiB file here), the disk reference too.
    expect(result.durable!.cases.map((c) => c.bytes)).toEqual([8 * MiB, 8 * MiB]);
    expect(result.durable!.disk.bytes).toBe(8 * MiB);
    expect(
      progress.some((line) =>
        /^levers: journal from JavaScript, 8 MiB chunks, run 2\/2: [\d.]+ GB\/s$/.test(line),
      ),
    ).toBe(true);
  });

  test("ratios are medians over the reference row's median", () => {
    const s = result.strategies!;
    const nativeMmap = s.references[0].gbps.median;
    for (const c of [...s.cases, ...s.references, result.inMemory]) {
      expect(s.ratios.vsNativeMmap[c.id]).toBeCloseTo(c.gbps.median / nativeMmap, 12);
      expect(s.ratios.vsInMemory[c.id]).toBeCloseTo(c.gbps.median / result.inMemory.gbps.median, 12);
    }
    for (const c of result.levers!.cases) {
      expect(result.levers!.ratios.vsBaseline[c.id]).toBeCloseTo(
        c.gbps.median / result.levers!.cases[0].gbps.median,
        12,
      );
    }
  });

  test('the report prints every case of every part with its own figures and ratios', () => {
    const s = result.strategies!;
    for (const c of [...s.cases, ...s.references, result.inMemory]) {
      expectCaseRow(text, c, [
        s.ratios.vsNativeMmap[c.id],
        s.ratios.vsNativePread[c.id],
        s.ratios.vsInMemory[c.id],
      ]);
    }
    const d = result.durable!;
    for (const c of [...d.cases, d.disk]) expectCaseRow(text, c, [d.ratios.vsDisk[c.id]]);
    for (const c of [...result.alignment!.cases, ...result.windows!.cases, ...result.workers!.cases]) {
      expectCaseRow(text, c);
    }
    for (const c of result.levers!.cases) expectCaseRow(text, c, [result.levers!.ratios.vsBaseline[c.id]]);
    const b = result.breakdown!;
    for (const [phase, summary] of Object.entries(b.mmap.phases)) {
      expect(row(text, `mmap: ${phase}`)).toEqual([
        (summary.median * 1000).toFixed(1),
        `${((100 * summary.median) / b.mmap.total.median).toFixed(0)}%`,
      ]);
    }
    expect(row(text, 'pread: total')).toEqual([
      (b.pread.total.median * 1000).toFixed(1),
      `${fixed(b.lengthBytes / b.pread.total.median / 1e9)} GB/s`,
    ]);
    const overhead = b.runOverhead.seconds.map((sec) => (sec * 1000).toFixed(0));
    expect(text).toContain(`on an 8 MiB file): ${overhead.sort((x, y) => +x - +y).join('–')} ms.`);
    expect(text).toContain(
      `${result.runs} runs per case after one warm-up run (${result.slowRuns} for slow cases)`,
    );
  });

  test('the report shows measurements, not the acceptance targets (they stay in the result)', () => {
    expect(result.targets.length).toBeGreaterThan(0);
    expect(text).not.toMatch(/target|NOT met|\bmet\b/i);
  });

  test('a part whose windows are all too long prints no empty table', () => {
    const trimmed = { ...result, alignment: { ...result.alignment!, cases: [] } };
    expect(formatFileBench(result)).toMatch(/^The mmap overlay's placement/m);
    expect(formatFileBench(trimmed)).not.toMatch(/^The mmap overlay's placement/m);
  });

  test('the charts: one column, no wider than a repository page shows, titles inside the picture', async () => {
    const whole: BenchResult = {
      machine: describeMachine(tmp.dir),
      versions: describeVersions(),
      date: new Date().toISOString(),
      command: 'test',
      quick: false,
      durationSeconds: 1,
      file: result,
    };
    const charts = buildCharts(whole);
    // No kernels, no scaling and no whole-process parts in this result: their charts are left out.
    expect(charts.map((c) => c.name)).toEqual(
      CHARTS.map((c) => c.name).filter((n) => n !== 'kernels' && n !== 'scaling' && n !== 'process'),
    );
    expect(
      chartPaths(
        'docs/bench.png',
        charts.map((c) => c.name),
      ),
    ).toEqual(['docs/bench.png', 'docs/bench-runs.png', 'docs/bench-windows.png', 'docs/bench-details.png']);
    expect(charts[0].name).toBe('strategies');
    for (const chart of charts) {
      const svg = await renderChartSvg(chart.spec);
      const width = Number(/^<svg[^>]* width="([\d.]+)"/.exec(svg)![1]);
      expect(width, chart.name).toBeLessThanOrEqual(830);
      expect(width, chart.name).toBeGreaterThanOrEqual(CHART_WIDTH);
      const title = (chart.spec as { title: { text: string; subtitle: string[] } }).title;
      // Title and subtitles fit between the 16 px paddings, measured in the font the PNG is drawn in.
      expect(textWidth(title.text, 15, true) + 32, chart.name).toBeLessThanOrEqual(width);
      for (const line of title.subtitle) expect(textWidth(line) + 32, chart.name).toBeLessThanOrEqual(width);
      expect(svg).toContain(title.text);
    }
    // The runs chart draws one dot per timed run of every strategy, reference and the in-memory limit.
    const runs = await renderChartSvg(charts[1].spec);
    const s = result.strategies!;
    const dots = [...s.cases, ...s.references, result.inMemory].flatMap((c) => c.seconds);
    expect(runs.match(/aria-roledescription="circle"/g)).toHaveLength(dots.length);
    expect(dots).toHaveLength(2 * (STRATEGY_ROWS.length + REFERENCE_ROWS.length + 1));
  });
});

describe('the kernel report', () => {
  test('prints every entry with its own figures and ratios, and no targets', () => {
    const result = runKernelBench({ runs: 3, sizeBytes: 256 * 1024 });
    const text = formatKernelBench(result);
    expect(text).toMatch(/^Kernels on 256 KiB inside WebAssembly memory, uint16 rgb, delta \+1000; 3 runs/);
    for (const entry of KERNEL_BENCH_ENTRIES) {
      const { gbps } = result.kernels[entry];
      expect(row(text, entry === 'memcpy' ? 'memcpy (bytes copied)' : entry)).toEqual([
        fixed(gbps.min),
        fixed(gbps.median),
        fixed(gbps.max),
        formatRatio(result.ratios.vsNative[entry]),
        formatRatio(result.ratios.vsJs[entry]),
      ]);
    }
    expect(result.targets.length).toBeGreaterThan(0);
    expect(text).not.toMatch(/target|NOT met/i);
    const whole = formatBenchResult({
      machine: describeMachine(),
      versions: describeVersions(),
      date: '2026-01-02T03:04:05.000Z',
      command: 'test',
      quick: true,
      durationSeconds: 12.4,
      kernels: result,
    });
    expect(whole).toMatch(/^rawbright bench --quick, 2026-01-02T03:04:05\.000Z\nMachine: /);
    expect(whole).toContain(text);
    expect(whole).toMatch(/\nTook 12 s\.\n$/);
  });
});

describe('table layout', () => {
  test('first column left-aligned, the others right-aligned, two spaces between', () => {
    expect(
      formatTable(
        ['a', 'bb'],
        [
          ['long', '1'],
          ['x', '22'],
        ],
      ),
    ).toBe('a     bb\nlong   1\nx     22\n');
    expect(formatRatio(undefined)).toBe('-');
    expect(formatRatio(0.4567)).toBe('0.46x');
    expect(formatRatio(12.34)).toBe('12.3x');
    const c: FileCase = {
      id: 'x',
      label: 'a case',
      bytes: 8,
      runs: 3,
      gbps: { min: 1, median: 2.5, max: 3.456 },
      seconds: [1, 2, 3],
    };
    expect(formatCaseTable([c], [['vs y', { x: 0.5 }]])).toBe(
      'case    runs  GB/s min  median   max   vs y\na case     3      1.00    2.50  3.46  0.50x\n',
    );
  });
});
