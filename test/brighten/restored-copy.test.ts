/**
 * A file restored from a copy over the same inode after an interrupted run (`cp backup.raw f.raw`: cp
 * keeps the inode, the size and the run's markers) is refused by resume instead of being "resumed" with
 * wrong bytes: every done window's sample of bytes, recorded in the journal, no longer matches the file.
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Journal, journalPathFor } from '../../dist/brighten/journal.js';
import { brightenFile, resumeFile } from '../../dist/index.js';
import { interruptRun } from '../helpers/interrupted-run.js';
import { expectedBrighten, randomBytes, tempDir, writeRaw } from '../helpers/raw.js';
import { journalState } from '../torture/kill-harness.js';

const MiB = 1024 * 1024;
const CLI = new URL('../../dist/cli/index.js', import.meta.url).pathname;
const tmp = tempDir();
afterAll(() => tmp.cleanup());

let counter = 0;
function fixture(bytes: Buffer): { path: string; backup: string } {
  const path = join(tmp.dir, `restored-${counter++}.raw`);
  writeRaw(path, bytes);
  const backup = `${path}.backup`;
  copyFileSync(path, backup);
  return { path, backup };
}

/** `cp backup path` with the real cp, which writes over the same inode; asserts the inode is kept. */
function restoreWithCp(backup: string, path: string): void {
  const ino = statSync(path).ino;
  const cp = spawnSync('cp', [backup, path], { encoding: 'utf8' });
  expect(cp.status, cp.stderr).toBe(0);
  expect(statSync(path).ino).toBe(ino);
}

/** Runs the CLI with `args` and SIGKILLs it as soon as `when()` holds (or lets it end first). */
async function killCliWhen(args: string[], when: () => boolean): Promise<void> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: 'ignore' });
  const exited = new Promise<void>((done) => child.on('exit', () => done()));
  let over = false;
  exited.then(() => {
    over = true;
  });
  while (!over && !when()) await new Promise((r) => setImmediate(r));
  child.kill('SIGKILL');
  await exited;
}

/** Refused with ERR_JOURNAL_STALE, the file as restored and the journal still there; then --discard works. */
async function expectRefusedThenDiscard(path: string, backup: string, by: number): Promise<void> {
  const restored = readFileSync(backup);
  const journal = journalPathFor(path);
  await expect(resumeFile(path)).rejects.toMatchObject({
    code: 'ERR_JOURNAL_STALE',
    message: expect.stringMatching(
      /changed since its run was interrupted \(window \d+ no longer holds what the run wrote\).*nothing was changed.*rawbright resume .* --discard/,
    ),
  });
  expect(readFileSync(path).equals(restored)).toBe(true);
  expect(existsSync(journal)).toBe(true);
  // The CLI says it in one line, with a non-zero exit.
  const cli = spawnSync(process.execPath, [CLI, 'resume', path], { encoding: 'utf8' });
  expect(cli.status).toBe(1);
  expect(cli.stderr.trim().split('\n')).toHaveLength(1);
  expect(cli.stderr).toMatch(/restored from a copy/);
  expect(readFileSync(path).equals(restored)).toBe(true);
  expect(existsSync(journal)).toBe(true);
  // The user accepts the restored file as it is; then it can be brightened again, from the original.
  await expect(resumeFile(path, { discard: true })).resolves.toMatchObject({ discarded: true });
  expect(existsSync(journal)).toBe(false);
  expect(readFileSync(path).equals(restored)).toBe(true);
  await brightenFile(path, { by });
  expect(readFileSync(path).equals(expectedBrighten(restored, by))).toBe(true);
}

describe('a file restored from a copy over the same inode after an interrupted run', () => {
  const input = randomBytes(2 * MiB, 113);

  it('is refused by resume (aborted run), nothing changed, and resume --discard accepts it', async () => {
    const { path, backup } = fixture(input);
    await interruptRun(path, 900);
    const journal = Journal.open(journalPathFor(path));
    expect(journal.doneWindows().reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(2);
    journal.close();
    restoreWithCp(backup, path);
    await expectRefusedThenDiscard(path, backup, 900);
  });

  it('is refused after a durable run too', async () => {
    const { path, backup } = fixture(input);
    const controller = new AbortController();
    await expect(
      brightenFile(path, {
        by: -700,
        durable: true,
        window: 256 * 1024,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.windowsDone === 2) controller.abort();
        },
      }),
    ).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    restoreWithCp(backup, path);
    await expectRefusedThenDiscard(path, backup, -700);
  });

  it('is refused after a SIGKILL part way through the CLI run', async () => {
    const big = randomBytes(48 * MiB, 114);
    let refused = 0;
    // A kill that lands after the run finished (or before a window was done) proves nothing: try again.
    for (let attempt = 0; attempt < 5 && refused === 0; attempt++) {
      const { path, backup } = fixture(big);
      await killCliWhen(
        ['brighten', path, '--by', '333', '--window', '64K'],
        () => (journalState(path)?.done ?? 0) >= 2,
      );
      if (!existsSync(journalPathFor(path))) continue;
      const state = journalState(path);
      if (state === undefined || state.done === 0) {
        await resumeFile(path, { discard: true });
        continue;
      }
      restoreWithCp(backup, path);
      await expectRefusedThenDiscard(path, backup, 333);
      refused++;
    }
    expect(refused).toBe(1);
  }, 120_000);

  it('is refused after a SIGKILL in the middle of a window (its slot checked, not only done windows)', async () => {
    const big = randomBytes(64 * MiB, 115);
    let refused = 0;
    // Windows of 16 MiB in 1 MiB chunks: kill once a slot names a chunk past its window's first.
    for (let attempt = 0; attempt < 10 && refused === 0; attempt++) {
      const { path, backup } = fixture(big);
      const partWay = () => {
        const state = journalState(path);
        return (
          state !== undefined && state.done === 0 && state.states.some((s) => s >= 0 && (s >> 1) % 16 >= 2)
        );
      };
      await killCliWhen(['brighten', path, '--by', '-321', '--window', '16M'], partWay);
      const state = journalState(path);
      if (state === undefined || state.done !== 0 || !state.states.some((s) => s >= 2)) {
        if (existsSync(journalPathFor(path))) await resumeFile(path, { discard: true });
        continue;
      }
      restoreWithCp(backup, path);
      await expectRefusedThenDiscard(path, backup, -321);
      refused++;
    }
    expect(refused).toBe(1);
  }, 180_000);

  it('the same kill without the restore still resumes to the uninterrupted bytes', async () => {
    const { path } = fixture(input);
    await interruptRun(path, 1200);
    await expect(resumeFile(path)).resolves.toMatchObject({ resumed: true });
    expect(readFileSync(path).equals(expectedBrighten(input, 1200))).toBe(true);
    expect(existsSync(journalPathFor(path))).toBe(false);
  });
});
