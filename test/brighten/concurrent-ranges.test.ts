// Two processes brighten disjoint ranges of one file at the same time, each with its own journal
// (FILE.rawbright-journal.START-END) and range lock; an overlapping run is refused at once, naming the
// holder's range; one of the two killed mid-run is resumed while the other finishes. The result is
// checked against a saturating add computed here, sample by sample.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { journalPathFor } from '../../dist/brighten/journal.js';
import { brightenFile, resumeFile } from '../../dist/index.js';
import { randomBytes, tempDir, writeRaw } from '../helpers/raw.js';

const MiB = 1024 * 1024;
const tmp = tempDir();
afterAll(() => tmp.cleanup());
const CHILD = fileURLToPath(new URL('../helpers/ranged-run-child.mjs', import.meta.url));

/** uint16 RGBA little-endian, alpha left alone: min(65535, x + by) over [offset, offset + length). */
function applied(input: Buffer, edits: { offset: number; length: number; by: number }[]): Buffer {
  const out = Buffer.from(input);
  for (const { offset, length, by } of edits) {
    for (let at = offset; at < offset + length; at += 2) {
      if (((at / 2) | 0) % 4 === 3) continue;
      out.writeUInt16LE(Math.min(65535, out.readUInt16LE(at) + by), at);
    }
  }
  return out;
}

interface Child {
  process: ChildProcess;
  lines: AsyncIterator<string>;
  exit: Promise<number | null>;
}

function start(path: string, offset: number, length: number, by: number, barrier: string): Child {
  const child = spawn(process.execPath, [CHILD, path, String(offset), String(length), String(by), barrier], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { process: child, lines, exit };
}

async function next(child: Child): Promise<string> {
  const { value, done } = await child.lines.next();
  return done ? '(no more output)' : value;
}

describe('two processes brighten disjoint ranges of one file at once', () => {
  const input = randomBytes(8 * MiB, 1919);
  const ONE = { offset: MiB, length: 3 * MiB, by: 10 };
  const TWO = { offset: 5 * MiB, length: 2 * MiB, by: 20 };

  /**
   * A fresh copy of the input named `name`.raw and two child processes on it, ONE's range and TWO's,
   * both past 'started' (holding their range, journal written) and waiting on the barrier file.
   */
  async function startBoth(name: string) {
    const path = join(tmp.dir, `${name}.raw`);
    writeRaw(path, input);
    const barrier = join(tmp.dir, `${name}.go`);
    const one = start(path, ONE.offset, ONE.length, ONE.by, barrier);
    const two = start(path, TWO.offset, TWO.length, TWO.by, barrier);
    const kill = () => {
      one.process.kill('SIGKILL');
      two.process.kill('SIGKILL');
    };
    try {
      expect(await next(one)).toBe('started');
      expect(await next(two)).toBe('started');
    } catch (error) {
      kill();
      throw error;
    }
    return { path, barrier, one, two, kill };
  }

  it('both hold their ranges at the same moment, an overlapping run is refused, and the file equals both applied', async () => {
    const { path, barrier, one, two, kill } = await startBoth('both');
    try {
      // Both runs are live now: each has its own journal, named by its range.
      expect(existsSync(journalPathFor(path, ONE))).toBe(true);
      expect(existsSync(journalPathFor(path, TWO))).toBe(true);
      expect(existsSync(journalPathFor(path))).toBe(false);
      const overlapping = brightenFile(path, { by: 1, offset: 6 * MiB, length: 2 * MiB });
      await expect(overlapping).rejects.toMatchObject({ code: 'ERR_RANGE_LOCKED' });
      await expect(overlapping).rejects.toThrow(/exclusive lock on bytes 5242880…7340032/);
      await expect(brightenFile(path, { by: 1 })).rejects.toMatchObject({ code: 'ERR_RANGE_LOCKED' });
      writeFileSync(barrier, '');
      expect(await next(one)).toBe(`done ${ONE.length}`);
      expect(await next(two)).toBe(`done ${TWO.length}`);
      expect(await one.exit).toBe(0);
      expect(await two.exit).toBe(0);
    } finally {
      kill();
    }
    expect(readFileSync(path).equals(applied(input, [ONE, TWO]))).toBe(true);
    expect(existsSync(journalPathFor(path, ONE))).toBe(false);
    expect(existsSync(journalPathFor(path, TWO))).toBe(false);
  });

  it('one killed mid-run is resumed while the other finishes; the file equals both applied', async () => {
    const { path, barrier, one, two, kill } = await startBoth('killed');
    try {
      two.process.kill('SIGKILL');
      await two.exit;
      // Process two's range is interrupted: a new run over it is refused, naming the range.
      await expect(brightenFile(path, { by: 1, offset: 6 * MiB, length: 8 })).rejects.toThrow(
        /has an interrupted run over bytes 5242880…7340032/,
      );
      // Resumed while process one is still live: its range is left (busy), process two's is finished.
      const resumed = await resumeFile(path);
      expect(resumed.resumed).toBe(true);
      expect(resumed.ranges).toEqual([
        expect.objectContaining({
          range: { offset: ONE.offset, length: ONE.length },
          busy: expect.any(String),
        }),
        expect.objectContaining({ range: { offset: TWO.offset, length: TWO.length }, resumed: true }),
      ]);
      expect(existsSync(journalPathFor(path, TWO))).toBe(false);
      expect(existsSync(journalPathFor(path, ONE))).toBe(true);
      writeFileSync(barrier, '');
      expect(await next(one)).toBe(`done ${ONE.length}`);
      expect(await one.exit).toBe(0);
    } finally {
      kill();
    }
    expect(readFileSync(path).equals(applied(input, [ONE, TWO]))).toBe(true);
    expect(existsSync(journalPathFor(path, ONE))).toBe(false);
    expect(await resumeFile(path)).toEqual({ resumed: false, path });
  });

  it('resume finishes every interrupted range of the file, each named in its report', async () => {
    const { path, one, two, kill } = await startBoth('two-killed');
    kill();
    await Promise.all([one.exit, two.exit]);
    await expect(brightenFile(path, { by: 1 })).rejects.toMatchObject({ code: 'ERR_JOURNAL_EXISTS' });
    const resumed = await resumeFile(path);
    expect(resumed).toMatchObject({ resumed: true, bytes: expect.any(Number) });
    expect(resumed.ranges?.map((r) => [r.range, r.resumed])).toEqual([
      [{ offset: ONE.offset, length: ONE.length }, true],
      [{ offset: TWO.offset, length: TWO.length }, true],
    ]);
    expect(readFileSync(path).equals(applied(input, [ONE, TWO]))).toBe(true);
  });
});
