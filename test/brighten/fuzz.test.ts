/**
 * Fuzzing the parsers with fast-check (the quick version; `npm run torture` runs the same properties
 * many more times): the size parser, the sidecar parser and the journal, on random and mutated input.
 * Each either returns a valid value or throws a RawbrightError with a code, and never hangs.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { journalPathFor } from '../../dist/brighten/journal.js';
import { parseSize } from '../../dist/cli/size.js';
import { tempDir, writeRaw } from '../helpers/raw.js';
import {
  exactSize,
  fuzzJournalFiles,
  fuzzJournalParams,
  fuzzSidecarFiles,
  fuzzSidecarParser,
  fuzzSizeParser,
} from '../torture/fuzz-properties.js';
import { modelRun } from '../torture/protocol-model.js';
import { MODEL_INPUT, MODEL_RUN } from '../torture/protocol-sweep.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('parseSize', () => {
  it('agrees with an exact reference on random, size-like, mutated and very long text', () => {
    expect(fuzzSizeParser(300)).toBeGreaterThan(900);
  });

  it('is linear: a 128 KiB argument of blanks is refused at once', () => {
    // A digit, 131071 blanks and a stray character once took half a minute (backtracking regex).
    const started = performance.now();
    expect(() => parseSize(`1${' '.repeat(131_071)}!`)).toThrow(/must be a whole number of bytes/);
    expect(performance.now() - started).toBeLessThan(100);
  });

  it('refuses sizes that are not a whole number of bytes however they are written', () => {
    expect(exactSize('1.5')).toBeUndefined();
    expect(() => parseSize('1.0000000000000000001')).toThrow(/whole number of bytes/);
    expect(() => parseSize('0.1KiB')).toThrow(/whole number of bytes/);
    expect(parseSize('0.5KiB')).toBe(512);
    expect(parseSize('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => parseSize('9007199254740993')).toThrow(/whole number of bytes/);
  });
});

describe('parseSidecar and checkMetadata', () => {
  it('mutated sidecars, nearly valid records and arbitrary values', () => {
    expect(fuzzSidecarParser(300)).toBeGreaterThan(900);
  });

  it('sidecar files of random and mutated bytes through readSidecar', async () => {
    expect(await fuzzSidecarFiles(tmp.dir, 100)).toBe(100);
  });
});

describe('the journal', () => {
  it('parseJournalParams on mutated, nearly valid and arbitrary parameters', () => {
    const path = join(tmp.dir, 'params.raw');
    writeRaw(path, MODEL_INPUT);
    const st = statSync(path);
    const good = {
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
      slots: 2,
    };
    expect(fuzzJournalParams(good, 300)).toBe(900);
  });

  it('Journal.open and restoreAndPlan on mutated journal files', () => {
    const path = join(tmp.dir, 'journal.raw');
    writeRaw(path, MODEL_INPUT);
    // A run of two workers killed part way: both slots hold a state, some windows are done.
    expect(modelRun(path, { ...MODEL_RUN, workers: 2 }, 41, 5)).toBe(true);
    const { tried, opened, planned } = fuzzJournalFiles(tmp.dir, journalPathFor(path), path, 300);
    expect(tried).toBe(300);
    // The mutations reach past the checksum into the plan, not only into refusals.
    expect(opened).toBeGreaterThan(30);
    expect(planned).toBeGreaterThan(10);
  });
});
