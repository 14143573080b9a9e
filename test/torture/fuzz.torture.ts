/** The parser fuzzing of test/fuzz.test.ts with many more runs (see fuzz-properties.ts). */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { journalPathFor } from '../../dist/brighten/journal.js';
import { tempDir, writeRaw } from '../helpers/raw.js';
import {
  fuzzJournalFiles,
  fuzzJournalParams,
  fuzzSidecarFiles,
  fuzzSidecarParser,
  fuzzSizeParser,
} from './fuzz-properties.js';
import { modelRun } from './protocol-model.js';
import { MODEL_INPUT, MODEL_RUN } from './protocol-sweep.js';
import { record } from './tally.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const RUNS = Number(process.env.RAWBRIGHT_FUZZ_RUNS ?? 20_000);

describe('fuzzing the parsers', () => {
  it('parseSize', () => {
    const tried = fuzzSizeParser(RUNS);
    record({ what: 'fuzz: size parser (random, size-like, mutated, 128 KiB)', tried, survived: tried });
  });

  it('parseSidecar / checkMetadata / readSidecar', async () => {
    const tried = fuzzSidecarParser(RUNS) + (await fuzzSidecarFiles(tmp.dir, RUNS / 10));
    record({ what: 'fuzz: sidecar (text, records, arbitrary values, files)', tried, survived: tried });
  });

  it('parseJournalParams', () => {
    const path = join(tmp.dir, 'params.raw');
    writeRaw(path, MODEL_INPUT);
    const st = statSync(path);
    const tried = fuzzJournalParams(
      {
        version: 2,
        file: { path, size: st.size, dev: st.dev, ino: st.ino },
        by: MODEL_RUN.delta,
        type: MODEL_RUN.type,
        channels: MODEL_RUN.channels,
        offset: 0,
        length: st.size,
        window: MODEL_RUN.window,
        windows: Math.ceil(st.size / MODEL_RUN.window),
        chunk: MODEL_RUN.chunk,
        slots: 3,
      },
      RUNS,
    );
    record({ what: 'fuzz: journal parameters', tried, survived: tried });
  });

  it('Journal.open + restoreAndPlan on mutated journals (1, 2 and 3 slots)', () => {
    let tried = 0;
    let opened = 0;
    let planned = 0;
    for (const [workers, steps] of [
      [1, 17],
      [2, 41],
      [3, 60],
    ]) {
      const path = join(tmp.dir, `journal-${workers}.raw`);
      writeRaw(path, MODEL_INPUT);
      expect(modelRun(path, { ...MODEL_RUN, workers }, steps, workers)).toBe(true);
      const counts = fuzzJournalFiles(tmp.dir, journalPathFor(path), path, RUNS / 4);
      tried += counts.tried;
      opened += counts.opened;
      planned += counts.planned;
    }
    record({
      what: 'fuzz: journal files (Journal.open, restoreAndPlan)',
      tried,
      survived: tried,
      note: `${opened} got past the checksum and opened, ${planned} of them restored and planned; the rest refused with a code`,
    });
  });
});
