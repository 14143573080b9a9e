import { existsSync, readdirSync, readFileSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { brightenFile, brightenFiles, resumeFile } from '../../dist/index.js';
import { expectedBrighten, randomBytes, tempDir, writeRaw } from '../helpers/raw.js';

const MiB = 1024 * 1024;
const tmp = tempDir();
afterAll(() => tmp.cleanup());

let counter = 0;
function fixture(bytes: Buffer): string {
  const path = join(tmp.dir, `in-thread-${counter++}.raw`);
  writeRaw(path, bytes);
  return path;
}

describe('a one-worker run on the calling thread (inThread)', () => {
  const input = randomBytes(3 * MiB + 8 * 11, 21);

  it.each([
    ['mmap', true],
    ['mmap', false],
    ['pread', true],
    ['pread', false],
  ] as const)('strategy %s, journal %s: the same bytes as on a worker thread', async (strategy, journal) => {
    const here = fixture(input);
    const there = fixture(input);
    const options = { by: 777, window: MiB, strategy, journal };
    const hereReport = await brightenFile(here, { ...options, inThread: true });
    const thereReport = await brightenFile(there, options);
    expect(hereReport).toMatchObject({ thread: 'main', workers: 1, windows: 4, journal });
    expect(thereReport).toMatchObject({ thread: 'worker', workers: 1 });
    expect(readFileSync(here).equals(expectedBrighten(input, 777))).toBe(true);
    expect(readFileSync(there).equals(readFileSync(here))).toBe(true);
    expect(existsSync(`${here}.rawbright-journal`)).toBe(false);
  });

  it('out of place: the same output, the input untouched', async () => {
    const path = fixture(input);
    const out = join(tmp.dir, `in-thread-out-${counter++}.raw`);
    const report = await brightenFile(path, { by: -5000, out, inThread: true, window: MiB });
    expect(report.thread).toBe('main');
    expect(readFileSync(path).equals(input)).toBe(true);
    expect(readFileSync(out).equals(expectedBrighten(input, -5000))).toBe(true);
  });

  it('more than one worker asked for: the first on this thread, the others on worker threads beside it', async () => {
    const path = fixture(input);
    const seen: number[] = [];
    const report = await brightenFile(path, {
      by: 3,
      window: MiB,
      workers: 2,
      inThread: true,
      onProgress: (p) => seen.push(p.windowsDone),
    });
    expect(report).toMatchObject({ thread: 'both', workers: 2, windows: 4 });
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(readFileSync(path).equals(expectedBrighten(input, 3))).toBe(true);
    expect(existsSync(`${path}.rawbright-journal`)).toBe(false);
  });

  it('two at once: the second runs on a worker thread, and both are right', async () => {
    const a = fixture(input);
    const b = fixture(input);
    const [ra, rb] = await Promise.all([
      brightenFile(a, { by: 100, window: MiB, inThread: true }),
      brightenFile(b, { by: 200, window: MiB, inThread: true }),
    ]);
    expect([ra.thread, rb.thread].sort()).toEqual(['main', 'worker']);
    expect(readFileSync(a).equals(expectedBrighten(input, 100))).toBe(true);
    expect(readFileSync(b).equals(expectedBrighten(input, 200))).toBe(true);
  });

  it('an abort finishes the window in hand, keeps the journal, and resume (in thread too) completes it', async () => {
    const path = fixture(input);
    const controller = new AbortController();
    const seen: number[] = [];
    const run = brightenFile(path, {
      by: 4321,
      window: 512 * 1024,
      inThread: true,
      signal: controller.signal,
      onProgress: (p) => {
        seen.push(p.windowsDone);
        if (p.windowsDone === 2) controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'ERR_ABORTED', message: /after 2 of 7 windows/ });
    expect(seen).toEqual([1, 2]);
    expect(existsSync(`${path}.rawbright-journal`)).toBe(true);
    const report = await resumeFile(path, { inThread: true });
    expect(report).toMatchObject({ resumed: true, thread: 'main' });
    expect(readFileSync(path).equals(expectedBrighten(input, 4321))).toBe(true);
  });

  it('on both threads: an abort stops both, keeps the journal, and resume completes it', async () => {
    const path = fixture(input);
    const controller = new AbortController();
    const run = brightenFile(path, {
      by: 777,
      window: 256 * 1024,
      workers: 2,
      inThread: true,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.windowsDone === 2) controller.abort();
      },
    });
    // The worker thread may finish the windows it holds (two at most) after the abort.
    const error = await run.then(
      () => undefined,
      (e: unknown) => e as { code?: string; message: string },
    );
    expect(error?.code).toBe('ERR_ABORTED');
    const done = Number(/after (\d+) of 13 windows/.exec(error?.message ?? '')?.[1]);
    expect(done).toBeGreaterThanOrEqual(2);
    expect(done).toBeLessThan(13);
    expect(existsSync(`${path}.rawbright-journal`)).toBe(true);
    const report = await resumeFile(path, { inThread: true, workers: 2 });
    expect(report).toMatchObject({ resumed: true });
    expect(readFileSync(path).equals(expectedBrighten(input, 777))).toBe(true);
  });

  it('on both threads: a window that fails on the calling thread stops the run, and resume completes it', async () => {
    const path = fixture(input);
    let calls = 0;
    const run = brightenFile(path, {
      by: 555,
      window: 256 * 1024,
      workers: 2,
      inThread: true,
      onProgress: () => {
        calls++;
        if (calls === 3) throw new Error('display broke');
      },
    });
    await expect(run).rejects.toThrow('display broke');
    expect(existsSync(`${path}.rawbright-journal`)).toBe(true);
    await resumeFile(path, { inThread: true, workers: 2 });
    expect(readFileSync(path).equals(expectedBrighten(input, 555))).toBe(true);
  });

  it('a failing progress callback rejects the run, and the next in-thread run still gets the thread', async () => {
    const path = fixture(input);
    const run = brightenFile(path, {
      by: 1,
      window: MiB,
      journal: false,
      inThread: true,
      onProgress: () => {
        throw new Error('display broke');
      },
    });
    await expect(run).rejects.toThrow('display broke');
    const next = fixture(input);
    const report = await brightenFile(next, { by: 9, window: MiB, inThread: true });
    expect(report.thread).toBe('main');
    expect(readFileSync(next).equals(expectedBrighten(input, 9))).toBe(true);
  });

  it('rejects an inThread that is not a boolean', async () => {
    await expect(brightenFile(fixture(input), { by: 1, inThread: 'yes' as never })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARG_VALUE',
    });
  });
});

describe('a batch on the calling thread reuses its kernel', () => {
  const input = randomBytes(2 * MiB, 33);

  it('brightenFiles: one report per file, the same bytes as worker threads, the kernel instantiated once', async () => {
    const paths = [fixture(input), fixture(input), fixture(input)];
    const reference = [fixture(input), fixture(input), fixture(input)];
    const options = { by: 1500, window: 512 * 1024, kernel: 'wasm' as const };
    const reports = await brightenFiles(paths, { ...options, inThread: true });
    const onWorkers = await brightenFiles(reference, options);
    expect(reports.map((r) => r.path)).toEqual(paths);
    expect(reports.map((r) => r.thread)).toEqual(['main', 'main', 'main']);
    expect(reports.slice(1).map((r) => r.kernelReused)).toEqual([true, true]);
    // On worker threads, the batch keeps its worker (and the worker its kernel) from file to file.
    expect(onWorkers.map((r) => r.thread)).toEqual(['worker', 'worker', 'worker']);
    expect(onWorkers.slice(1).map((r) => r.kernelReused)).toEqual([true, true]);
    for (const [i, path] of paths.entries()) {
      expect(reports[i]).toMatchObject({ bytes: input.length, windows: 4 });
      expect(readFileSync(path).equals(expectedBrighten(input, 1500))).toBe(true);
      expect(readFileSync(reference[i]!).equals(readFileSync(path))).toBe(true);
    }
  });

  it('a new window size or kernel gets a new kernel host, and the results stay right', async () => {
    const a = fixture(input);
    const b = fixture(input);
    await brightenFile(a, { by: 10, window: 256 * 1024, kernel: 'js', inThread: true });
    const report = await brightenFile(b, { by: 10, window: MiB, kernel: 'wasm-simd', inThread: true });
    expect(report.kernelReused).toBe(false);
    expect(readFileSync(a).equals(expectedBrighten(input, 10))).toBe(true);
    expect(readFileSync(b).equals(expectedBrighten(input, 10))).toBe(true);
  });

  it('a file that fails part way does not poison the next file on the reused kernel', async () => {
    const good = fixture(input);
    const bad = fixture(input);
    const options = { by: 2000, window: 512 * 1024, journal: false, inThread: true };
    await brightenFile(fixture(input), options);
    await expect(
      brightenFile(bad, {
        ...options,
        onProgress: (p) => {
          if (p.windowsDone === 2) throw new Error('stop here');
        },
      }),
    ).rejects.toThrow('stop here');
    await expect(
      brightenFiles([fixture(input), join(tmp.dir, 'missing.raw')], options),
    ).rejects.toMatchObject({
      code: 'ENOENT',
    });
    const report = await brightenFile(good, options);
    expect(report).toMatchObject({ thread: 'main', kernelReused: true });
    expect(readFileSync(good).equals(expectedBrighten(input, 2000))).toBe(true);
    // The failed file's first two windows were changed; the rest were not.
    const expected = expectedBrighten(input, 2000);
    expect(readFileSync(bad).subarray(0, MiB).equals(expected.subarray(0, MiB))).toBe(true);
    expect(readFileSync(bad).subarray(MiB).equals(input.subarray(MiB))).toBe(true);
  });
});

describe('a batch on worker threads keeps its workers', () => {
  const input = randomBytes(2 * MiB, 34);

  it('a file that fails on a kept worker does not poison the files after it', async () => {
    const options = { by: 1200, window: 512 * 1024, kernel: 'wasm-simd' as const, workers: 1 };
    const first = fixture(input);
    const truncated = fixture(input.subarray(0, 2 * MiB - 2)); // not whole RGBA pixels: refused
    const last = fixture(input);
    const outcomes = await brightenFiles([first, truncated, join(tmp.dir, 'gone.raw'), last], {
      ...options,
      continueOnError: true,
    });
    expect(outcomes.map((o) => ('error' in o ? (o.error as { code?: string }).code : 'ok'))).toEqual([
      'ok',
      expect.stringMatching(/^ERR_/),
      'ENOENT',
      'ok',
    ]);
    for (const path of [first, last])
      expect(readFileSync(path).equals(expectedBrighten(input, 1200))).toBe(true);
    expect(readFileSync(truncated).equals(input.subarray(0, 2 * MiB - 2))).toBe(true);
    // A run aborted part way on a kept worker leaves a journal that resume finishes; the next run is right.
    const aborted = fixture(input);
    const controller = new AbortController();
    await expect(
      brightenFile(aborted, {
        ...options,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.windowsDone === 1) controller.abort();
        },
      }),
    ).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    const after = fixture(input);
    const report = await brightenFile(after, options);
    expect(report).toMatchObject({ thread: 'worker', kernelReused: true });
    expect(readFileSync(after).equals(expectedBrighten(input, 1200))).toBe(true);
    await expect(resumeFile(aborted)).resolves.toMatchObject({ resumed: true });
    expect(readFileSync(aborted).equals(expectedBrighten(input, 1200))).toBe(true);
  });

  it('a worker that fails in a window closes the run files before it ends', async () => {
    const openFiles = () => readdirSync('/proc/self/fd').length;
    const options = { by: 5, window: 512 * 1024, workers: 1 };
    // A first run leaves a kept worker, so the count below already includes whatever a warm worker holds.
    await brightenFile(fixture(input), options);
    const before = openFiles();
    const path = fixture(input);
    // Shortened by another program after its first window: the worker's next window fails.
    await expect(
      brightenFile(path, {
        ...options,
        onProgress: (p) => {
          if (p.windowsDone === 1) truncateSync(path, 600 * 1024);
        },
      }),
    ).rejects.toMatchObject({ code: expect.stringMatching(/^ERR_FILE_(CHANGED|TRUNCATED)$/) });
    expect(openFiles()).toBeLessThanOrEqual(before);
  });
});
