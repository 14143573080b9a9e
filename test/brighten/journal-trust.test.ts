/**
 * A journal is applied only when the file's owner (or the running user) made it and nobody else could
 * have changed it; a file whose journal was lost is refused until the user accepts it as it is.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { journalPathFor } from '../../dist/brighten/journal.js';
import { brightenFile, exportImage, resumeFile } from '../../dist/index.js';
import { interruptRun } from '../helpers/interrupted-run.js';
import { expectedBrighten, randomBytes, sha256, tempDir, writeRaw } from '../helpers/raw.js';

const MiB = 1024 * 1024;
const CLI = new URL('../../dist/cli/index.js', import.meta.url).pathname;
const tmp = tempDir();
afterAll(() => tmp.cleanup());

const sha256Of = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

let counter = 0;
/** An in-place run aborted after two windows: a file part brightened, with its journal. */
async function interrupted(input: Buffer, by: number): Promise<string> {
  const path = join(tmp.dir, `trust-${counter++}.raw`);
  writeRaw(path, input);
  await interruptRun(path, by);
  expect(existsSync(journalPathFor(path))).toBe(true);
  return path;
}

describe('journals that cannot be trusted are refused, the file untouched', () => {
  const input = randomBytes(2 * MiB, 77);

  it('a journal others may write (group or world writable)', async () => {
    const path = await interrupted(input, 900);
    const before = sha256(path);
    chmodSync(journalPathFor(path), 0o666);
    await expect(resumeFile(path)).rejects.toMatchObject({ code: 'ERR_JOURNAL_UNTRUSTED' });
    expect(sha256(path)).toBe(before);
    // Made private again by its owner, it resumes to the uninterrupted result.
    chmodSync(journalPathFor(path), 0o600);
    await expect(resumeFile(path)).resolves.toMatchObject({ resumed: true });
    expect(readFileSync(path).equals(expectedBrighten(input, 900))).toBe(true);
  });

  it("a leftover copy of a finished run's journal, put back beside the file, is refused", async () => {
    const path = await interrupted(input, 905);
    const copy = readFileSync(journalPathFor(path));
    await expect(resumeFile(path)).resolves.toMatchObject({ resumed: true });
    const finished = sha256(path);
    expect(finished).toBe(sha256Of(expectedBrighten(input, 905)));
    writeFileSync(journalPathFor(path), copy, { mode: 0o600 });
    await expect(resumeFile(path)).rejects.toMatchObject({
      code: 'ERR_JOURNAL_STALE',
      message: expect.stringContaining('remove it'),
    });
    expect(sha256(path)).toBe(finished);
  });

  it('a journal that is a symbolic link', async () => {
    const path = await interrupted(input, 901);
    const before = sha256(path);
    const journal = journalPathFor(path);
    renameSync(journal, `${journal}.real`);
    symlinkSync(`${journal}.real`, journal);
    await expect(resumeFile(path)).rejects.toMatchObject({ code: 'ERR_JOURNAL_UNTRUSTED' });
    expect(sha256(path)).toBe(before);
  });

  it("a journal planted by another user beside the victim's file (as root: owned by nobody)", async () => {
    const path = await interrupted(input, 902);
    const before = sha256(path);
    const journal = journalPathFor(path);
    const root = process.getuid?.() === 0;
    // As root the journal is handed to nobody; as another user, that user cannot give a file away, and
    // the same refusal is reached through a mode that lets others write.
    if (root) chownSync(journal, 65534, 65534);
    else chmodSync(journal, 0o646);
    const result = spawnSync(process.execPath, [CLI, 'resume', path], { encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      root ? /belongs to uid 65534, not to the file's owner/ : /may be written by other users/,
    );
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(sha256(path)).toBe(before);
  });
});

describe('a journal lost part way (deleted or moved by hand)', () => {
  const input = randomBytes(2 * MiB, 78);

  it('is refused by brighten, resume and conversions until resume --discard accepts the file', async () => {
    const path = await interrupted(input, 700);
    const partly = readFileSync(path);
    rmSync(journalPathFor(path));
    await expect(brightenFile(path, { by: 700 })).rejects.toMatchObject({ code: 'ERR_JOURNAL_LOST' });
    await expect(resumeFile(path)).rejects.toMatchObject({ code: 'ERR_JOURNAL_LOST' });
    await expect(
      exportImage(path, join(tmp.dir, 'lost.png'), { width: 512, height: 512 }),
    ).rejects.toMatchObject({ code: 'ERR_JOURNAL_LOST' });
    const cli = spawnSync(process.execPath, [CLI, 'brighten', path, '--by', '700'], { encoding: 'utf8' });
    expect(cli.status).toBe(1);
    expect(cli.stderr).toMatch(/journal .* is gone.*rawbright resume .* --discard/);
    expect(readFileSync(path).equals(partly)).toBe(true);

    const discarded = spawnSync(process.execPath, [CLI, 'resume', path, '--discard'], { encoding: 'utf8' });
    expect(discarded.stderr).toBe('');
    expect(discarded.stdout).toMatch(/discarded the interrupted run/);
    expect(readFileSync(path).equals(partly)).toBe(true);
    await expect(brightenFile(path, { by: 1 })).resolves.toMatchObject({ bytes: 2 * MiB });
  });
});
