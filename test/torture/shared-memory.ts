/**
 * Shared-memory users killed while holding the mutex: several processes take a region's robust mutex
 * over and over (test/torture/shm-ledger-child.mjs) and are killed with SIGKILL at random moments,
 * often inside their critical section, and replaced. The mutex must never wedge, mutual exclusion must
 * hold among the living, and every death while holding it must be reported to the next locker as
 * "abandoned".
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { SharedMemory } from '../../dist/shm/shared-memory.js';

const CHILD = new URL('./shm-ledger-child.mjs', import.meta.url).pathname;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface LedgerOutcome {
  kills: number;
  transactions: number;
  abandonments: number;
  problems: string[];
}

function startUser(name: string): Promise<ChildProcess> {
  const child = spawn('node', [CHILD, name], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    child.stdout?.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`a user exited early (${code})`)));
  });
}

/** Runs `users` processes on a fresh region and makes `kills` kills, each after a random pause. */
export async function killHolders(users: number, kills: number, seed: number): Promise<LedgerOutcome> {
  const name = `rawbright-torture-${process.pid}-${seed}`;
  const region = SharedMemory.create(name, 4096);
  const words = new Int32Array(region.buffer, 0, 8);
  const living: ChildProcess[] = [];
  const problems: string[] = [];
  try {
    for (let i = 0; i < users; i++) living.push(await startUser(name));
    for (let k = 0; k < kills; k++) {
      await sleep(5 + Math.random() * 40);
      const victim = living.splice(Math.floor(Math.random() * living.length), 1)[0];
      const died = new Promise((resolve) => victim.once('exit', resolve));
      victim.kill('SIGKILL');
      await died;
      living.push(await startUser(name));
    }
    // The survivors keep going: the mutex is not wedged if the count still moves.
    const before = Atomics.load(words, 1);
    await sleep(200);
    if (Atomics.load(words, 1) === before)
      problems.push('no transaction completed after the last kill: wedged');
    // A final locker from this process: it must get the mutex within the timeout.
    for (const child of living) child.kill('SIGKILL');
    await Promise.all(
      living.map(
        (child) =>
          new Promise((resolve) =>
            child.exitCode !== null || child.signalCode !== null
              ? resolve(null)
              : child.once('exit', resolve),
          ),
      ),
    );
    const guard = await region.mutex.lock({ timeout: 10_000 });
    guard.unlock();
  } catch (error) {
    problems.push(String(error));
  }
  for (const child of living) child.kill('SIGKILL');
  // Read before close(), which detaches the buffer.
  const [violations, transactions, abandonments] = [words[2], words[1], words[3]];
  region.close();
  // A death inside the critical section leaves the mark set: the next locker must have been told.
  if (violations !== 0) {
    problems.push(`${violations} lockers found someone inside without being told of an abandonment`);
  }
  // Every kill inside the critical section must have been reported to the next locker.
  return { kills, transactions, abandonments, problems };
}
