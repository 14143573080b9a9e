/**
 * The journal protocol, modelled (protocol-model.ts), killed after every step of a run and again after
 * every step of its resume, for several worker counts: every pair must resume to the uninterrupted
 * bytes. One case in 50 finishes with the real resumeFile (worker threads, wasm kernel).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/raw.js';
import { playCase, STEPS_PER_RUN } from './protocol-sweep.js';
import { record } from './tally.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
/** Every STRIDE-th step of the resume (1: all of them). */
const STRIDE = Number(process.env.RAWBRIGHT_TORTURE_STRIDE ?? 2);

describe('journal protocol: kill points in a run × kill points in its resume', () => {
  it.each([
    [1, 1],
    [2, 1],
    [2, 2],
    [3, 1],
    [3, 2],
    [3, 3],
  ])('run with %i workers, resume with %i', async (runWorkers, resumeWorkers) => {
    const failures: string[] = [];
    let cases = 0;
    let killedTwice = 0;
    for (let runSteps = 0; runSteps <= STEPS_PER_RUN; runSteps++) {
      for (let resumeSteps = 0; resumeSteps <= STEPS_PER_RUN; resumeSteps += STRIDE) {
        const c = {
          runWorkers,
          resumeWorkers,
          runSteps,
          resumeSteps,
          seed: runSteps * 1000 + resumeSteps + 1,
          realResume: cases % 50 === 0,
        };
        const outcome = await playCase(tmp.dir, c, `sweep-${cases}`);
        cases++;
        if (outcome.killedRun && outcome.killedResume) killedTwice++;
        if (!outcome.identical) failures.push(JSON.stringify(c));
      }
    }
    record({
      what: `modelled kill points: run (${runWorkers} workers) × its resume (${resumeWorkers})`,
      tried: cases,
      survived: cases - failures.length,
      note: `${killedTwice} killed in the run and again in the resume; 1 in 50 finished by the real resumeFile`,
    });
    expect(failures).toEqual([]);
  });
});
