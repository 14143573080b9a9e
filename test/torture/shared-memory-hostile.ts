/**
 * Shared memory under attack by a second local user (uid 65534, test/helpers/shm-intruder.mjs) while
 * this user's processes (test/torture/shm-hostile-user.mjs) work on a region shared with mode 0666:
 * - scribbling: random values (free, "released by close", the waiters bit, garbage) written over the
 *   lock words and the rest of the header, for seconds, while the users lock and unlock;
 * - truncation: the file cut to a random size at a random moment while the users write.
 * No user may die of a signal, hang, or meet an error without one of the codes an attack can cause;
 * afterwards every mutex must still be lockable.
 */
import { fileURLToPath } from 'node:url';
import { SharedMemory } from '../../dist/shm/shared-memory.js';
import { killChild, type LineChild, startLineChild } from '../helpers/line-child.js';
import type { SecondUser } from '../helpers/second-user.js';

/** The second user's script, to be copied by {@link SecondUser}. */
export const INTRUDER = fileURLToPath(new URL('../helpers/shm-intruder.mjs', import.meta.url));
const USER = fileURLToPath(new URL('./shm-hostile-user.mjs', import.meta.url));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface HostileOutcome {
  /** Lock operations the users made (scribbling), or users that ran (truncation). */
  tried: number;
  /** Of those, how many ended as required: a lock, or an error with an expected code. */
  survived: number;
  abandoned: number;
  codes: Record<string, number>;
  problems: string[];
}

interface UserCounts {
  locks: number;
  abandoned: number;
  codes: Record<string, number>;
  truncated: boolean;
}

function startUser(name: string, mutexes: number, ms: number, seed: number): LineChild {
  return startLineChild(process.execPath, [USER, name, String(mutexes), String(ms), String(seed)]);
}

// Waits for a user to finish; a user still running long after its time is up has hung.
async function finish(
  user: LineChild,
  budgetMs: number,
  problems: string[],
): Promise<UserCounts | undefined> {
  const ended = await Promise.race([user.exited, sleep(budgetMs).then(() => undefined)]);
  if (ended === undefined) {
    problems.push(`a user hung (still running ${budgetMs} ms after its time was up)`);
    await killChild(user);
    return undefined;
  }
  const last = user.lines().at(-1) ?? '';
  if (ended.signal !== null || ended.code !== 0) {
    problems.push(`a user died (${ended.signal ?? `exit ${ended.code}`}): ${last} ${user.stderr()}`);
    return undefined;
  }
  return JSON.parse(last) as UserCounts;
}

function merge(into: Record<string, number>, from: Record<string, number>): void {
  for (const [code, count] of Object.entries(from)) into[code] = (into[code] ?? 0) + count;
}

// Every mutex must still be obtainable by a fresh locker: nothing is wedged.
async function lockEach(region: SharedMemory, problems: string[]): Promise<void> {
  for (let index = 0; index < region.mutexCount; index++) {
    try {
      (await region.mutexAt(index).lock({ timeout: 5000 })).unlock();
    } catch (error) {
      problems.push(`mutex ${index} could not be taken afterwards: ${String(error)}`);
    }
  }
}

/** USERS processes lock and unlock 4 mutexes for MS milliseconds while the second user scribbles. */
export async function scribbleWhileLocking(
  intruder: SecondUser,
  users: number,
  ms: number,
  seed: number,
): Promise<HostileOutcome> {
  const name = `rawbright-hostile-${process.pid}-${seed}`;
  const region = SharedMemory.create(name, 65536, { mode: 0o666, mutexes: 4 });
  const outcome: HostileOutcome = { tried: 0, survived: 0, abandoned: 0, codes: {}, problems: [] };
  try {
    const children = Array.from({ length: users }, (_, i) => startUser(name, 4, ms, seed * 31 + i));
    await Promise.all(children.map((child) => child.line('ready')));
    // The lock words and the rest of the header page: [0, 4096).
    const scribbler = intruder.start('shm-intruder.mjs', 'scribble', region.path, 0, 4096, seed, ms);
    for (const child of children) {
      const counts = await finish(child, ms + 30_000, outcome.problems);
      if (counts === undefined) continue;
      const errors = Object.values(counts.codes).reduce((sum, n) => sum + n, 0);
      outcome.tried += counts.locks + errors;
      outcome.survived += counts.locks + errors;
      outcome.abandoned += counts.abandoned;
      merge(outcome.codes, counts.codes);
      if (counts.locks === 0) outcome.problems.push('a user never got a lock');
    }
    const scribbled = await scribbler.exited;
    if (scribbled.code !== 0) outcome.problems.push(`the scribbler failed: ${scribbler.stderr()}`);
    await lockEach(region, outcome.problems);
  } catch (error) {
    outcome.problems.push(String(error));
  } finally {
    region.close();
  }
  return outcome;
}

/** USERS processes work on a region until the second user truncates it at a random moment. */
export async function truncateWhileWorking(
  intruder: SecondUser,
  users: number,
  seed: number,
): Promise<HostileOutcome> {
  const name = `rawbright-cut-${process.pid}-${seed}`;
  const size = 1 << 20;
  const region = SharedMemory.create(name, size, { mode: 0o666, mutexes: 2 });
  const outcome: HostileOutcome = { tried: 0, survived: 0, abandoned: 0, codes: {}, problems: [] };
  const cuts = [0, 4096, 4096 + Math.floor(Math.random() * size)];
  const cut = cuts[seed % cuts.length];
  try {
    const children = Array.from({ length: users }, (_, i) => startUser(name, 2, 20_000, seed * 17 + i));
    await Promise.all(children.map((child) => child.line('ready')));
    await sleep(20 + Math.random() * 200);
    const truncated = intruder.start('shm-intruder.mjs', 'truncate', region.path, cut);
    await truncated.line('done');
    // This process too: its view of the lost pages reads zeros instead of killing it.
    const bytes = new Uint8Array(region.buffer);
    for (let at = 0; at < size; at += 4096) bytes[at] ^= 0;
    if (!region.truncated) outcome.problems.push('region.truncated stayed false after the cut');
    for (const child of children) {
      outcome.tried += 1;
      const counts = await finish(child, 60_000, outcome.problems);
      if (counts === undefined) continue;
      outcome.abandoned += counts.abandoned;
      merge(outcome.codes, counts.codes);
      // Users touch random pages, so each meets the cut within its run (20 s) unless none were lost.
      if (counts.truncated) outcome.survived += 1;
      else outcome.problems.push(`a user never heard of the truncation to ${cut} bytes`);
    }
  } catch (error) {
    outcome.problems.push(String(error));
  } finally {
    region.close();
  }
  return outcome;
}
