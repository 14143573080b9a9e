/**
 * Fault injection, the quick version run by `npm test` (the long one is `npm run torture`, in
 * test/torture/): kills at modelled and real random moments, full disks, races, truncation and bad
 * input. Each case checks that nothing is lost: the result is byte-identical to an uninterrupted run,
 * or the refusal is one clear line and the inputs are unchanged.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers/raw.js';
import { playCase, STEPS_PER_RUN } from './torture/protocol-sweep.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('the journal protocol, killed in a run and again in its resume', () => {
  it('every sampled pair of kill points resumes to the uninterrupted bytes', async () => {
    // Deterministic sample of the torture suite's sweep: kill the run after s1 steps, its resume
    // (with another worker count) after s2 steps, then resume to the end.
    const failures: string[] = [];
    let killedTwice = 0;
    for (let i = 0; i < 240; i++) {
      const [runWorkers, resumeWorkers] = [
        [2, 1],
        [2, 2],
        [3, 2],
        [1, 1],
      ][i % 4];
      const c = {
        runWorkers,
        resumeWorkers,
        runSteps: (i * 37) % (STEPS_PER_RUN + 1),
        resumeSteps: (i * 53) % (STEPS_PER_RUN + 1),
        seed: i + 1,
        realResume: i % 40 === 0,
      };
      const outcome = await playCase(tmp.dir, c, `model-${i}`);
      if (outcome.killedRun && outcome.killedResume) killedTwice++;
      if (!outcome.identical) failures.push(JSON.stringify(c));
    }
    expect(failures).toEqual([]);
    expect(killedTwice).toBeGreaterThan(100);
  });
});
