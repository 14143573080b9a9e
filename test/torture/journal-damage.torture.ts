/**
 * Damaged journals: a journal taken from a modelled run killed part way (protocol-model.ts), then one
 * random byte changed or the file cut short, hundreds of times. Every resume must either refuse with an
 * error code and leave the file as it was, or finish to the uninterrupted bytes — never finish with
 * wrong bytes. One case in 25 is finished by the real resumeFile (worker threads).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { journalPathFor } from '../../dist/brighten/journal.js';
import { resumeFile } from '../../dist/index.js';
import { expectedBrighten, tempDir, writeRaw } from '../helpers/raw.js';
import { modelResume, modelRun } from './protocol-model.js';
import { MODEL_INPUT, MODEL_RUN, STEPS_PER_RUN } from './protocol-sweep.js';
import { record } from './tally.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const EXPECTED = expectedBrighten(MODEL_INPUT, MODEL_RUN.delta, MODEL_RUN.type, MODEL_RUN.channels);

/** xorshift32, so a failure can be replayed from its seed. */
function random(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

describe('damaged journals never resume to wrong bytes', () => {
  it.each([1, 2, 3])(
    'journals of runs with %i workers, killed part way, each damaged 120 ways',
    async (workers) => {
      const base = join(tmp.dir, `damage-${workers}.raw`);
      const failures: string[] = [];
      let refused = 0;
      let finished = 0;
      let cases = 0;
      for (const runSteps of [7, 23, 28, 41, 56, STEPS_PER_RUN - 3]) {
        writeRaw(base, MODEL_INPUT);
        modelRun(base, { ...MODEL_RUN, workers }, runSteps, runSteps + workers);
        const image = readFileSync(base);
        const journal = readFileSync(journalPathFor(base));
        rmSync(journalPathFor(base));
        const draw = random(runSteps * 97 + workers);
        for (let trial = 0; trial < 20; trial++) {
          const damaged = Buffer.from(journal);
          let what: string;
          if (trial % 5 === 4) {
            const length = draw(journal.length);
            what = `cut to ${length} bytes`;
            writeFileSync(journalPathFor(base), damaged.subarray(0, length));
          } else {
            // Most flips land where resume looks: the header, the done map, the slot pages and rings.
            const at = trial % 2 === 0 ? draw(journal.length) : draw(3 * 4096 + 64);
            damaged[at] ^= 1 + draw(255);
            what = `byte ${at} changed`;
            writeFileSync(journalPathFor(base), damaged);
          }
          writeFileSync(base, image);
          const real = cases % 25 === 0;
          cases++;
          try {
            if (real) await resumeFile(base, { workers, kernel: 'wasm-simd' });
            else modelResume(base, workers, Number.POSITIVE_INFINITY, trial + 1);
            finished++;
            if (!readFileSync(base).equals(EXPECTED)) failures.push(`run ${runSteps}, ${what}: wrong bytes`);
          } catch (error) {
            refused++;
            const code = (error as { code?: unknown }).code;
            if (typeof code !== 'string')
              failures.push(`run ${runSteps}, ${what}: threw without a code: ${error}`);
            if (!readFileSync(base).equals(image))
              failures.push(`run ${runSteps}, ${what}: refused but changed the file`);
          }
          rmSync(journalPathFor(base), { force: true });
        }
      }
      record({
        what: `damaged journals (run with ${workers} workers): one byte changed or cut short`,
        tried: cases,
        survived: cases - failures.length,
        note: `${refused} refused with the file untouched, ${finished} resumed to the right bytes`,
      });
      expect(failures).toEqual([]);
    },
  );
});
