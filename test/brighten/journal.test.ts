import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  chunkSample,
  Journal,
  type JournalParams,
  journalPathFor,
  markPendingRun,
  markRun,
  parseJournalParams,
  slotRecord,
} from '../../dist/brighten/journal.js';
import { reserveInPlace } from '../../dist/brighten/plan.js';
import { MappedFile } from '../../dist/file/mapped-file.js';
import { resumeFile } from '../../dist/index.js';
import { createKernel } from '../../dist/kernels/index.js';
import { expectedBrighten, randomBytes, sha256, tempDir, writeRaw } from '../helpers/raw.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const CHUNK = 8 * 1024;
const WINDOW = 4 * CHUNK;
const input = randomBytes(3 * WINDOW + 2 * CHUNK + 8 * 10, 31);
const delta = -1200;
const expected = expectedBrighten(input, delta, 'int16', 'rgba');

function paramsFor(path: string): JournalParams {
  const st = statSync(path);
  return {
    version: 2,
    file: { path, size: st.size, dev: st.dev, ino: st.ino },
    by: delta,
    type: 'int16',
    channels: 'rgba',
    offset: 0,
    length: st.size,
    window: WINDOW,
    windows: Math.ceil(st.size / WINDOW),
    chunk: CHUNK,
    slots: 1,
  };
}

/**
 * Replays the worker's protocol step by step (copy to ring, mark saved, brighten the first half,
 * brighten the second half, mark done; after each window, the done byte) and stops after `steps`
 * steps, as a kill would. Returns false once the whole run fits in `steps`.
 */
function runStoppingAfter(path: string, steps: number): boolean {
  const params = paramsFor(path);
  Journal.create(journalPathFor(path), params).close();
  const journal = Journal.openForWorker(journalPathFor(path), params);
  const slot = journal.slot(0, false);
  const file = MappedFile.open(path, { access: 'readwrite' });
  const view = file.map();
  const kernel = createKernel('js', new WebAssembly.Memory({ initial: 1 }));
  const brighten = { delta, type: 'int16', channels: 'rgba' } as const;
  let taken = 0;
  const step = () => taken++ < steps;
  try {
    for (let index = 0; index < params.windows; index++) {
      const windowStart = index * WINDOW;
      const windowEnd = Math.min(windowStart + WINDOW, input.length);
      for (let at = windowStart; at < windowEnd; at += CHUNK) {
        const length = Math.min(CHUNK, windowEnd - at);
        const number = journal.layout.chunkNumber(index, at);
        const half = Math.floor(length / 16) * 8;
        if (!step()) return true;
        new Uint8Array(slot.buffer, slot.ringOffset, length).set(new Uint8Array(view.buffer, at, length));
        if (!step()) return true;
        slot.saved(number, length);
        if (!step()) return true;
        kernel.brighten(view.buffer, at, half, brighten);
        if (!step()) return true;
        kernel.brighten(view.buffer, at + half, length - half, brighten);
        if (!step()) return true;
        slot.finished(number, chunkSample(new Uint8Array(view.buffer, at, length)));
        if (!step()) return true;
        slot.done(number);
      }
      if (!step()) return true;
      journal.markDone(index, false, file);
    }
    return false;
  } finally {
    slot.close();
    journal.close();
    file.close();
  }
}

describe('the journal restores every crash point exactly', () => {
  it('a kill after any step of the protocol resumes to the uninterrupted bytes', async () => {
    let points = 0;
    for (let steps = 0; ; steps++) {
      const path = join(tmp.dir, `crash-${steps}.raw`);
      writeRaw(path, input);
      const stopped = runStoppingAfter(path, steps);
      const report = await resumeFile(path, {
        kernel: steps % 2 ? 'wasm-simd' : 'native',
        strategy: steps % 3 ? 'mmap' : 'pread',
      });
      expect(report.resumed).toBe(true);
      expect(readFileSync(path).equals(expected), `stopped after ${steps} steps`).toBe(true);
      expect(existsSync(journalPathFor(path))).toBe(false);
      points++;
      if (!stopped) break;
    }
    // 4 windows of 4, 4, 4 and 3 chunks: 15 chunks × 6 steps + 4 done bytes, plus the run that completes.
    expect(points).toBe(15 * 6 + 4 + 1);
  });
});

describe('corrupt journals are refused and the file is left as it is', () => {
  function interrupted(): string {
    const path = join(tmp.dir, `corrupt-${Math.random().toString(36).slice(2)}.raw`);
    writeRaw(path, input);
    runStoppingAfter(path, 27);
    return path;
  }

  // The header page, the done map's page and the sample table's page, then slot 0.
  const SLOT0 = 3 * 4096;
  const cases: [string, (journal: Buffer) => void][] = [
    ['a wrong magic', (j) => j.write('NOTAJRNL', 0, 'latin1')],
    ['a damaged parameters checksum', (j) => j.writeUInt32LE((j.readUInt32LE(12) ^ 1) >>> 0, 12)],
    ['a parameters length out of range', (j) => j.writeUInt32LE(100_000, 8)],
    ['a done map value other than 0 or 1', (j) => j.writeUInt8(7, 4096)],
    ['a slot with a broken magic', (j) => j.write('XXXXXXXX', SLOT0, 'latin1')],
    ['a slot naming a chunk past the run', (j) => j.writeBigUInt64LE(slotRecord(2 * 1000 + 1, 0), SLOT0 + 8)],
    ['a slot record with a damaged byte', (j) => j.writeUInt8(j.readUInt8(SLOT0 + 9) ^ 0x10, SLOT0 + 9)],
    ['a slot record with a damaged check', (j) => j.writeUInt8(j.readUInt8(SLOT0 + 14) ^ 1, SLOT0 + 14)],
    ['a done window turned back to not done', (j) => j.writeUInt8(0, 4096)],
    [
      "a done window's sample entry with a damaged byte",
      (j) => j.writeUInt8(j.readUInt8(8192 + 1) ^ 4, 8192 + 1),
    ],
    ['a window not done turned done', (j) => j.writeUInt32LE(1, 4096 + 4 * 3)],
  ];

  it('a saved chunk whose bytes were damaged is refused', async () => {
    const path = join(tmp.dir, `ring-${Math.random().toString(36).slice(2)}.raw`);
    writeRaw(path, input);
    // Stopped right after a chunk was saved (step 2 of a chunk's 6): the ring is relied on.
    runStoppingAfter(path, 25 + 6 + 2);
    const journalPath = journalPathFor(path);
    const bytes = readFileSync(journalPath);
    bytes[SLOT0 + 4096 + 100] ^= 0xff;
    writeFileSync(journalPath, bytes);
    const before = sha256(path);
    await expect(resumeFile(path)).rejects.toMatchObject({
      code: 'ERR_JOURNAL_CORRUPT',
      message: expect.stringContaining('saved chunk fails its checksum'),
    });
    expect(sha256(path)).toBe(before);
  });

  it.each(cases)('%s', async (_name, damage) => {
    const path = interrupted();
    const journalPath = journalPathFor(path);
    const bytes = readFileSync(journalPath);
    damage(bytes);
    writeFileSync(journalPath, bytes);
    const before = sha256(path);
    await expect(resumeFile(path)).rejects.toMatchObject({ code: 'ERR_JOURNAL_CORRUPT', path: journalPath });
    expect(sha256(path)).toBe(before);
  });

  it("a window left part way is checked against its slot's progress sample", async () => {
    // Stopped after window 0 (25 steps) and both steps of window 1's first chunk plus its second saved.
    const partWay = () => {
      const path = join(tmp.dir, `part-${Math.random().toString(36).slice(2)}.raw`);
      writeRaw(path, input);
      runStoppingAfter(path, 25 + 6 + 2);
      return path;
    };
    // Damage to the progress word the resume relies on: refused, file as it is.
    const damaged = partWay();
    const bytes = readFileSync(journalPathFor(damaged));
    bytes[SLOT0 + 24 + 2] ^= 0x40;
    writeFileSync(journalPathFor(damaged), bytes);
    const before = sha256(damaged);
    await expect(resumeFile(damaged)).rejects.toMatchObject({
      code: 'ERR_JOURNAL_CORRUPT',
      message: expect.stringContaining("slot 0's progress sample is damaged"),
    });
    expect(sha256(damaged)).toBe(before);
    // Window 1's changed first chunk put back to the original (window 0, done, left brightened): the
    // done windows' samples still match, the progress sample does not.
    const restored = partWay();
    const file = readFileSync(restored);
    input.copy(file, WINDOW, WINDOW, WINDOW + CHUNK);
    writeFileSync(restored, file);
    const kept = sha256(restored);
    await expect(resumeFile(restored)).rejects.toMatchObject({
      code: 'ERR_JOURNAL_STALE',
      message: expect.stringContaining('window 1 no longer holds what the run wrote'),
    });
    expect(sha256(restored)).toBe(kept);
    // Untouched, the same stop resumes to the uninterrupted bytes.
    const intact = partWay();
    await expect(resumeFile(intact)).resolves.toMatchObject({ resumed: true });
    expect(readFileSync(intact).equals(expected)).toBe(true);
  });

  it('a truncated journal, and one belonging to another file, are refused', async () => {
    const path = interrupted();
    const journalPath = journalPathFor(path);
    writeFileSync(journalPath, readFileSync(journalPath).subarray(0, 5000));
    await expect(resumeFile(path)).rejects.toMatchObject({ code: 'ERR_JOURNAL_CORRUPT' });
    const other = interrupted();
    const before = sha256(other);
    writeFileSync(journalPathFor(other), readFileSync(journalPathFor(interrupted())));
    await expect(resumeFile(other)).rejects.toMatchObject({ code: 'ERR_JOURNAL_MISMATCH' });
    expect(sha256(other)).toBe(before);
  });

  it('the parameters parser rejects anything out of shape', () => {
    const good = JSON.stringify(paramsFor(join(tmp.dir, `crash-0.raw`)));
    expect(() => parseJournalParams(good, 'j')).not.toThrow();
    for (const bad of [
      '',
      'null',
      '[]',
      good.replace('"version":2', '"version":1'),
      good.replace('"chunk":8192', '"chunk":12'),
      good.replace('"by":-1200', '"by":70000'),
      good.replace('"type":"int16"', '"type":"float"'),
      good.replace('"slots":1', '"slots":0'),
    ]) {
      expect(() => parseJournalParams(bad, 'j'), bad).toThrow(
        expect.objectContaining({ code: 'ERR_JOURNAL_CORRUPT' }),
      );
    }
  });
});

describe('reserving the range before a run', () => {
  it('refuses a file cut shorter than the range instead of extending it', () => {
    const path = join(tmp.dir, 'short.raw');
    writeRaw(path, input.subarray(0, 4096));
    const file = MappedFile.open(path, { access: 'readwrite' });
    try {
      expect(() => reserveInPlace(file, 0, 8192)).toThrow(
        expect.objectContaining({ code: 'ERR_FILE_TRUNCATED' }),
      );
      expect(statSync(path).size).toBe(4096);
      reserveInPlace(file, 0, 4096);
      expect(readFileSync(path).equals(input.subarray(0, 4096))).toBe(true);
    } finally {
      file.close();
    }
  });
});

describe('a run killed while its journal was being made', () => {
  function headerless(name: string, markJournal: boolean): string {
    const path = join(tmp.dir, name);
    writeRaw(path, input);
    const file = MappedFile.open(path, { access: 'readwrite' });
    try {
      expect(markRun(file, '0123456789abcdef')).toBe(true);
      const params = { ...paramsFor(path), run: '0123456789abcdef', marked: true };
      Journal.create(journalPathFor(path), params).close();
      if (markJournal) markPendingRun(file, journalPathFor(path));
    } finally {
      file.close();
    }
    // Killed after the slots were written and before the header: its page is still blank.
    const bytes = readFileSync(journalPathFor(path));
    bytes.fill(0, 0, 4096);
    writeFileSync(journalPathFor(path), bytes);
    return path;
  }

  it('before the file named its journal: nothing changed, resume clears it', async () => {
    const path = headerless('headerless-unmarked.raw', false);
    await expect(resumeFile(path)).resolves.toMatchObject({ resumed: false });
    expect(existsSync(journalPathFor(path))).toBe(false);
    expect(readFileSync(path).equals(input)).toBe(true);
  });

  it('once the file named its journal, a blank header is damage and is refused', async () => {
    const path = headerless('headerless-marked.raw', true);
    await expect(resumeFile(path)).rejects.toMatchObject({ code: 'ERR_JOURNAL_CORRUPT' });
    expect(readFileSync(path).equals(input)).toBe(true);
  });
});
