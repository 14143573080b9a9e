/** An interrupted in-place run: a file part brightened, with its journal. */
import { expect } from 'vitest';
import { brightenFile } from '../../dist/index.js';

/** Brightens `path` in place by `by` in 256 KiB windows and aborts after the second window. */
export async function interruptRun(path: string, by: number): Promise<void> {
  const controller = new AbortController();
  await expect(
    brightenFile(path, {
      by,
      window: 256 * 1024,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.windowsDone === 2) controller.abort();
      },
    }),
  ).rejects.toMatchObject({ code: 'ERR_ABORTED' });
}
