/**
 * Sweeps kill points of the modelled journal protocol (see protocol-model.ts): a run killed after
 * step s1, its resume killed after step s2, then the real `resumeFile` (or a modelled resume run to
 * the end); each case must end byte-identical to an uninterrupted run.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { journalPathFor } from '../../dist/brighten/journal.js';
import { resumeFile } from '../../dist/index.js';
import { expectedBrighten, randomBytes, writeRaw } from '../helpers/raw.js';
import { type ModelRun, modelResume, modelRun } from './protocol-model.js';

export const MODEL_RUN: Omit<ModelRun, 'workers'> = {
  window: 4 * 8192,
  chunk: 8192,
  delta: -1200,
  type: 'int16',
  channels: 'rgba',
};
/** 3 windows and 2 chunks and a tail: windows of 4, 4, 4 and 3 chunks, the last one short. */
export const MODEL_INPUT = randomBytes(3 * MODEL_RUN.window + 2 * MODEL_RUN.chunk + 8 * 10, 31);
const EXPECTED = expectedBrighten(MODEL_INPUT, MODEL_RUN.delta, MODEL_RUN.type, MODEL_RUN.channels);

export interface SweepCase {
  runWorkers: number;
  resumeWorkers: number;
  runSteps: number;
  /** Steps of the first resume before it is killed too; undefined: no second kill. */
  resumeSteps?: number;
  seed: number;
  /** Finish with the real resumeFile (worker threads) instead of a modelled resume to the end. */
  realResume: boolean;
}

export interface SweepOutcome {
  /** The run was killed before it finished its windows. */
  killedRun: boolean;
  /** The first resume was killed before it finished. */
  killedResume: boolean;
  identical: boolean;
}

/** Plays one case in `dir`; the file is removed afterwards. */
export async function playCase(dir: string, c: SweepCase, name: string): Promise<SweepOutcome> {
  const path = join(dir, `${name}.raw`);
  writeRaw(path, MODEL_INPUT);
  try {
    const killedRun = modelRun(path, { ...MODEL_RUN, workers: c.runWorkers }, c.runSteps, c.seed);
    let killedResume = false;
    if (c.resumeSteps !== undefined) {
      killedResume = modelResume(path, c.resumeWorkers, c.resumeSteps, c.seed * 7 + 1);
    }
    if (c.realResume) {
      await resumeFile(path, { workers: c.resumeWorkers, kernel: 'wasm-simd' });
    } else {
      modelResume(path, c.resumeWorkers, Number.POSITIVE_INFINITY, c.seed * 13 + 5);
      rmSync(journalPathFor(path));
    }
    const identical = !existsSync(journalPathFor(path)) && readFileSync(path).equals(EXPECTED);
    return { killedRun, killedResume, identical };
  } finally {
    rmSync(path, { force: true });
    rmSync(journalPathFor(path), { force: true });
  }
}

/** Steps an uninterrupted modelled run takes (chunks × 6 + windows). */
export const STEPS_PER_RUN = 15 * 6 + 4;
