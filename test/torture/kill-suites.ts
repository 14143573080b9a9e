/**
 * The kill -9 scenarios, shared by the quick suite (test/faults.test.ts) and the long one
 * (kills.torture.ts): each function plays `count` kills of one kind and returns their outcomes.
 */
import { readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { expectedBrighten, randomBytes, writeRaw } from '../helpers/raw.js';
import {
  type CaseResult,
  inPlaceKill,
  type KillPlan,
  outputKill,
  randomSource,
  run,
} from './kill-harness.js';

const MiB = 1024 * 1024;

export interface InPlaceConfig {
  name: string;
  /** brighten arguments besides the file and --by. */
  args: string[];
  /** Image size in bytes. */
  size: number;
  /** Window size in bytes (must match --window in args). */
  window: number;
}

/** The in-place configurations the issue names: mmap and pread, 1 and 2 workers (js kernel: slow enough to land inside windows), and the default fast path. */
export const IN_PLACE_CONFIGS: InPlaceConfig[] = [
  {
    name: 'mmap, 1 worker',
    args: ['--strategy', 'mmap', '--workers', '1', '--kernel', 'js', '--window', '4MiB'],
  },
  {
    name: 'mmap, 2 workers',
    args: ['--strategy', 'mmap', '--workers', '2', '--kernel', 'js', '--window', '4MiB'],
  },
  {
    name: 'pread, 1 worker',
    args: ['--strategy', 'pread', '--workers', '1', '--kernel', 'js', '--window', '4MiB'],
  },
  {
    name: 'pread, 2 workers',
    args: ['--strategy', 'pread', '--workers', '2', '--kernel', 'js', '--window', '4MiB'],
  },
  { name: 'defaults (wasm-simd, mmap), 2 MiB windows', args: ['--window', '2MiB'] },
  {
    name: 'durable, pread, 2 workers',
    args: ['--durable', '--strategy', 'pread', '--workers', '2', '--kernel', 'js', '--window', '4MiB'],
  },
].map((c) => ({ ...c, size: 64 * MiB, window: c.args.includes('2MiB') ? 2 * MiB : 4 * MiB }));

export interface KillTally {
  tried: number;
  survived: number;
  /** Where the kills landed: before any change, during (something to resume or redo), after. */
  before: number;
  during: number;
  after: number;
  /** Resumes that were themselves killed part way. */
  resumesKilled: number;
  /** Unfinished files left by killed runs under names never taken for outputs. */
  garbage: number;
  failures: string[];
}

function tally(results: { result: CaseResult; label: string }[]): KillTally {
  const t: KillTally = {
    tried: 0,
    survived: 0,
    before: 0,
    during: 0,
    after: 0,
    resumesKilled: 0,
    garbage: 0,
    failures: [],
  };
  for (const { result, label } of results) {
    t.tried++;
    if (result.identical) t.survived++;
    else t.failures.push(`${label}: ${result.problems.join('; ')}`);
    t[result.landing]++;
    if (result.resumeKilled) t.resumesKilled++;
    t.garbage += result.garbage.length;
  }
  return t;
}

/**
 * `count` in-place kills of one configuration. Kills alternate between progress-driven ones (a random
 * window count, then a random point inside the next window) and wall-time ones (uniform over an
 * uninterrupted run, start-up included). Every third case also kills the first resume.
 */
export async function inPlaceKills(
  dir: string,
  config: InPlaceConfig,
  count: number,
  seed: number,
): Promise<KillTally> {
  const random = randomSource(seed);
  const delta = 700 + Math.floor(random() * 600);
  const input = randomBytes(config.size, seed);
  const expected = expectedBrighten(input, delta);
  const windows = Math.ceil(config.size / config.window);
  // One uninterrupted run for the time scale.
  const calibration = join(dir, 'calibrate.raw');
  writeRaw(calibration, input);
  const reference = await run(['brighten', calibration, '--by', String(delta), ...config.args]);
  if (reference.code !== 0 || !readFileSync(calibration).equals(expected)) {
    throw new Error(`the uninterrupted run failed: ${reference.stderr}`);
  }
  rmSync(calibration);
  const results: { result: CaseResult; label: string }[] = [];
  for (let i = 0; i < count; i++) {
    const path = join(dir, `kill-${seed}-${i}.raw`);
    const plan: KillPlan =
      i % 2 === 0
        ? { kind: 'progress', path, windows: Math.floor(random() * windows), jitterMs: random() * 12 }
        : { kind: 'time', ms: random() * reference.ms * 1.1 };
    const killResume = i % 3 === 2 ? { fraction: random() * 0.8, jitterMs: random() * 12 } : undefined;
    const resumeArgs = random() < 0.5 ? ['--workers', '2'] : [];
    const result = await inPlaceKill({
      input,
      expected,
      path,
      args: config.args,
      delta,
      plan,
      killResume,
      resumeArgs,
    });
    results.push({ result, label: `${config.name} #${i} (seed ${seed}, ${JSON.stringify(plan)})` });
  }
  return tally(results);
}

/**
 * `count` kills of `brighten --out`: alternately into a new file and with --overwrite over an old one.
 * The output must be absent (or the old file) or complete, never partial; the input never changes.
 */
export async function outOfPlaceKills(dir: string, count: number, seed: number): Promise<KillTally> {
  const random = randomSource(seed);
  const delta = -900;
  const input = randomBytes(48 * MiB, seed);
  const expected = expectedBrighten(input, delta);
  const inputPath = join(dir, `oop-${seed}.raw`);
  writeRaw(inputPath, input);
  const args = (out: string, extra: string[]) => [
    'brighten',
    inputPath,
    '--by',
    String(delta),
    '--out',
    out,
    '--kernel',
    'js',
    '--window',
    '4MiB',
    ...extra,
  ];
  // The faster of two uninterrupted runs sets the time scale (the first one reads a cold file).
  const calibrationOut = join(dir, `oop-${seed}-calibrate.raw`);
  let referenceMs = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 2; i++) {
    const reference = await run(args(calibrationOut, ['--overwrite']));
    if (reference.code !== 0) throw new Error(`the uninterrupted run failed: ${reference.stderr}`);
    referenceMs = Math.min(referenceMs, reference.ms);
  }
  rmSync(calibrationOut);
  const results: { result: CaseResult; label: string }[] = [];
  const old = Buffer.from('the previous output, which must survive until the new one is complete');
  for (let i = 0; i < count; i++) {
    const out = join(dir, `oop-${seed}-${i}.out.raw`);
    const overwrite = i % 2 === 1;
    if (overwrite) writeRaw(out, old);
    // Mostly once the partial file is there (the copy and brighten), sometimes from the start.
    const plan: KillPlan =
      i % 3 === 2
        ? { kind: 'time', ms: random() * referenceMs }
        : {
            kind: 'appears',
            prefix: join(dirname(out), `.${basename(out)}.rawbright-`),
            ms: random() * referenceMs * 0.6,
          };
    const result = await outputKill({
      args: args(out, overwrite ? ['--overwrite'] : []),
      rerun: args(out, ['--overwrite']),
      outputs: [out],
      expected: [expected],
      before: [overwrite ? old : undefined],
      inputs: [{ path: inputPath, bytes: input }],
      plan,
    });
    results.push({ result, label: `out of place #${i} (seed ${seed}, ${JSON.stringify(plan)})` });
    rmSync(out, { force: true });
  }
  rmSync(inputPath);
  return tally(results);
}

/** The conversions that write files: each killed `count` times at random moments, then rerun. */
export type Conversion = 'import' | 'export PNG' | 'export TIFF' | 'create';

/**
 * `count` kills of a conversion on a 2048×2048 image (32 MiB raw): the outputs must be absent or
 * complete after each kill (never a truncated PNG or raw file under its final name, never a raw file
 * paired with an old sidecar), the input unchanged, and the rerun identical to an uninterrupted run.
 */
export async function conversionKills(
  dir: string,
  conversion: Conversion,
  count: number,
  seed: number,
): Promise<KillTally> {
  const random = randomSource(seed);
  const size = ['--width', '2048', '--height', '2048'];
  const raw = join(dir, `conv-${seed}.raw`);
  const png = join(dir, `conv-${seed}.png`);
  const prepare = await run([
    'create',
    raw,
    ...size,
    '--pattern',
    'noise',
    '--seed',
    String(seed),
    '--overwrite',
  ]);
  if (prepare.code !== 0) throw new Error(`create failed: ${prepare.stderr}`);
  const exported = await run(['export', raw, png, '--overwrite']);
  if (exported.code !== 0) throw new Error(`export failed: ${exported.stderr}`);
  const target = (i: number) => {
    switch (conversion) {
      case 'import':
        return {
          args: ['import', png, join(dir, `imported-${i}.raw`)],
          outputs: [join(dir, `imported-${i}.raw`), join(dir, `imported-${i}.raw.json`)],
          inputs: [png],
        };
      case 'export PNG':
        return {
          args: ['export', raw, join(dir, `exported-${i}.png`)],
          outputs: [join(dir, `exported-${i}.png`)],
          inputs: [raw, `${raw}.json`],
        };
      case 'export TIFF':
        return {
          args: ['export', raw, join(dir, `exported-${i}.tif`)],
          outputs: [join(dir, `exported-${i}.tif`)],
          inputs: [raw, `${raw}.json`],
        };
      case 'create':
        return {
          args: ['create', join(dir, `created-${i}.raw`), ...size, '--pattern', 'noise', '--seed', '7'],
          outputs: [join(dir, `created-${i}.raw`), join(dir, `created-${i}.raw.json`)],
          inputs: [],
        };
    }
  };
  // Uninterrupted runs: the bytes to expect, and the time scale (the faster of two).
  const reference = target(-1);
  let referenceMs = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 2; i++) {
    const result = await run([...reference.args, '--overwrite']);
    if (result.code !== 0) throw new Error(`the uninterrupted ${conversion} failed: ${result.stderr}`);
    referenceMs = Math.min(referenceMs, result.ms);
  }
  const expected = reference.outputs.map((path) => readFileSync(path));
  for (const path of reference.outputs) rmSync(path);
  const inputs = (paths: string[]) => paths.map((path) => ({ path, bytes: readFileSync(path) }));
  const results: { result: CaseResult; label: string }[] = [];
  for (let i = 0; i < count; i++) {
    const t = target(i);
    // Half from the start (start-up included), half once its temporary file appears (the work).
    const plan: KillPlan =
      i % 2 === 0
        ? { kind: 'time', ms: random() * referenceMs }
        : {
            kind: 'appears',
            prefix: join(dir, `.${basename(t.outputs[0])}.rawbright-`),
            ms: random() * referenceMs * 0.7,
          };
    const result = await outputKill({
      args: t.args,
      rerun: [...t.args, '--overwrite'],
      outputs: t.outputs,
      expected,
      before: t.outputs.map(() => undefined),
      inputs: inputs(t.inputs),
      plan,
    });
    results.push({ result, label: `${conversion} #${i} (seed ${seed}, ${JSON.stringify(plan)})` });
    for (const path of t.outputs) rmSync(path, { force: true });
  }
  for (const path of [raw, `${raw}.json`, png]) rmSync(path, { force: true });
  return tally(results);
}
