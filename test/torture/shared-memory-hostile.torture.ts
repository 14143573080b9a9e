/** A second local user attacking a shared region, the long version (see shared-memory-hostile.ts). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECOND_UID, SecondUser, secondUserUnavailable } from '../helpers/second-user.js';
import { INTRUDER, scribbleWhileLocking, truncateWhileWorking } from './shared-memory-hostile.js';
import { record } from './tally.js';

const SCRIBBLE_MS = Number(process.env.RAWBRIGHT_TORTURE_SHM_SCRIBBLE_MS ?? 4000);
const CUT_ROUNDS = Number(process.env.RAWBRIGHT_TORTURE_SHM_CUTS ?? 9);
const SEED = Number(process.env.RAWBRIGHT_TORTURE_SEED ?? Date.now() % 1_000_000);

const unavailable = secondUserUnavailable();
const SCRIBBLE_ROW = `a second user (uid ${SECOND_UID}) scribbling over a 0666 region's lock words while 3 users lock and unlock`;
const CUT_ROW = `a second user truncating a 0666 region at a random moment (to 0, to the header, mid-data) while 3 users write`;

if (unavailable !== undefined) {
  console.warn(`shared-memory-hostile.torture.ts cannot run: ${unavailable}`);
  record({ what: SCRIBBLE_ROW, tried: 0, survived: 0, note: `not run: ${unavailable}` });
  record({ what: CUT_ROW, tried: 0, survived: 0, note: `not run: ${unavailable}` });
}

describe.skipIf(unavailable !== undefined)(
  `shared memory attacked by a second user${unavailable === undefined ? '' : ` — cannot run here: ${unavailable}`}`,
  () => {
    let intruder: SecondUser;
    beforeAll(() => {
      intruder = new SecondUser([INTRUDER]);
    });
    afterAll(() => intruder?.[Symbol.dispose]());

    it.each([1, 2, 3])('scribbling, round %i', async (round) => {
      const outcome = await scribbleWhileLocking(intruder, 3, SCRIBBLE_MS, SEED + round);
      record({
        what: SCRIBBLE_ROW,
        tried: outcome.tried,
        survived: outcome.problems.length === 0 ? outcome.survived : 0,
        note: `lock operations; ${outcome.abandoned} forged words taken as abandoned, ${outcome.codes.ERR_SHM_LOCK_BROKEN ?? 0} ERR_SHM_LOCK_BROKEN, ${outcome.codes.ETIMEDOUT ?? 0} ETIMEDOUT; no crash, abort or hang; every mutex lockable afterwards`,
      });
      expect(outcome.problems).toEqual([]);
      expect(outcome.tried).toBeGreaterThan(0);
    });

    it.each(Array.from({ length: CUT_ROUNDS }, (_, i) => i))('truncation, round %i', async (round) => {
      const outcome = await truncateWhileWorking(intruder, 3, SEED + round);
      record({
        what: CUT_ROW,
        tried: outcome.tried,
        survived: outcome.problems.length === 0 ? outcome.survived : 0,
        note: 'users; each ended with ERR_SHM_TRUNCATED (no SIGBUS), the creator saw region.truncated',
      });
      expect(outcome.problems).toEqual([]);
    });
  },
);
