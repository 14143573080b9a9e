/** Truncation by another process, the long version: every target, both strategies, cuts of many sizes. */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/raw.js';
import { record } from './tally.js';
import { cooperatingTruncation, type Target, truncateDuringRun } from './truncation.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const REPEAT = Number(process.env.RAWBRIGHT_TORTURE_CUTS ?? 8);
/** New sizes: nothing, one page, a page and a bit (not page aligned), half the image. */
const KEEP = [0, 4096, 4096 + 100, 32 * 1024 * 1024];

describe('truncation by another process', () => {
  it('a cooperating cutter is refused by the lock', async () => {
    const dir = join(tmp.dir, 'coop');
    mkdirSync(dir);
    const results = [];
    for (let i = 0; i < Math.max(2, REPEAT / 2); i++) results.push(await cooperatingTruncation(dir));
    record({
      what: 'truncation by a cooperating process (takes the lock)',
      tried: results.length,
      survived: results.filter((p) => p.length === 0).length,
      note: 'refused ERR_FILE_LOCKED; the run ends whole',
    });
    expect(results.flat()).toEqual([]);
  });

  it.each([
    ['image (in place)', 'mmap'],
    ['image (in place)', 'pread'],
    ['journal', 'mmap'],
    ['output (--out)', 'mmap'],
    ['input (--out)', 'pread'],
  ] as const)('cutting the %s under %s', async (target: Target, strategy) => {
    const dir = join(tmp.dir, `${target}-${strategy}`.replace(/\W+/g, '-'));
    mkdirSync(dir);
    const outcomes = [];
    for (let i = 0; i < REPEAT; i++)
      outcomes.push(await truncateDuringRun(dir, target, strategy, KEEP[i % KEEP.length]));
    const guarded = outcomes.filter((o) => o.guarded).length;
    record({
      what: `truncation by a non-cooperating process: ${target}, ${strategy}`,
      tried: outcomes.length,
      survived: outcomes.filter((o) => o.problems.length === 0 && o.signal === null).length,
      note: `one-line error, no signal, nothing written past the cut; ${guarded} were SIGBUS turned into ERR_FILE_TRUNCATED`,
    });
    expect(outcomes.flatMap((o) => o.problems)).toEqual([]);
  });

  it('without the guard (RAWBRIGHT_NO_SIGBUS_GUARD=1), for the record', async () => {
    const dir = join(tmp.dir, 'unguarded');
    mkdirSync(dir);
    const outcomes = [];
    for (let i = 0; i < REPEAT; i++)
      outcomes.push(await truncateDuringRun(dir, 'image (in place)', 'mmap', 4096, false));
    const killed = outcomes.filter((o) => o.signal === 'SIGBUS').length;
    record({
      what: 'truncation, in place, mmap, guard off (baseline, not a pass/fail row)',
      tried: outcomes.length,
      survived: outcomes.length - killed,
      note: `${killed} died of SIGBUS: what the guard prevents`,
    });
    expect(killed).toBeGreaterThan(0);
  });
});
