/**
 * Another process truncating a file while rawbright brightens it. A cooperating process (one that
 * takes rawbright's lock) is refused while the run holds it. A non-cooperating one pulls pages out
 * from under the mapping: touching them raises SIGBUS, which used to kill the process; with the
 * SIGBUS guard (native/sigbus.cc) the run fails with one line (ERR_FILE_TRUNCATED, or "became
 * shorter" when the cut falls between windows), and nothing is written past the new end.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, writeRaw } from '../helpers/raw.js';
import { type Finished, journalState, start } from './kill-harness.js';

const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Which file the other process cuts. */
export type Target = 'image (in place)' | 'journal' | 'output (--out)' | 'input (--out)';

export interface TruncationOutcome {
  /** The run died of a signal (SIGBUS): what the guard prevents. */
  signal: NodeJS.Signals | null;
  /** The guard turned a SIGBUS into ERR_FILE_TRUNCATED. */
  guarded: boolean;
  problems: string[];
  stderr: string;
}

/** The one-line refusals a truncated run may end with, by where the cut fell. */
const TRUNCATION_MESSAGE =
  /^rawbright: .*(was truncated by another program|became shorter|shorter than the window|past the end|no longer matches)/;

/**
 * Runs `brighten` (js kernel, 16 MiB windows: about 25 ms a window) and truncates `target` to
 * `keep` bytes once the journal (or the partial output) shows the run is inside its windows.
 * @param guard False runs with RAWBRIGHT_NO_SIGBUS_GUARD=1, to show what the guard prevents.
 */
export async function truncateDuringRun(
  dir: string,
  target: Target,
  strategy: 'mmap' | 'pread',
  keep: number,
  guard = true,
): Promise<TruncationOutcome> {
  const path = join(dir, 'cut.raw');
  const out = join(dir, 'cut.out.raw');
  for (const entry of readdirSync(dir)) rmSync(join(dir, entry), { force: true });
  writeRaw(path, randomBytes(64 * MiB, 5));
  const outOfPlace = target === 'output (--out)' || target === 'input (--out)';
  const args = ['brighten', path, '--by', '9', '--kernel', 'js', '--window', '16MiB', '--strategy', strategy];
  const env = guard ? process.env : { ...process.env, RAWBRIGHT_NO_SIGBUS_GUARD: '1' };
  const { finished } = start([...args, ...(outOfPlace ? ['--out', out] : [])], env);
  let over = false;
  finished.then(() => {
    over = true;
  });
  const partial = () => readdirSync(dir).find((name) => name.startsWith('.cut.out.raw.rawbright-'));
  const working = () => {
    if (outOfPlace) return partial() !== undefined;
    return journalState(path)?.states.some((s) => s >= 2) ?? false;
  };
  while (!over && !working()) await sleep(0.2);
  if (outOfPlace) await sleep(30);
  const victim =
    target === 'journal'
      ? `${path}.rawbright-journal`
      : target === 'output (--out)'
        ? join(dir, partial() ?? 'missing')
        : path;
  let cut = false;
  if (!over && existsSync(victim)) {
    // A cut, not a growth: past the file's size, keep half of it (and a few bytes, off the page grid).
    const size = statSync(victim).size;
    if (keep >= size) keep = Math.floor(size / 2) + 100;
    truncateSync(victim, keep);
    cut = true;
  }
  const result: Finished = await finished;
  const problems: string[] = [];
  if (!cut) problems.push('the run ended before the file could be cut');
  if (result.signal === null) {
    // The deliberately tiny windows that keep the run slow are warned about: that line is not the error.
    const lines = result.stderr
      .trim()
      .split('\n')
      .filter((line) => !line.startsWith('rawbright: warning: --window'));
    if (result.code !== 1) problems.push(`exit ${result.code}`);
    if (lines.length !== 1 || !TRUNCATION_MESSAGE.test(lines[0])) {
      problems.push(`not one line naming the truncation: ${JSON.stringify(result.stderr)}`);
    }
  }
  // Nothing is written past the new end: the cut file keeps its cut size.
  if (cut && target !== 'input (--out)' && existsSync(victim) && statSync(victim).size !== keep) {
    problems.push(`${victim} grew back to ${statSync(victim).size} bytes after the cut`);
  }
  if (outOfPlace && existsSync(out)) problems.push('a truncated run published its output');
  return {
    signal: result.signal,
    guarded: /was truncated by another program/.test(result.stderr),
    problems,
    stderr: result.stderr,
  };
}

/**
 * A cooperating truncation: a process that takes rawbright's lock before it cuts (as every rawbright
 * command that replaces or changes a file does) is refused while a run holds the file.
 */
export async function cooperatingTruncation(dir: string): Promise<string[]> {
  const path = join(dir, 'coop.raw');
  writeRaw(path, randomBytes(8 * MiB, 6));
  const { finished } = start(['brighten', path, '--by', '3', '--kernel', 'js', '--window', '512']);
  let over = false;
  finished.then(() => {
    over = true;
  });
  while (!over && !(journalState(path)?.states.some((s) => s >= 0) ?? false)) await sleep(1);
  const script = `
    import { MappedFile } from ${JSON.stringify(new URL('../../dist/index.js', import.meta.url).href)};
    import { truncateSync } from 'node:fs';
    const file = MappedFile.open(process.argv[1], { access: 'readwrite' });
    try { file.lock('exclusive'); truncateSync(process.argv[1], 4096); console.log('cut'); }
    catch (error) { console.log(error.code); }
    finally { file.close(); }`;
  const cutter = spawnSync('node', ['--input-type=module', '-e', script, path], { encoding: 'utf8' });
  const run = await finished;
  const problems: string[] = [];
  if (over && cutter.stdout.trim() !== 'ERR_FILE_LOCKED')
    problems.push('the run ended before the cutter tried');
  if (cutter.stdout.trim() !== 'ERR_FILE_LOCKED')
    problems.push(`the cutter said ${JSON.stringify(cutter.stdout + cutter.stderr)}`);
  if (run.code !== 0) problems.push(`the run failed: ${run.stderr}`);
  if (statSync(path).size !== 8 * MiB) problems.push('the file was cut');
  return problems;
}
