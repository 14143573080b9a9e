/**
 * kill -9 at random moments, against the real CLI: a run is started, killed with SIGKILL at a moment
 * drawn at random (by progress read from its journal, or by wall time from a calibrated run), and
 * then finished the way a user would (`rawbright resume`, or the same command again). The result must
 * be byte-identical to an uninterrupted run, and nothing half-written may ever carry a final name.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { writeRaw } from '../helpers/raw.js';

export const CLI = new URL('../../dist/cli/index.js', import.meta.url).pathname;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A seeded random source (xorshift32), so a failing schedule can be replayed. */
export function randomSource(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs `rawbright ARGS` (with `env` [this process's]) and collects its output. */
export function start(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): { child: ChildProcess; finished: Promise<Finished> } {
  const started = performance.now();
  const child = spawn('node', [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk) => {
    stdout += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    stderr += chunk;
  });
  const finished = new Promise<Finished>((resolve) =>
    child.on('close', (code, signal) =>
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started }),
    ),
  );
  return { child, finished };
}

export async function run(args: string[]): Promise<Finished> {
  return start(args).finished;
}

/** What an in-place run's journal says: windows done, and a signature of every slot's state. */
export function journalState(
  path: string,
): { done: number; windows: number; states: number[]; signature: string } | undefined {
  let fd: number;
  try {
    fd = openSync(`${path}.rawbright-journal`, 'r');
  } catch {
    return undefined;
  }
  try {
    const header = Buffer.alloc(4096);
    if (
      readSync(fd, header, 0, 4096, 0) < 4096 ||
      !['RBJRNL05', 'RBJRNL06'].includes(header.toString('latin1', 0, 8))
    )
      return undefined;
    const length = header.readUInt32LE(8);
    const params = JSON.parse(header.toString('utf8', 16, 16 + length));
    const doneMapOffset = Math.ceil((16 + length) / 4096) * 4096;
    const map = Buffer.alloc(4 * params.windows);
    readSync(fd, map, 0, map.length, doneMapOffset);
    // The done map, then the sample table (8 bytes a window), then the slots.
    const slotsOffset =
      doneMapOffset +
      Math.ceil((4 * params.windows) / 4096) * 4096 +
      Math.ceil((8 * params.windows) / 4096) * 4096;
    const slotSize = 4096 + Math.ceil(params.chunk / 4096) * 4096;
    const states: number[] = [];
    const state = Buffer.alloc(4);
    for (let slot = 0; slot < params.slots; slot++) {
      readSync(fd, state, 0, 4, slotsOffset + slot * slotSize + 8);
      const value = state.readUInt32LE(0);
      states.push(value === 0xffffffff ? -1 : value);
    }
    let done = 0;
    for (let index = 0; index < params.windows; index++) if (map.readUInt32LE(4 * index) !== 0) done++;
    return { done, windows: params.windows, states, signature: `${map.toString('hex')}/${states.join(',')}` };
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** When to kill. */
export type KillPlan =
  /** After `ms` of wall time from the start (covers start-up, allocation, the end of the run). */
  | { kind: 'time'; ms: number }
  /**
   * Once the journal shows `windows` windows done and its state has moved since the start, then
   * after a further `jitterMs`: a random point inside a window.
   */
  | { kind: 'progress'; path: string; windows: number; jitterMs: number }
  /** Once a file whose name starts with `prefix` (a path) exists, then after `ms`. */
  | { kind: 'appears'; prefix: string; ms: number };

/**
 * Starts `rawbright ARGS` and kills it with SIGKILL as the plan says (or lets it finish if it ends
 * first). Returns how it ended.
 */
async function runAndKill(args: string[], plan: KillPlan): Promise<Finished & { killed: boolean }> {
  const { child, finished } = start(args);
  let over = false;
  finished.then(() => {
    over = true;
  });
  const deadline = performance.now() + 120_000;
  if (plan.kind === 'time') {
    await Promise.race([sleep(plan.ms), finished]);
  } else if (plan.kind === 'appears') {
    const appeared = () =>
      readdirSync(dirname(plan.prefix)).some((name) => name.startsWith(basename(plan.prefix)));
    while (!over && !appeared() && performance.now() < deadline) await sleep(1);
    await Promise.race([sleep(plan.ms), finished]);
  } else {
    const initial = journalState(plan.path)?.signature;
    for (;;) {
      if (over || performance.now() > deadline) break;
      const state = journalState(plan.path);
      if (state !== undefined && state.signature !== initial && state.done >= plan.windows) break;
      await sleep(0.5);
    }
    await Promise.race([sleep(plan.jitterMs), finished]);
  }
  const killed = !over && child.kill('SIGKILL');
  const result = await finished;
  return { ...result, killed: killed && result.signal === 'SIGKILL' };
}

/** Files in `path`'s folder that belong to `path` besides itself (journals, partial and temporary files). */
export function leftovers(path: string): string[] {
  const name = basename(path);
  return readdirSync(dirname(path)).filter((entry) => entry !== name && entry.includes(name));
}

/** Where a kill landed, judged from what it left. */
export type Landing = 'before' | 'during' | 'after';

export interface InPlaceCase {
  input: Buffer;
  expected: Buffer;
  path: string;
  /** Extra `brighten` arguments (strategy, workers, kernel, window). */
  args: string[];
  delta: number;
  plan: KillPlan;
  /**
   * Also kill the first resume, once it has done `fraction` of the windows left (and its journal
   * state has moved), then after `jitterMs`.
   */
  killResume?: { fraction: number; jitterMs: number };
  resumeArgs?: string[];
}

export interface CaseResult {
  landing: Landing;
  identical: boolean;
  /** What went wrong, for the failure message. */
  problems: string[];
  /** The resume was killed too, part way. */
  resumeKilled: boolean;
  /**
   * Unfinished files a killed run left under names no command reads as outputs (hidden temporary
   * files, `.OUT.rawbright-PID-RANDOM.tmp`): never mistaken for results, but not cleaned up by the rerun.
   */
  garbage: string[];
}

/**
 * One in-place kill: brighten, kill, then finish as a user would, and compare with the uninterrupted
 * bytes. Without a journal the file must be exactly the input (killed before) or the result (after).
 */
export async function inPlaceKill(c: InPlaceCase): Promise<CaseResult> {
  writeRaw(c.path, c.input);
  const problems: string[] = [];
  const killedRun = await runAndKill(['brighten', c.path, '--by', String(c.delta), ...c.args], c.plan);
  if (!killedRun.killed && killedRun.code !== 0) {
    problems.push(`the run ended with ${killedRun.code ?? killedRun.signal}: ${killedRun.stderr.trim()}`);
  }
  /** The run again from the start, as a user does after a kill that changed nothing. */
  const rerun = async () => {
    const again = await run(['brighten', c.path, '--by', String(c.delta), ...c.args]);
    if (again.code !== 0) problems.push(`the rerun failed: ${again.stderr.trim()}`);
  };
  let landing: Landing;
  let resumeKilled = false;
  /** What the last resume printed, for the failure message. */
  let resumeSaid = '';
  if (existsSync(`${c.path}.rawbright-journal`)) {
    landing = 'during';
    if (c.killResume !== undefined) {
      const state = journalState(c.path);
      const done = state?.done ?? 0;
      const windows = state?.windows ?? 0;
      const killed = await runAndKill(['resume', c.path, ...(c.resumeArgs ?? [])], {
        kind: 'progress',
        path: c.path,
        windows: done + Math.floor(c.killResume.fraction * (windows - done)),
        jitterMs: c.killResume.jitterMs,
      });
      resumeKilled = killed.killed && existsSync(`${c.path}.rawbright-journal`);
      if (!killed.killed && killed.code !== 0)
        problems.push(`the first resume failed: ${killed.stderr.trim()}`);
    }
    const resume = await run(['resume', c.path, ...(c.resumeArgs ?? [])]);
    resumeSaid = resume.stdout.trim();
    if (resume.code !== 0 || resume.stderr !== '') {
      problems.push(`resume exited ${resume.code ?? resume.signal}: ${resume.stderr.trim()}`);
    } else if (/^nothing to resume for /m.test(resume.stdout) && readFileSync(c.path).equals(c.input)) {
      // Killed between creating its journal and writing it, the run had changed nothing: resume says so and
      // drops the journal, and the user runs it again. (A file that is already the result needs nothing: a
      // first resume finished it and was killed before it said so.)
      landing = 'before';
      await rerun();
    }
  } else {
    const now = readFileSync(c.path);
    if (now.equals(c.input)) {
      landing = 'before';
      await rerun();
    } else if (now.equals(c.expected)) {
      landing = 'after';
    } else {
      landing = 'during';
      problems.push('the file changed but no journal was left to resume from');
    }
  }
  const identical = readFileSync(c.path).equals(c.expected);
  if (!identical) {
    problems.push(
      `the final bytes differ from an uninterrupted run${resumeSaid === '' ? '' : ` (resume said: ${resumeSaid})`}`,
    );
  }
  const left = leftovers(c.path);
  if (left.length > 0) problems.push(`left behind: ${left.join(', ')}`);
  rmSync(c.path, { force: true });
  return { landing, identical: identical && problems.length === 0, problems, resumeKilled, garbage: [] };
}

export interface OutputCase {
  /** The command, ending with the output path. */
  args: string[];
  /** The final output files (a raw file and its sidecar, or one image). */
  outputs: string[];
  /** The bytes of each output after an uninterrupted run. */
  expected: Buffer[];
  /** What each output held before (undefined: absent), for --overwrite runs. */
  before: (Buffer | undefined)[];
  /** Inputs that must never change. */
  inputs: { path: string; bytes: Buffer }[];
  plan: KillPlan;
  /** Arguments for the rerun (e.g. with --overwrite); [args]. */
  rerun?: string[];
}

/**
 * One kill of a command that writes new files (brighten --out, import, export, create): after the kill,
 * each output is absent, its old content, or complete — never partial; the inputs are unchanged; the
 * rerun gives the uninterrupted bytes and leaves no temporary file.
 */
export async function outputKill(c: OutputCase): Promise<CaseResult> {
  const problems: string[] = [];
  const killedRun = await runAndKill(c.args, c.plan);
  if (!killedRun.killed && killedRun.code !== 0) {
    problems.push(`the run ended with ${killedRun.code ?? killedRun.signal}: ${killedRun.stderr.trim()}`);
  }
  let complete = 0;
  c.outputs.forEach((output, i) => {
    if (!existsSync(output)) {
      if (c.before[i] !== undefined) problems.push(`${output} disappeared`);
      return;
    }
    const now = readFileSync(output);
    if (now.equals(c.expected[i])) complete++;
    else if (c.before[i] === undefined || !now.equals(c.before[i]!)) {
      problems.push(`${output} holds neither its old bytes nor the finished result after the kill`);
    }
  });
  for (const input of c.inputs) {
    if (!readFileSync(input.path).equals(input.bytes)) problems.push(`the input ${input.path} changed`);
  }
  const isOutput = (name: string) => c.outputs.some((output) => basename(output) === name);
  const workInProgress = c.outputs.flatMap(leftovers).filter((name) => !isOutput(name));
  const landing: Landing =
    complete === c.outputs.length ? 'after' : complete > 0 || workInProgress.length > 0 ? 'during' : 'before';
  if (complete < c.outputs.length) {
    const again = await run(c.rerun ?? c.args);
    if (again.code !== 0) problems.push(`the rerun failed: ${again.stderr.trim()}`);
  }
  c.outputs.forEach((output, i) => {
    if (!existsSync(output) || !readFileSync(output).equals(c.expected[i])) {
      problems.push(`${output} differs from an uninterrupted run after the rerun`);
    }
  });
  // A killed run may leave its unfinished file under a name no command takes for an output: counted
  // as garbage. Anything else (say, a journal) is a leftover.
  const isGarbage = (name: string) => name.startsWith('.');
  const remaining = [...new Set(c.outputs.flatMap(leftovers))].filter((name) => !isOutput(name));
  const stray = remaining.filter((name) => !isGarbage(name));
  if (stray.length > 0) problems.push(`left behind: ${stray.join(', ')}`);
  const garbage = remaining.filter(isGarbage);
  for (const name of garbage) rmSync(join(dirname(c.outputs[0]), name), { force: true });
  return { landing, identical: problems.length === 0, problems, resumeKilled: false, garbage };
}
