// An in-place brightenFile holds an OFD byte-range lock over the bytes it changes: a holder of a
// range lock there (MappedFile.lockRange, here or in another process) refuses the run at once,
// naming its range; a run over disjoint bytes proceeds; the run's own lock is gone when it ends.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { journalPathFor } from '../../dist/brighten/journal.js';
import { brightenFile, MappedFile, resumeFile } from '../../dist/index.js';
import { interruptRun } from '../helpers/interrupted-run.js';
import { expectedBrighten, randomBytes, tempDir, writeRaw } from '../helpers/raw.js';

const MiB = 1024 * 1024;
const tmp = tempDir();
afterAll(() => tmp.cleanup());

let counter = 0;
function fixture(bytes: Buffer): string {
  const path = join(tmp.dir, `range-${counter++}.raw`);
  writeRaw(path, bytes);
  return path;
}

describe('brightenFile and byte-range locks', () => {
  const input = randomBytes(4 * MiB, 19);

  it('a whole-file run is refused while a range lock is held, naming the range, and changes nothing', async () => {
    const path = fixture(input);
    const holder = MappedFile.open(path, { access: 'readwrite' });
    try {
      holder.lockRange(MiB, 64 * 1024, 'exclusive');
      const refused = brightenFile(path, { by: 500 });
      await expect(refused).rejects.toMatchObject({ code: 'ERR_RANGE_LOCKED' });
      await expect(refused).rejects.toThrow(
        /exclusive lock on bytes 1048576…1114112; OFD locks report pid -1/,
      );
      expect(readFileSync(path).equals(input)).toBe(true);
      // An overlapping range run is refused too; a disjoint one proceeds.
      await expect(brightenFile(path, { by: 500, offset: MiB + 4096, length: 8192 })).rejects.toMatchObject({
        code: 'ERR_RANGE_LOCKED',
      });
      await brightenFile(path, { by: 500, offset: 2 * MiB, length: MiB });
      expect(readFileSync(path).equals(expectedBrighten(input, 500, 'uint16', 'rgb', 2 * MiB, MiB))).toBe(
        true,
      );
    } finally {
      holder.close();
    }
    // The holder is gone: the whole-file run goes through, and leaves no range lock behind.
    await brightenFile(path, { by: 7 });
    const after = MappedFile.open(path, { access: 'readwrite' });
    try {
      expect(after.rangeHolder(0, 0, 'exclusive')).toBeUndefined();
    } finally {
      after.close();
    }
    const once = expectedBrighten(input, 500, 'uint16', 'rgb', 2 * MiB, MiB);
    expect(readFileSync(path).equals(expectedBrighten(once, 7))).toBe(true);
  });

  it('resume is refused while a range lock is held over the run, keeps the journal, and finishes later', async () => {
    const path = fixture(input);
    await interruptRun(path, 900);
    const half = readFileSync(path);
    const holder = MappedFile.open(path, { access: 'readwrite' });
    try {
      holder.lockRange(3 * MiB, 16, 'shared');
      await expect(resumeFile(path)).rejects.toMatchObject({ code: 'ERR_RANGE_LOCKED' });
      expect(readFileSync(path).equals(half)).toBe(true);
      expect(existsSync(journalPathFor(path))).toBe(true);
    } finally {
      holder.close();
    }
    expect((await resumeFile(path)).resumed).toBe(true);
    expect(readFileSync(path).equals(expectedBrighten(input, 900))).toBe(true);
    expect(existsSync(journalPathFor(path))).toBe(false);
  });
});
