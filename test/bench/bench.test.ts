// The benchmark: `rawbright bench` / `bench file` smoke runs on tiny sizes (JSON shape, tables, chart
// files), the native reference program (it must do exactly rawbright's job), the chart writer, the
// free-space check, and the pipeline's benchmark levers (they must not change results). No timing
// assertions: the machine is shared.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildCharts, renderChartSvg, writeCharts } from '../../dist/bench/chart.js';
import { FILE_BENCH_PARTS, fileBenchSpaceNeeded, runFileBench } from '../../dist/bench/file-bench.js';
import { describeMachine, filesystemOf } from '../../dist/bench/machine.js';
import { REFERENCE_PROGRAM, runReference } from '../../dist/bench/reference.js';
import { formatBenchResult } from '../../dist/bench/report.js';
import { brightenFile } from '../../dist/brighten/pipeline.js';
import { MappedFile } from '../../dist/file/mapped-file.js';
import { KernelHost, OVERLAY_ALIGNMENT } from '../../dist/kernels/host.js';
import { expectedBrighten, randomBytes, tempDir, writeRaw } from '../helpers/raw.js';

const CLI = new URL('../../dist/cli/index.js', import.meta.url).pathname;
const MiB = 1024 * 1024;
const tmp = tempDir();
afterAll(() => tmp.cleanup());

const summaryShape = {
  min: expect.any(Number),
  median: expect.any(Number),
  max: expect.any(Number),
};

function expectCase(c: Record<string, unknown>, runs: number) {
  expect(c).toMatchObject({ id: expect.any(String), label: expect.any(String), runs, gbps: summaryShape });
  expect(c.seconds).toHaveLength(runs);
  const gbps = c.gbps as { min: number; median: number; max: number };
  expect(gbps.min).toBeGreaterThan(0);
  expect(gbps.min).toBeLessThanOrEqual(gbps.median);
  expect(gbps.median).toBeLessThanOrEqual(gbps.max);
}

describe('rawbright bench (the whole suite, tiny sizes)', () => {
  const json = join(tmp.dir, 'bench.json');
  const png = join(tmp.dir, 'bench.png');
  let stdout = '';
  beforeAll(() => {
    stdout = execFileSync(
      process.execPath,
      [
        CLI,
        'bench',
        '--quick',
        '--size',
        '16MiB',
        '--runs',
        '2',
        '--parts',
        'strategies,scaling',
        '--sizes',
        '8MiB',
        '--dir',
        tmp.dir,
        '--json',
        json,
        '--chart',
        png,
      ],
      { encoding: 'utf8' },
    );
    // The whole benchmark, if tiny: about a minute on a quiet 2-core machine, several when it is shared.
  }, 300_000);

  test('prints the machine, the kernel table and the strategy and scaling tables', () => {
    expect(stdout).toMatch(/^rawbright bench --quick, \d{4}-\d\d-\d\dT/m);
    // The whole-process parts run in every `rawbright bench`, --quick with smaller files.
    expect(stdout).toMatch(/^Batch: 32 files of 4 MiB, warm, whole processes, 5 runs alternated/m);
    expect(stdout).toMatch(/^Start-up: one 4 KiB file, whole processes, 5 runs alternated/m);
    expect(stdout).toMatch(/^Machine: .+, \d+ cores, \d+ GiB, /m);
    expect(stdout).toMatch(/^kernel +GB\/s min +median +max +vs native +vs js$/m);
    expect(stdout).toMatch(
      /^case +runs +GB\/s min +median +max +vs native mmap +vs native pread +vs in memory$/m,
    );
    for (const row of [
      'mmap overlay, journaled \\(default\\)',
      'pread/pwrite, no journal',
      'out of place, pread/pwrite',
      'native C\\+\\+: mmap \\+ MADV_POPULATE_WRITE, 64 MiB windows',
      'native kernel on a buffer in memory \\(the limit\\)',
    ]) {
      expect(stdout).toMatch(
        new RegExp(`^${row} +2 +[\\d.]+ +[\\d.]+ +[\\d.]+ +[\\d.]+x +[\\d.]+x +[\\d.]+x$`, 'm'),
      );
    }
    expect(stdout).toMatch(/^8 MiB +2 +[\d.]+ +[\d.]+ +[\d.]+ +\d+ +[\d.]+$/m);
    // Measurements only: the acceptance targets are in the JSON, not the output.
    expect(stdout).not.toMatch(/Targets|NOT met/);
  });

  test('the text is the JSON result formatted, then where the charts went', () => {
    const result = JSON.parse(readFileSync(json, 'utf8'));
    const charts = ['', '-strategies', '-runs', '-scaling', '-process'].map((suffix) =>
      join(tmp.dir, `bench${suffix}.png`),
    );
    expect(stdout).toBe(`${formatBenchResult(result)}Charts: ${charts.join(', ')}\n`);
  });

  test('writes one JSON object: machine, versions, date, command and every figure', () => {
    const result = JSON.parse(readFileSync(json, 'utf8'));
    expect(result.machine).toMatchObject({
      cpu: expect.any(String),
      cores: expect.any(Number),
      memoryBytes: expect.any(Number),
      kernel: expect.stringMatching(/\S+ \S+/),
      loadAverage: { start: expect.any(Number), end: expect.any(Number) },
    });
    expect(result.machine.benchDir.filesystem).toMatch(/\w/);
    expect(result.versions).toEqual({
      node: process.version,
      v8: process.versions.v8,
      rawbright: expect.stringMatching(/^\d+\.\d+\.\d+/),
    });
    expect(new Date(result.date).toString()).not.toBe('Invalid Date');
    expect(result.command).toMatch(/^rawbright bench --quick --size 16MiB/);
    expect(result.quick).toBe(true);
    // --runs reaches the kernel benchmark too.
    expect(result.kernels.runs).toBe(2);
    expect(Object.keys(result.kernels.kernels)).toEqual(['js', 'wasm', 'wasm-simd', 'native', 'memcpy']);
    const file = result.file;
    expect(file).toMatchObject({ sizeBytes: 16 * MiB, runs: 2, parts: ['strategies', 'scaling'] });
    expect(file.strategies.cases.map((c: { id: string }) => c.id)).toEqual([
      'mmap',
      'mmap-no-journal',
      'pread',
      'pread-no-journal',
      'out-mmap',
      'out-pread',
    ]);
    expect(file.strategies.references.map((c: { id: string }) => c.id)).toEqual([
      'native-mmap',
      'native-pread',
    ]);
    for (const c of [...file.strategies.cases, ...file.strategies.references, file.inMemory])
      expectCase(c, 2);
    expect(file.strategies.cases[0].strategyUsed).toBe('mmap');
    expect(file.strategies.cases[2].strategyUsed).toBe('pread');
    expect(file.strategies.references[0].strategyUsed).toBe('mmap, aligned');
    expect(file.strategies.ratios.vsNativeMmap['native-mmap']).toBe(1);
    expect(file.strategies.ratios.vsInMemory['in-memory']).toBe(1);
    const [scaled] = file.scaling.cases;
    expectCase(scaled, 2);
    expect(scaled.sizeBytes).toBe(8 * MiB);
    expect(scaled.peakRssBytes.max).toBeGreaterThan(8 * MiB);
    expect(scaled.processSeconds).toHaveLength(2);
    expect(file.targets.map((t: { description: string }) => t.description)).toEqual([
      expect.stringMatching(/^default \(mmap, journaled\) median GB\/s on a warm 16 MiB file, at least 5$/),
      'default at least as fast as the native mmap reference (ratio)',
      expect.stringMatching(/^peak RSS \(MiB\) brightening a 8 MiB file/),
    ]);
  });

  test('draws PNG charts that sharp can read, one column wide, and leaves no files behind', async () => {
    for (const name of ['bench', 'bench-strategies', 'bench-runs', 'bench-scaling', 'bench-process']) {
      const meta = await sharp(join(tmp.dir, `${name}.png`)).metadata();
      expect(meta.format).toBe('png');
      // Drawn at twice the SVG's size: 760 px of chart plus padding, shown about 1:1 at a README's width.
      expect(meta.width, name).toBeGreaterThan(1500);
      expect(meta.width, name).toBeLessThanOrEqual(2 * 830);
      expect(meta.height, name).toBeGreaterThan(300);
    }
    // Only the outputs remain: the benchmark's workspace was removed.
    expect(readdirSync(tmp.dir).filter((name) => name.startsWith('rawbright-bench-'))).toEqual([]);
  });

  test('the chart writer makes SVG too, and refuses other extensions', async () => {
    const result = JSON.parse(readFileSync(json, 'utf8'));
    const svgPath = join(tmp.dir, 'bench.svg');
    const written = await writeCharts(svgPath, result);
    expect(written).toEqual(
      ['', '-strategies', '-runs', '-scaling', '-process'].map((s) => join(tmp.dir, `bench${s}.svg`)),
    );
    const [kernels, strategies] = written.map((path) => readFileSync(path, 'utf8'));
    expect(kernels).toMatch(/^<svg /);
    expect(kernels).toContain('Kernels on a 64 MiB buffer in memory');
    expect(strategies).toContain('Brightening a warm 16 MiB file: rawbright vs the native C++ program');
    for (const label of ['mmap overlay, journaled (default)', 'native C++: pread/pwrite, 64 MiB buffer']) {
      expect(strategies).toContain(label);
    }
    const meta = await sharp(Buffer.from(kernels)).metadata();
    expect(meta.format).toBe('svg');
    await expect(writeCharts(join(tmp.dir, 'bench.jpg'), result)).rejects.toMatchObject({
      code: 'ERR_USAGE',
    });
    expect(() =>
      buildCharts({ ...result, kernels: undefined, file: undefined, batch: undefined, startup: undefined }),
    ).toThrow(expect.objectContaining({ code: 'ERR_NOTHING_TO_CHART' }));
    await expect(renderChartSvg(buildCharts(result)[0].spec)).resolves.toMatch(/^<svg /);
  });
});

describe('rawbright bench file', () => {
  test('runs one part with its own --json and --chart (svg)', () => {
    const json = join(tmp.dir, 'file.json');
    const svg = join(tmp.dir, 'file.svg');
    const out = execFileSync(
      process.execPath,
      [CLI, 'bench', 'file', '--size', '8MiB', '--runs', '2', '--parts', 'workers', '--workers', '1,2'],
      { encoding: 'utf8', env: { ...process.env } },
    );
    expect(out).toMatch(/^Worker threads:$/m);
    expect(out).toMatch(/^mmap overlay, journaled, 2 workers +2 +[\d.]+ +[\d.]+ +[\d.]+$/m);
    execFileSync(
      process.execPath,
      [
        CLI,
        'bench',
        'file',
        '--size',
        '8MiB',
        '--runs',
        '1',
        '--parts',
        'durable',
        '--json',
        json,
        '--chart',
        svg,
      ],
      { encoding: 'utf8' },
    );
    const result = JSON.parse(readFileSync(json, 'utf8'));
    expect(result.kernels).toBeUndefined();
    expect(result.file.durable.cases.map((c: { id: string }) => c.id)).toEqual([
      'mmap-durable',
      'pread-durable',
    ]);
    expect(result.file.durable.disk.id).toBe('disk');
    expect(readFileSync(svg, 'utf8')).toContain('Durable runs (fsync)');
  });

  test('every other part, through the library, on a tiny file', async () => {
    const lines: string[] = [];
    const result = await runFileBench({
      dir: tmp.dir,
      sizeBytes: 8 * MiB,
      runs: 1,
      windows: [2 * MiB, 4 * MiB],
      alignmentWindows: [4 * MiB],
      workers: [1],
      parts: ['alignment', 'windows', 'levers', 'breakdown'],
      onProgress: (line) => lines.push(line),
    });
    expect(lines.length).toBeGreaterThan(10);
    expect(result.alignment!.cases.map((c) => c.id)).toEqual([
      `aligned-${4 * MiB}`,
      `aligned-no-populate-${4 * MiB}`,
      `misaligned-${4 * MiB}`,
      `misaligned-no-populate-${4 * MiB}`,
    ]);
    expect(result.windows!.cases.map((c) => [c.id, c.window])).toEqual([
      [`mmap-${2 * MiB}`, 2 * MiB],
      [`mmap-${4 * MiB}`, 4 * MiB],
      [`pread-${2 * MiB}`, 2 * MiB],
      [`pread-${4 * MiB}`, 4 * MiB],
    ]);
    expect(result.levers!.cases[0].id).toBe('baseline');
    expect(result.levers!.ratios.vsBaseline.baseline).toBe(1);
    for (const c of result.levers!.cases) expectCase(c as unknown as Record<string, unknown>, 1);
    const breakdown = result.breakdown!;
    expect(Object.keys(breakdown.mmap.phases)).toEqual([
      'overlay',
      'populate',
      'kernel + journal',
      'release',
    ]);
    expect(Object.keys(breakdown.pread.phases)).toEqual(['read', 'kernel', 'write']);
    expect(breakdown.runOverhead.runs).toBe(1);
    expect(result.strategies).toBeUndefined();
    expect(result.scaling).toBeUndefined();
  });

  test('checks free space first, with a clear error, and writes nothing', () => {
    const run = spawnSync(process.execPath, [CLI, 'bench', 'file', '--size', '4096TiB', '--dir', tmp.dir], {
      encoding: 'utf8',
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(
      /^rawbright: the benchmark needs [\d.]+ TiB free in \S+ but only [\d.]+ \w+ is free; choose another folder with --dir or a smaller --size$/m,
    );
    expect(readdirSync(tmp.dir).filter((name) => name.startsWith('rawbright-bench-'))).toEqual([]);
  });

  test('SIGTERM mid-run removes the temporary files and exits 130', async () => {
    const dir = mkdtempSync(join(tmp.dir, 'signal-'));
    const child = spawn(
      process.execPath,
      [CLI, 'bench', 'file', '--size', '64MiB', '--runs', '50', '--parts', 'strategies', '--dir', dir],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Wait until the benchmark's file exists, so the signal lands mid-run.
    const started = Date.now();
    const benchFile = () =>
      readdirSync(dir).some(
        (name) => existsSync(join(dir, name, 'bench.raw')) && name.startsWith('rawbright-bench-'),
      );
    while (!benchFile() && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 50));
    expect(benchFile()).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGTERM');
    expect(await exited).toBe(130);
    expect(stderr).toMatch(/rawbright: SIGTERM: stopped the benchmark and removed \S+rawbright-bench-\w+/);
    expect(readdirSync(dir)).toEqual([]);
  });

  test('bad options are usage errors (exit 2)', () => {
    const cases: [string[], RegExp][] = [
      [['--parts', 'strategies,nope'], /--parts must be a comma-separated list of strategies, .*not "nope"/],
      [['--size', '12'], /--size must be a multiple of 8 bytes, at least 1MiB/],
      [['--chart', 'x.gif'], /--chart must name a \.png or \.svg file, not x\.gif/],
      [['--windows', '1MiB,7'], /--windows must list multiples of 8 bytes/],
      [['--runs', '0'], /--runs must be at least 1/],
    ];
    for (const [args, message] of cases) {
      const run = spawnSync(process.execPath, [CLI, 'bench', 'file', ...args], { encoding: 'utf8' });
      expect(run.status, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(message);
    }
    const missing = spawnSync(process.execPath, [CLI, 'bench', 'file', '--dir', join(tmp.dir, 'nope')], {
      encoding: 'utf8',
    });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^rawbright: the benchmark folder \S+nope does not exist$/m);
  });

  test('the space needed: the main file twice (out of place), or the largest scaling file', () => {
    expect(fileBenchSpaceNeeded(2 * MiB, FILE_BENCH_PARTS, [8 * MiB])).toBe(8 * MiB);
    expect(fileBenchSpaceNeeded(8 * MiB, ['strategies'], [64 * MiB])).toBe(16 * MiB);
    expect(fileBenchSpaceNeeded(8 * MiB, ['scaling'], [1 * MiB, 3 * MiB])).toBe(3 * MiB);
  });
});

describe('the native reference program', () => {
  const params = [
    { delta: 1000, type: 'uint16', channels: 'rgb' },
    { delta: -700, type: 'uint16', channels: 'rgba' },
    { delta: 40000, type: 'int16', channels: 'rgba' },
    { delta: -123, type: 'int16', channels: 'rgb' },
  ] as const;

  test.each(params)('does exactly what rawbright does (%o), with mmap and with pread', (p) => {
    // Odd sizes: a window that is not a page multiple and a tail shorter than a vector.
    const original = randomBytes(3 * MiB + 8 * 37, 7);
    for (const mode of ['mmap', 'pread'] as const) {
      const path = join(tmp.dir, `reference-${mode}.raw`);
      writeRaw(path, original);
      const report = runReference(path, { mode, params: p, window: MiB + 8 });
      expect(report).toMatchObject({ mode, bytes: original.length, window: MiB + 8 });
      expect(report.seconds).toBeGreaterThan(0);
      expect(readFileSync(path).equals(expectedBrighten(original, p.delta, p.type, p.channels))).toBe(true);
    }
  });

  test('maps whole files with --window 0 and says whether windows were 2 MiB congruent', () => {
    const original = randomBytes(4 * MiB, 9);
    const path = join(tmp.dir, 'reference-whole.raw');
    writeRaw(path, original);
    const report = runReference(path, {
      mode: 'mmap',
      params: { delta: 5, type: 'uint16', channels: 'rgb' },
      window: 0,
      populate: false,
    });
    expect(report).toMatchObject({ aligned: true, populate: false, window: 0 });
    expect(readFileSync(path).equals(expectedBrighten(original, 5))).toBe(true);
  });

  test('measures the disk with fsync, and refuses bad usage with exit status 2', () => {
    const path = join(tmp.dir, 'disk.raw');
    const report = runReference(path, { mode: 'disk', size: 3 * MiB });
    expect(report).toMatchObject({ mode: 'disk', bytes: 3 * MiB });
    expect(readFileSync(path).length).toBe(3 * MiB);
    for (const args of [
      ['mmap', path],
      ['copy', path],
      ['mmap', path, '--by', '0'],
      ['pread', path, '--by', '5', '--window', '12'],
    ]) {
      const run = spawnSync(REFERENCE_PROGRAM, args, { encoding: 'utf8' });
      expect(run.status, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(/^rawbright-reference: /);
    }
    expect(() => runReference(join(tmp.dir, 'missing.raw'), { mode: 'pread', params: params[0] })).toThrow(
      expect.objectContaining({
        code: 'ERR_REFERENCE_FAILED',
        message: expect.stringMatching(/cannot open/),
      }),
    );
  });
});

describe('benchmark levers in the pipeline (tuning)', () => {
  test('no lever changes the result', async () => {
    const original = randomBytes(12 * MiB + 8 * 5, 3);
    const expected = expectedBrighten(original, 321, 'uint16', 'rgb');
    const levers = [
      { overlayMisalignment: 64 * 1024 },
      { overlayMisalignment: 4096, populate: false },
      { hugepage: true },
      { journalChunk: 256 * 1024 },
      { journalChunk: 8 * MiB + 8, writeback: true },
    ];
    for (const strategy of ['mmap', 'pread'] as const) {
      for (const tuning of levers) {
        const path = join(tmp.dir, 'lever.raw');
        writeRaw(path, original);
        const report = await brightenFile(path, { by: 321, window: 4 * MiB, strategy, tuning });
        expect(report.strategy).toBe(strategy);
        expect(readFileSync(path).equals(expected), JSON.stringify({ strategy, tuning })).toBe(true);
      }
    }
    const out = join(tmp.dir, 'lever-out.raw');
    const path = join(tmp.dir, 'lever.raw');
    writeRaw(path, original);
    await brightenFile(path, { by: 321, out, overwrite: true, tuning: { hugepage: true } });
    expect(readFileSync(out).equals(expected)).toBe(true);
  });

  test('bad lever values are refused', async () => {
    const path = join(tmp.dir, 'lever-bad.raw');
    writeRaw(path, randomBytes(MiB, 4));
    await expect(brightenFile(path, { by: 1, tuning: { journalChunk: 12 } })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
    });
    await expect(brightenFile(path, { by: 1, tuning: { overlayMisalignment: -1 } })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
    });
    await expect(brightenFile(path, { by: 1, tuning: { hugepage: 'yes' as never } })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
    });
  });

  test('the kernel host shifts overlays off the 2 MiB congruence by exactly the misalignment asked', () => {
    const path = join(tmp.dir, 'misaligned.raw');
    writeRaw(path, randomBytes(16 * MiB, 5));
    const file = MappedFile.open(path, { access: 'readwrite' });
    try {
      for (const misalignment of [0, 4096, 64 * 1024, OVERLAY_ALIGNMENT - 4096]) {
        const host = new KernelHost({
          arenaBytes: 4 * MiB,
          kernel: 'wasm-simd',
          overlayMisalignment: misalignment,
        });
        for (const offset of [0, 3 * MiB + 8, 10 * MiB]) {
          const region = host.overlay(file, offset, 4 * MiB);
          const fileStart = offset - (offset % file.pageSize);
          expect(Number(region.mappedAddress! % BigInt(OVERLAY_ALIGNMENT))).toBe(
            (fileStart + misalignment) % OVERLAY_ALIGNMENT,
          );
          expect(host.view(region)[0]).toBe(readFileSync(path)[offset]);
          host.release();
        }
        host.close();
      }
      expect(
        () => new KernelHost({ arenaBytes: MiB, kernel: 'wasm-simd', overlayMisalignment: 100 }),
      ).toThrow(
        expect.objectContaining({
          code: 'ERR_INVALID_ARG_VALUE',
          message: `Expected a multiple of ${file.pageSize} from 0 to ${OVERLAY_ALIGNMENT - file.pageSize} for overlayMisalignment but received 100 of type number`,
        }),
      );
      const hugepage = new KernelHost({ arenaBytes: 4 * MiB, kernel: 'wasm-simd', hugepage: true });
      const region = hugepage.overlay(file, 2 * MiB, 4 * MiB);
      expect(hugepage.view(region)[5]).toBe(readFileSync(path)[2 * MiB + 5]);
      hugepage.close();
    } finally {
      file.close();
    }
  });
});

describe('machine description', () => {
  test('names the file system of a folder and the machine', () => {
    const fs = filesystemOf(tmpdir());
    expect(fs).toMatchObject({
      filesystem: expect.stringMatching(/\w/),
      mountPoint: expect.stringMatching(/^\//),
    });
    const machine = describeMachine(tmp.dir);
    expect(machine.cores).toBeGreaterThan(0);
    expect(machine.benchDir?.path).toBe(tmp.dir);
    writeFileSync(join(tmp.dir, 'x'), '');
    expect(filesystemOf(join(tmp.dir, 'x'))?.filesystem).toBe(fs?.filesystem);
  });
});
