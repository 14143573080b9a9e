/** Races on one file, the long version: each pairing many times, at random moments of the live run. */
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/raw.js';
import { type Contender, raceOnce, twoOutputsOnce } from './races.js';
import { record } from './tally.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const REPEAT = Number(process.env.RAWBRIGHT_TORTURE_RACES ?? 6);

describe('races on one file', () => {
  it.each([
    ['in-place', 'brighten'],
    ['in-place', 'brighten --no-journal'],
    ['in-place', 'resume'],
    ['in-place', 'out-of-place'],
    ['out-of-place', 'brighten'],
    ['in-place', 'create --overwrite'],
    ['in-place', 'import --overwrite'],
    ['out-of-place', 'create --overwrite'],
  ] as const)('while a %s run is live: %s', async (first, contender: Contender) => {
    const outcomes = [];
    for (let i = 0; i < REPEAT; i++) outcomes.push(await raceOnce(tmp.dir, first, contender, i));
    record({
      what: `race: ${contender} while a ${first} run is live`,
      tried: outcomes.length,
      survived: outcomes.filter((o) => o.ok).length,
      note: 'refused at once with one line; the live run ends whole',
    });
    expect(outcomes.flatMap((o) => o.problems)).toEqual([]);
  });

  it('two --out runs into one output', async () => {
    const outcomes = [];
    for (let i = 0; i < REPEAT; i++) outcomes.push(await twoOutputsOnce(tmp.dir, i));
    record({
      what: 'race: two --out runs into one output',
      tried: outcomes.length,
      survived: outcomes.filter((o) => o.ok).length,
      note: 'the output is always one whole result',
    });
    expect(outcomes.flatMap((o) => o.problems)).toEqual([]);
  });
});
