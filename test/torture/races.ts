/**
 * Races between rawbright processes on one file: while a run is live, a second run, a resume, or a
 * run of the other kind (in place vs --out) on the same file must be refused at once with one line,
 * and the live run must finish with the uninterrupted bytes.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { expectedBrighten, randomBytes, writeRaw } from '../helpers/raw.js';
import { journalState, leftovers, run, start } from './kill-harness.js';

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface RaceOutcome {
  name: string;
  /** The second command was refused (or, for two --out runs, both finished whole). */
  ok: boolean;
  problems: string[];
}

/** What the second process does while the first is live. */
export type Contender =
  | 'brighten'
  | 'resume'
  | 'out-of-place'
  | 'brighten --no-journal'
  | 'create --overwrite'
  | 'import --overwrite';

const RACE_INPUT = randomBytes(8 * MiB, 77);
const DELTA = 1111;
const EXPECTED = expectedBrighten(RACE_INPUT, DELTA);
/** 16384 windows of 512 bytes keep the first run live for a second or two (about 0.1 ms a window). */
const SLOW = ['--kernel', 'js', '--window', '512'];

/**
 * Starts an in-place run (or an out-of-place one with `first: 'out-of-place'`), waits until it is
 * working (its journal has moved, or its partial output exists), then runs `contender` on the same
 * file and checks the refusal, its speed, and the live run's result.
 */
export async function raceOnce(
  dir: string,
  first: 'in-place' | 'out-of-place',
  contender: Contender,
  index: number,
): Promise<RaceOutcome> {
  const name = `${first} vs ${contender}`;
  const path = join(dir, `race-${index}.raw`);
  const out = join(dir, `race-${index}.out.raw`);
  writeRaw(path, RACE_INPUT);
  const png = join(dir, `race-${index}.png`);
  if (contender === 'import --overwrite') {
    const small = join(dir, `race-${index}.small.raw`);
    await run(['create', small, '--width', '64', '--height', '64']);
    await run(['export', small, png]);
    for (const file of [small, `${small}.json`]) rmSync(file);
  }
  const problems: string[] = [];
  const live = start(
    first === 'in-place'
      ? ['brighten', path, '--by', String(DELTA), ...SLOW]
      : ['brighten', path, '--by', String(DELTA), '--out', out, ...SLOW],
  );
  let over = false;
  live.finished.then(() => {
    over = true;
  });
  // Wait until the live run holds its lock and is working.
  const working = () => {
    if (first === 'out-of-place')
      return leftovers(out).some((entry) => /\.rawbright-\d+-\w+\.tmp$/.test(entry));
    const state = journalState(path);
    return state !== undefined && (state.done > 0 || state.states.some((s) => s >= 0));
  };
  while (!over && !working()) await sleep(1);
  await sleep(Math.random() * 50);
  const contenderArgs: Record<Contender, string[]> = {
    brighten: ['brighten', path, '--by', '5'],
    'brighten --no-journal': ['brighten', path, '--by', '5', '--no-journal'],
    resume: ['resume', path],
    'out-of-place': ['brighten', path, '--by', '5', '--out', join(dir, `race-${index}.other.raw`)],
    // Conversions that replace the file (a new inode renamed over it) while the run works on the old one.
    'create --overwrite': ['create', path, '--width', '1024', '--height', '1024', '--overwrite'],
    'import --overwrite': ['import', png, path, '--overwrite'],
  };
  const second = await run(contenderArgs[contender]);
  const wasLive = !over;
  const firstResult = await live.finished;
  if (firstResult.code !== 0) problems.push(`the live run failed: ${firstResult.stderr.trim()}`);
  if (!wasLive) problems.push('the first run ended before the second started: nothing was raced');
  // A resume that finds no journal yet has nothing to do; anything else must be refused: by the flock, or
  // (in-place runs hold only a shared flock since runs over disjoint ranges may share a file) by the live
  // run's range lock, whose message names the range it holds.
  if (second.code !== 1) problems.push(`the second command exited ${second.code ?? second.signal}, not 1`);
  const lines = second.stderr.trim().split('\n');
  if (
    lines.length !== 1 ||
    !/^rawbright: .*(is locked by another process|are locked by another open file \(exclusive lock on bytes \d+…\d+)/.test(
      lines[0],
    )
  ) {
    problems.push(`the refusal is not one line naming the lock: ${JSON.stringify(second.stderr)}`);
  }
  // "At once": it must not wait for the live run (which takes about a second more).
  if (second.ms > 5000) problems.push(`the refusal took ${second.ms.toFixed(0)} ms`);
  const result = readFileSync(first === 'in-place' ? path : out);
  if (!result.equals(EXPECTED)) problems.push('the live run did not give the uninterrupted bytes');
  if (first === 'out-of-place' && !readFileSync(path).equals(RACE_INPUT)) problems.push('the input changed');
  if (existsSync(join(dir, `race-${index}.other.raw`))) problems.push('the refused run wrote its output');
  const left = [...leftovers(path), ...leftovers(out)].filter((entry) => !entry.endsWith('.out.raw'));
  if (left.length > 0) problems.push(`left behind: ${left.join(', ')}`);
  for (const file of [path, out, png, join(dir, `race-${index}.other.raw`)]) rmSync(file, { force: true });
  return { name, ok: problems.length === 0 && wasLive, problems };
}

/**
 * Two --out runs of different deltas into the same output at once: whatever each reports, the output
 * must in the end be one whole result (never a mixture, never one run's unfinished file published),
 * and a run that reports success must have published whole bytes.
 */
export async function twoOutputsOnce(dir: string, index: number): Promise<RaceOutcome> {
  const path = join(dir, `twoout-${index}.raw`);
  const out = join(dir, `twoout-${index}.out.raw`);
  writeRaw(path, RACE_INPUT);
  const problems: string[] = [];
  const a = start(['brighten', path, '--by', String(DELTA), '--out', out, ...SLOW]);
  await sleep(150 + Math.random() * 400);
  const b = await run(['brighten', path, '--by', '-2222', '--out', out, '--overwrite', ...SLOW]);
  const first = await a.finished;
  const results = [EXPECTED, expectedBrighten(RACE_INPUT, -2222)];
  if (first.code !== 0 && b.code !== 0) problems.push('neither run finished');
  for (const [label, r] of [
    ['first', first],
    ['second', b],
  ] as const) {
    if (r.signal !== null) problems.push(`the ${label} run died of ${r.signal}`);
    if (r.code !== 0 && r.stderr.trim().split('\n').length !== 1) {
      problems.push(`the ${label} run's error is not one line: ${JSON.stringify(r.stderr)}`);
    }
  }
  if (!existsSync(out)) problems.push('no output');
  else {
    const bytes = readFileSync(out);
    if (!results.some((r) => bytes.equals(r))) problems.push('the output is not one whole result');
  }
  const left = leftovers(out);
  if (left.length > 0) problems.push(`left behind: ${left.join(', ')}`);
  rmSync(path, { force: true });
  rmSync(out, { force: true });
  return { name: 'two --out runs into one output', ok: problems.length === 0, problems };
}
