/** kill -9 at random moments, the long version: ≥ 50 kills in place and out of place (see kill-suites.ts). */
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/raw.js';
import {
  conversionKills,
  IN_PLACE_CONFIGS,
  inPlaceKills,
  type KillTally,
  outOfPlaceKills,
} from './kill-suites.js';
import { record } from './tally.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** RAWBRIGHT_TORTURE_SEED replays a run; the seed in use is printed. */
const SEED = Number(process.env.RAWBRIGHT_TORTURE_SEED ?? Date.now() % 1_000_000);
const KILLS = Number(process.env.RAWBRIGHT_TORTURE_KILLS ?? 14);

function note(t: KillTally): string {
  const garbage = t.garbage > 0 ? `; ${t.garbage} unfinished files left under temporary names` : '';
  return `landed ${t.before} before, ${t.during} during, ${t.after} after the work; ${t.resumesKilled} resumes killed too${garbage}`;
}

describe(`kill -9 (seed ${SEED})`, () => {
  it.each(IN_PLACE_CONFIGS.map((config, i) => [config.name, config, i] as const))(
    'in place, %s',
    async (name, config, i) => {
      const t = await inPlaceKills(tmp.dir, config, KILLS, SEED + i);
      record({
        what: `kill -9, in place, ${name}, then resume`,
        tried: t.tried,
        survived: t.survived,
        note: note(t),
      });
      expect(t.failures).toEqual([]);
      expect(t.during).toBeGreaterThan(t.tried / 3);
    },
  );

  it('out of place (--out, with and without --overwrite), then rerun', async () => {
    const t = await outOfPlaceKills(tmp.dir, KILLS, SEED + 100);
    record({
      what: 'kill -9, out of place, then rerun',
      tried: t.tried,
      survived: t.survived,
      note: note(t),
    });
    expect(t.failures).toEqual([]);
  });

  it.each(['import', 'export PNG', 'export TIFF', 'create'] as const)(
    '%s, then rerun',
    async (conversion) => {
      const t = await conversionKills(tmp.dir, conversion, Math.ceil(KILLS / 2), SEED + 200);
      record({
        what: `kill -9, ${conversion}, then rerun`,
        tried: t.tried,
        survived: t.survived,
        note: note(t),
      });
      expect(t.failures).toEqual([]);
    },
  );
});
