import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Journal, journalPathFor } from '../../dist/brighten/journal.js';
import { brightenFile, exportImage, MappedFile, resumeFile } from '../../dist/index.js';
import { interruptRun } from '../helpers/interrupted-run.js';
import { expectedBrighten, randomBytes, sha256, tempDir, writeRaw } from '../helpers/raw.js';

const MiB = 1024 * 1024;
const tmp = tempDir();
afterAll(() => tmp.cleanup());

let counter = 0;
function fixture(bytes: Buffer): string {
  const path = join(tmp.dir, `pending-${counter++}.raw`);
  writeRaw(path, bytes);
  return path;
}

/** Brightens part of a file, then aborts: an interrupted in-place run with its journal. */
async function interrupted(input: Buffer, by: number): Promise<string> {
  const path = fixture(input);
  await interruptRun(path, by);
  return path;
}

describe('an interrupted run is found through any path to its file', () => {
  const input = randomBytes(2 * MiB, 41);

  it('a new run through a symbolic link or a hard link is refused, and resume finishes the first', async () => {
    const path = await interrupted(input, 1000);
    const symlink = join(tmp.dir, 'symlink.raw');
    symlinkSync(path, symlink);
    const otherFolder = join(tmp.dir, 'elsewhere');
    mkdirSync(otherFolder);
    const hardlink = join(otherFolder, 'hardlink.raw');
    linkSync(path, hardlink);
    const before = sha256(path);
    for (const alias of [symlink, hardlink]) {
      await expect(brightenFile(alias, { by: 1000 })).rejects.toMatchObject({ code: 'ERR_JOURNAL_EXISTS' });
    }
    expect(sha256(path)).toBe(before);
    // Resume through the hard link finds the journal by the file's own mark.
    const report = await resumeFile(hardlink);
    expect(report.resumed).toBe(true);
    expect(readFileSync(path).equals(expectedBrighten(input, 1000))).toBe(true);
    expect(existsSync(journalPathFor(path))).toBe(false);
    // Finished: the file can be brightened again through any path.
    await brightenFile(symlink, { by: 1 });
    expect(readFileSync(path).equals(expectedBrighten(expectedBrighten(input, 1000), 1))).toBe(true);
  });

  it('out-of-place runs and exports refuse a half-brightened input', async () => {
    const path = await interrupted(input, 500);
    const before = sha256(path);
    await expect(brightenFile(path, { by: 1, out: join(tmp.dir, 'copy.raw') })).rejects.toMatchObject({
      code: 'ERR_JOURNAL_EXISTS',
    });
    await expect(
      exportImage(path, join(tmp.dir, 'half.png'), { width: 512, height: 512, type: 'uint16' }),
    ).rejects.toMatchObject({ code: 'ERR_JOURNAL_EXISTS' });
    expect(existsSync(join(tmp.dir, 'copy.raw'))).toBe(false);
    expect(existsSync(join(tmp.dir, 'half.png'))).toBe(false);
    expect(sha256(path)).toBe(before);
    await resumeFile(path);
    expect(readFileSync(path).equals(expectedBrighten(input, 500))).toBe(true);
  });
});

describe('brightenFile edge cases', () => {
  const input = randomBytes(MiB, 43);

  it('an onProgress that throws rejects the run instead of crashing the process', async () => {
    const path = fixture(input);
    const boom = new Error('boom from onProgress');
    await expect(
      brightenFile(path, {
        by: 300,
        window: 256 * 1024,
        onProgress: () => {
          throw boom;
        },
      }),
    ).rejects.toBe(boom);
    // Whatever it got through is recorded: resume completes it exactly.
    await resumeFile(path);
    expect(readFileSync(path).equals(expectedBrighten(input, 300))).toBe(true);
  });

  it('an empty range changes nothing and leaves no journal', async () => {
    const path = fixture(input);
    const report = await brightenFile(path, { by: 5, length: 0 });
    expect(report).toMatchObject({ bytes: 0, windows: 0 });
    expect(readFileSync(path).equals(input)).toBe(true);
    expect(existsSync(journalPathFor(path))).toBe(false);
    const tail = await brightenFile(path, { by: 5, offset: input.length });
    expect(tail.bytes).toBe(0);
    expect(existsSync(journalPathFor(path))).toBe(false);
  });

  it('a signal aborted before the start leaves no journal', async () => {
    const path = fixture(input);
    await expect(brightenFile(path, { by: 5, signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'ERR_ABORTED',
    });
    expect(existsSync(journalPathFor(path))).toBe(false);
    expect(readFileSync(path).equals(input)).toBe(true);
  });

  it('refuses more workers than a journal has slots for', async () => {
    await expect(brightenFile(fixture(input), { by: 1, workers: 65 })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
    });
  });

  it('two runs writing the same output each publish only a complete file', async () => {
    const path = fixture(input);
    const out = join(tmp.dir, 'shared-out.raw');
    const results = await Promise.allSettled([
      brightenFile(path, { by: 1000, out, window: 128 * 1024 }),
      brightenFile(path, { by: 7, out, window: 128 * 1024 }),
    ]);
    const fulfilled = results.filter((r) => r.status === 'fulfilled');
    expect(fulfilled.length).toBeGreaterThanOrEqual(1);
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'EEXIST' });
    const written = readFileSync(out);
    expect(written.equals(expectedBrighten(input, 1000)) || written.equals(expectedBrighten(input, 7))).toBe(
      true,
    );
    expect(readdirSync(tmp.dir).filter((name) => /\.rawbright-\d+-\w+\.tmp$/.test(name))).toEqual([]);
  });

  it('a durable run stays durable when resumed', async () => {
    const path = fixture(input);
    const controller = new AbortController();
    await expect(
      brightenFile(path, {
        by: 20,
        durable: true,
        window: 256 * 1024,
        signal: controller.signal,
        onProgress: () => controller.abort(),
      }),
    ).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    const journal = Journal.open(journalPathFor(path));
    expect(journal.params.durable).toBe(true);
    journal.close();
    await resumeFile(path);
    expect(readFileSync(path).equals(expectedBrighten(input, 20))).toBe(true);
  });

  it('a window closed while its async flush runs stays mapped until the flush is over', async () => {
    const path = fixture(input);
    const file = MappedFile.open(path, { access: 'readwrite' });
    for (let i = 0; i < 10; i++) {
      const window = file.map();
      new Uint8Array(window.buffer).fill(i);
      const flushed = window.flushAsync();
      window.close();
      await expect(flushed).resolves.toBeUndefined();
    }
    file.close();
    expect(readFileSync(path).every((b) => b === 9)).toBe(true);
  });
});
