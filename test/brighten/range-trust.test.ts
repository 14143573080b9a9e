/**
 * Ranged runs (offset/length, each with its own journal FILE.rawbright-journal.START-END) meet a journal
 * for their range that another local user planted or owns: it is refused before a byte of the file
 * changes. As root the other user is nobody (setpriv, from a world-readable copy), in a sticky folder
 * both may write, as in /tmp.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { journalPathFor } from '../../dist/brighten/journal.js';
import { brightenFile, resumeFile } from '../../dist/index.js';
import { unprivilegedUser } from '../helpers/other-user.js';
import { randomBytes, sha256, tempDir, writeRaw } from '../helpers/raw.js';
import { AS_SECOND_USER, SECOND_UID } from '../helpers/second-user.js';

const MiB = 1024 * 1024;
const CLI = new URL('../../dist/cli/index.js', import.meta.url).pathname;
const RANGE = { offset: 512 * 1024, length: MiB };
const tmp = tempDir();
const user = unprivilegedUser();
afterAll(() => {
  user.cleanup();
  tmp.cleanup();
});

// The shared folder: sticky and world-writable, reachable by the other user.
chmodSync(tmp.dir, 0o755);
const shared = join(tmp.dir, 'shared');
mkdirSync(shared);
chmodSync(shared, 0o1777);

/** A ranged in-place run over RANGE, aborted after its second 256 KiB window: its range journal stays. */
async function interruptRanged(path: string, by: number): Promise<void> {
  const controller = new AbortController();
  await expect(
    brightenFile(path, {
      by,
      ...RANGE,
      window: 256 * 1024,
      workers: 1,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.windowsDone === 2) controller.abort();
      },
    }),
  ).rejects.toMatchObject({ code: 'ERR_ABORTED' });
  expect(existsSync(journalPathFor(path, RANGE))).toBe(true);
}

/** Writes `bytes` to `path` (mode 0600) as the other user; as any other user than root, as itself. */
function writeAsOtherUser(path: string, bytes: Buffer): void {
  // The bytes go through stdin: a journal is too long for an argument.
  const script = `require('node:fs').writeFileSync(${JSON.stringify(path)}, require('node:fs').readFileSync(0), { mode: 0o600, flag: 'wx' })`;
  // Not as root, no other user can be had: the journal is made writable by others instead, which is
  // refused as surely (as journal-trust.test.ts does).
  const [command, args] = user.isOtherUser
    ? ['setpriv', [...AS_SECOND_USER, process.execPath, '-e', script]]
    : [process.execPath, ['-e', `${script}; require('node:fs').chmodSync(${JSON.stringify(path)}, 0o646)`]];
  const result = spawnSync(command, args, { input: bytes, encoding: 'utf8' });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
}

const cli = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

describe("a range journal of another user's is refused before a byte changes", () => {
  const input = randomBytes(2 * MiB, 313);
  const rangeArgs = ['--offset', String(RANGE.offset), '--length', String(RANGE.length)];

  it("nobody's journal planted for the range of root's interrupted ranged run: resume and brighten refuse it", async () => {
    const path = join(shared, 'victim.raw');
    writeRaw(path, input);
    await interruptRanged(path, 600);
    const journal = journalPathFor(path, RANGE);
    // The genuine journal is gone and nobody puts the same bytes back under its name.
    const genuine = readFileSync(journal);
    rmSync(journal);
    writeAsOtherUser(journal, genuine);
    if (user.isOtherUser) expect(statSync(journal).uid).toBe(SECOND_UID);
    const before = sha256(path);

    const resumed = cli(['resume', path]);
    expect(resumed.status).toBe(1);
    expect(resumed.stderr).toMatch(
      user.isOtherUser
        ? /belongs to uid 65534, not to the file's owner \(uid 0\)/
        : /may be written by other users/,
    );
    expect(resumed.stderr.trim().split('\n')).toHaveLength(1);
    await expect(resumeFile(path)).rejects.toMatchObject({ code: 'ERR_JOURNAL_UNTRUSTED' });
    // A new run over the same range (or over the whole file) does not start either.
    const again = cli(['brighten', path, '--by', '600', ...rangeArgs]);
    expect(again.status).toBe(1);
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
    await expect(brightenFile(path, { by: 600, ...RANGE })).rejects.toHaveProperty('code');
    await expect(brightenFile(path, { by: 600 })).rejects.toHaveProperty('code');
    expect(sha256(path)).toBe(before);
    expect(existsSync(journal)).toBe(true);
  });

  it("a range journal planted by nobody beside root's untouched file is never applied to it", async () => {
    // The journal is genuine, of an interrupted ranged run of a copy with the same size and range.
    const copy = join(shared, 'copy.raw');
    writeRaw(copy, input);
    await interruptRanged(copy, 700);
    const path = join(shared, 'clean.raw');
    writeRaw(path, input);
    writeAsOtherUser(journalPathFor(path, RANGE), readFileSync(journalPathFor(copy, RANGE)));
    const before = sha256(path);

    // The file carries no mark of a run over the range, so the journal is not its own: not applied, and
    // resume and brighten both say why and what to do, in one line.
    const resumed = cli(['resume', path]);
    expect(resumed.status).toBe(1);
    expect(resumed.stderr).toMatch(
      user.isOtherUser
        ? /belongs to uid 65534, not to the file's owner \(uid 0\)/
        : /may be written by other users/,
    );
    expect(resumed.stderr).toMatch(/nothing was changed \(remove it if it is not yours\)/);
    expect(resumed.stderr.trim().split('\n')).toHaveLength(1);
    await expect(resumeFile(path)).rejects.toMatchObject({ code: 'ERR_JOURNAL_UNTRUSTED' });
    await expect(brightenFile(path, { by: 700, ...RANGE })).rejects.toMatchObject({
      code: 'ERR_JOURNAL_UNTRUSTED',
    });
    expect(sha256(path)).toBe(before);
    // Once removed, the file is the user's again.
    rmSync(journalPathFor(path, RANGE));
    await expect(resumeFile(path)).resolves.toMatchObject({ resumed: false });
    // The copy, whose journal is its owner's, still resumes.
    await expect(resumeFile(copy)).resolves.toMatchObject({ resumed: true });
  });

  it("as the unprivileged user: a range journal of root's beside the user's own file is never applied", async () => {
    const path = join(shared, 'own.raw');
    writeRaw(path, input);
    chmodSync(path, 0o666);
    const asUser = (args: string[]) => {
      const [command, commandArgs] = user.command([user.path('dist/cli/index.js'), ...args]);
      return spawnSync(command, commandArgs, { encoding: 'utf8' });
    };
    // A whole ranged run as the user shows it may change the file.
    const run = asUser(['brighten', path, '--by', '800', ...rangeArgs]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    if (user.isOtherUser) chownSync(path, SECOND_UID, SECOND_UID);
    const after = sha256(path);
    // Root's journal bytes, of an interrupted ranged run of a root-owned copy, under the file's range name.
    const source = join(shared, 'roots.raw');
    writeRaw(source, input);
    await interruptRanged(source, 900);
    writeRaw(journalPathFor(path, RANGE), readFileSync(journalPathFor(source, RANGE)));
    chmodSync(journalPathFor(path, RANGE), 0o600);
    const resumed = asUser(['resume', path]);
    expect(resumed.status).toBe(1);
    expect(resumed.stderr).toMatch(
      user.isOtherUser ? /belongs to uid 0, not to the file's owner \(uid 65534\)/ : /no run on/,
    );
    expect(resumed.stderr.trim().split('\n')).toHaveLength(1);
    expect(sha256(path)).toBe(after);
  });
});
