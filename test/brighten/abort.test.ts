/** An aborted run rejects with an AbortError, as Node's own APIs do, and keeps its code ERR_ABORTED. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { adjustFile, brightenFile, RawbrightError, resumeFile } from '../../dist/index.js';
import { expectedBrighten, randomBytes, tempDir, writeRaw } from '../helpers/raw.js';

const MiB = 1024 * 1024;
const tmp = tempDir();
afterAll(() => tmp.cleanup());

let counter = 0;
function fixture(bytes: Buffer): string {
  const path = join(tmp.dir, `abort-${counter++}.raw`);
  writeRaw(path, bytes);
  return path;
}

const input = randomBytes(2 * MiB, 11);

/** Aborts with `reason` once `windows` windows are done. */
function abortAfter(windows: number, reason?: unknown) {
  const controller = new AbortController();
  return {
    signal: controller.signal,
    onProgress: (p: { windowsDone: number }) => {
      if (p.windowsDone === windows) controller.abort(reason);
    },
  };
}

describe('an aborted run', () => {
  it('brightenFile rejects with name AbortError, code ERR_ABORTED, the path and the reason as cause', async () => {
    const path = fixture(input);
    const reason = new Error('user pressed stop');
    const error = await brightenFile(path, {
      by: 99,
      window: 256 * 1024,
      kernel: 'js',
      ...abortAfter(2, reason),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RawbrightError);
    expect(error).toMatchObject({ name: 'AbortError', code: 'ERR_ABORTED', path, cause: reason });
    expect((error as Error).message).toMatch(/interrupted after 2 of 8 windows; run 'rawbright resume/);
    expect(String(error)).toMatch(/^AbortError: brightening /);
    // Resumable, byte for byte.
    expect(existsSync(`${path}.rawbright-journal`)).toBe(true);
    await resumeFile(path);
    expect(readFileSync(path).equals(expectedBrighten(input, 99))).toBe(true);
  });

  it('adjustFile rejects with an AbortError too', async () => {
    const path = fixture(input);
    await expect(
      adjustFile(path, {
        ops: [{ op: 'gain', value: 1.5 }],
        window: 256 * 1024,
        kernel: 'js',
        ...abortAfter(1),
      }),
    ).rejects.toMatchObject({ name: 'AbortError', code: 'ERR_ABORTED' });
  });

  it('a signal aborted before the run starts rejects with an AbortError and changes nothing', async () => {
    const path = fixture(input);
    const signal = AbortSignal.abort();
    for (const run of [
      () => brightenFile(path, { by: 5, signal }),
      () => adjustFile(path, { ops: [{ op: 'invert' }], signal }),
      () => brightenFile(path, { by: 5, signal, out: join(tmp.dir, 'never.raw') }),
    ]) {
      const error = await run().catch((e: unknown) => e);
      expect(error).toMatchObject({ name: 'AbortError', code: 'ERR_ABORTED' });
      // The signal's reason (a DOMException named AbortError) is the cause, as on Node's fs.
      expect((error as Error).cause).toBe(signal.reason);
    }
    expect(readFileSync(path).equals(input)).toBe(true);
    expect(existsSync(join(tmp.dir, 'never.raw'))).toBe(false);
  });

  it('a failure that is not an abort keeps its own name', async () => {
    const error = await brightenFile(join(tmp.dir, 'missing.raw'), { by: 1 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ENOENT' });
    expect((error as Error).name).not.toBe('AbortError');
  });
});
