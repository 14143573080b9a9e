/** Shared-memory users killed while holding the mutex, the long version (see shared-memory.ts). */
import { describe, expect, it } from 'vitest';
import { killHolders } from './shared-memory.js';
import { record } from './tally.js';

const KILLS = Number(process.env.RAWBRIGHT_TORTURE_SHM_KILLS ?? 60);

describe('shared memory', () => {
  it.each([2, 4])('%i users, killed at random and replaced', async (users) => {
    const outcome = await killHolders(users, KILLS, users);
    record({
      what: `kill -9, shared-memory users (${users} at a time) holding the mutex`,
      tried: outcome.kills,
      survived: outcome.problems.length === 0 ? outcome.kills : 0,
      note: `${outcome.abandonments} died holding the mutex (each reported abandoned to the next locker); ${outcome.transactions} transactions; never wedged, exclusion held`,
    });
    expect(outcome.problems).toEqual([]);
    expect(outcome.abandonments).toBeGreaterThan(0);
  });
});
