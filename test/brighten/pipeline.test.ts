import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { brightenFile, brightenFiles, MappedFile, resumeFile } from '../../dist/index.js';
import { expectedBrighten, randomBytes, sha256, tempDir, writeRaw } from '../helpers/raw.js';

const MiB = 1024 * 1024;
const tmp = tempDir();
afterAll(() => tmp.cleanup());

let counter = 0;
function fixture(bytes: Buffer): string {
  const path = join(tmp.dir, `img-${counter++}.raw`);
  writeRaw(path, bytes);
  return path;
}

describe('brightenFile in place', () => {
  const input = randomBytes(5 * MiB + 8 * 37, 7);

  it.each([
    ['mmap', 'wasm-simd'],
    ['mmap', 'js'],
    ['mmap', 'native'],
    ['pread', 'wasm'],
    ['pread', 'wasm-simd'],
  ] as const)('strategy %s with kernel %s matches the formula', async (strategy, kernel) => {
    const path = fixture(input);
    const report = await brightenFile(path, { by: 1234, window: MiB, strategy, kernel });
    expect(readFileSync(path).equals(expectedBrighten(input, 1234))).toBe(true);
    expect(report).toMatchObject({
      bytes: input.length,
      pixels: input.length / 8,
      kernel,
      strategy,
      windows: 6,
      journal: true,
      workers: 1,
    });
    expect(report.gbps).toBeGreaterThan(0);
    expect(report.peakRssBytes).toBeGreaterThan(0);
    expect(existsSync(`${path}.rawbright-journal`)).toBe(false);
  });

  it("'auto' overlays windows of 2 MiB and more, and copies smaller ones (they would split the page cache's folios)", async () => {
    const large = await brightenFile(fixture(input), { by: 1, window: 2 * MiB });
    expect(large).toMatchObject({ strategyRequested: 'auto', strategy: 'mmap' });
    const small = await brightenFile(fixture(input), { by: 1, window: MiB });
    expect(small).toMatchObject({ strategyRequested: 'auto', strategy: 'pread' });
    const defaults = await brightenFile(fixture(input), { by: 1 });
    expect(defaults).toMatchObject({ strategy: 'mmap', window: input.length });
    const pread = await brightenFile(fixture(input), { by: 1, strategy: 'pread' });
    expect(pread).toMatchObject({ strategy: 'pread', window: 4 * MiB, windows: 2 });
    const out = await brightenFile(fixture(input), { by: 1, out: join(tmp.dir, 'auto-out.raw') });
    expect(out).toMatchObject({ strategyRequested: 'auto', strategy: 'pread' });
  });

  it('brightens int16 and rgba, saturating at both ends', async () => {
    const path = fixture(input);
    await brightenFile(path, { by: -40000, type: 'int16', channels: 'rgba', window: 3 * MiB });
    expect(readFileSync(path).equals(expectedBrighten(input, -40000, 'int16', 'rgba'))).toBe(true);
  });

  it('brightens only the requested sub-range', async () => {
    const path = fixture(input);
    const offset = 8 * 1001;
    const length = 2 * MiB + 8 * 3;
    await brightenFile(path, { by: 500, offset, length, window: 512 * 1024 });
    expect(readFileSync(path).equals(expectedBrighten(input, 500, 'uint16', 'rgb', offset, length))).toBe(
      true,
    );
  });

  it('gives the same bytes with 2 workers as with 1', async () => {
    const one = fixture(input);
    const two = fixture(input);
    await brightenFile(one, { by: 999, window: 256 * 1024, workers: 1 });
    const report = await brightenFile(two, { by: 999, window: 256 * 1024, workers: 2 });
    expect(report.workers).toBe(2);
    expect(sha256(two)).toBe(sha256(one));
  });

  it('without a journal still brightens and leaves no journal', async () => {
    const path = fixture(input);
    const report = await brightenFile(path, { by: 7, journal: false });
    expect(report.journal).toBe(false);
    expect(readFileSync(path).equals(expectedBrighten(input, 7))).toBe(true);
  });

  it('takes the sample type from the sidecar', async () => {
    const path = fixture(input);
    writeFileSync(
      `${path}.json`,
      JSON.stringify({
        width: input.length / 8,
        height: 1,
        channels: 4,
        sampleType: 'int16',
        byteOrder: 'little',
      }),
    );
    await brightenFile(path, { by: 30000 });
    expect(readFileSync(path).equals(expectedBrighten(input, 30000, 'int16'))).toBe(true);
  });

  it('brightenFiles runs a batch in order', async () => {
    const a = fixture(input);
    const b = fixture(input);
    const reports = await brightenFiles([a, b], { by: 3 });
    expect(reports.map((r) => r.path)).toEqual([a, b]);
    expect(sha256(a)).toBe(sha256(b));
  });

  it('reports progress for every window', async () => {
    const path = fixture(input);
    const seen: number[] = [];
    await brightenFile(path, { by: 1, window: MiB, onProgress: (p) => seen.push(p.windowsDone) });
    expect(seen).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('brightenFile out of place', () => {
  const input = randomBytes(3 * MiB, 11);

  it.each(['mmap', 'pread'] as const)('with %s leaves the input unchanged', async (strategy) => {
    const path = fixture(input);
    const before = sha256(path);
    const out = join(tmp.dir, `out-${strategy}.raw`);
    const report = await brightenFile(path, { by: -300, out, strategy, window: MiB });
    expect(sha256(path)).toBe(before);
    expect(readFileSync(out).equals(expectedBrighten(input, -300))).toBe(true);
    expect(report.out).toBe(out);
    // The temporary output (`.NAME.rawbright-PID-RANDOM.tmp`) is gone once the result has its name.
    expect(readdirSync(tmp.dir).filter((name) => name.includes('.rawbright-'))).toEqual([]);
  });

  it('copies the bytes outside the range unchanged', async () => {
    const path = fixture(input);
    const out = join(tmp.dir, 'out-range.raw');
    await brightenFile(path, { by: 50, out, offset: 8 * 10, length: 8 * 100_000, window: MiB });
    expect(readFileSync(out).equals(expectedBrighten(input, 50, 'uint16', 'rgb', 80, 800_000))).toBe(true);
  });

  it('refuses an existing out without overwrite, and the input itself', async () => {
    const path = fixture(input);
    const out = fixture(Buffer.from('keep me'));
    await expect(brightenFile(path, { by: 1, out })).rejects.toMatchObject({ code: 'EEXIST' });
    expect(readFileSync(out, 'utf8')).toBe('keep me');
    await expect(brightenFile(path, { by: 1, out: path })).rejects.toMatchObject({ code: 'ERR_SAME_FILE' });
    await brightenFile(path, { by: 1, out, overwrite: true });
    expect(readFileSync(out).equals(expectedBrighten(input, 1))).toBe(true);
  });
});

describe('brightenFile refuses bad input and changes nothing', () => {
  const input = randomBytes(64 * 1024, 3);

  it.each([
    [
      { by: 1.5 },
      'ERR_INVALID_ARG_VALUE',
      /Expected an integer from -65535 to 65535 for by but received 1.5/,
    ],
    [{ by: 65536 }, 'ERR_INVALID_ARG_VALUE', /for by/],
    [{}, 'ERR_INVALID_ARG_VALUE', /for by but received undefined/],
    [{ by: 1, window: 0 }, 'ERR_INVALID_ARG_VALUE', /for window/],
    [{ by: 1, window: 2 ** 32 + 8 }, 'ERR_INVALID_ARG_VALUE', /for window/],
    [{ by: 1, window: 12 }, 'ERR_INVALID_ARG_VALUE', /multiple of 8/],
    [{ by: 1, offset: 4 }, 'ERR_INVALID_ARG_VALUE', /multiple of 8/],
    [{ by: 1, offset: 1024 ** 3 }, 'ERR_OUT_OF_RANGE', /offset is larger than the file/],
    [{ by: 1, length: 1024 ** 3 }, 'ERR_OUT_OF_RANGE', /length is past the end of the file/],
    [{ by: 1, kernel: 'gpu' }, 'ERR_INVALID_ARG_VALUE', /for kernel/],
    [{ by: 1, strategy: 'magic' }, 'ERR_INVALID_ARG_VALUE', /for strategy/],
    [{ by: 1, type: 'float' }, 'ERR_INVALID_ARG_VALUE', /for type/],
    [{ by: 1, channels: 'rg' }, 'ERR_INVALID_ARG_VALUE', /for channels/],
    [{ by: 1, workers: 0 }, 'ERR_INVALID_ARG_VALUE', /for workers/],
  ])('%j → %s', async (options, code, message) => {
    const path = fixture(input);
    const before = sha256(path);
    await expect(brightenFile(path, options as never)).rejects.toMatchObject({
      code,
      message: expect.stringMatching(message),
    });
    expect(sha256(path)).toBe(before);
    expect(existsSync(`${path}.rawbright-journal`)).toBe(false);
  });

  it('names missing files, directories, empty files and odd sizes', async () => {
    await expect(brightenFile(join(tmp.dir, 'missing.raw'), { by: 1 })).rejects.toMatchObject({
      code: 'ENOENT',
    });
    await expect(brightenFile(tmp.dir, { by: 1 })).rejects.toMatchObject({ code: 'EISDIR' });
    await expect(brightenFile(fixture(Buffer.alloc(0)), { by: 1 })).rejects.toMatchObject({
      code: 'ERR_EMPTY_FILE',
    });
    await expect(brightenFile(fixture(Buffer.alloc(12)), { by: 1 })).rejects.toMatchObject({
      code: 'ERR_NOT_PIXEL_ALIGNED',
    });
  });

  it('refuses a file locked by another run, at once', async () => {
    const path = fixture(input);
    const holder = MappedFile.open(path, { access: 'readwrite' });
    holder.lock('exclusive');
    try {
      await expect(brightenFile(path, { by: 1 })).rejects.toMatchObject({ code: 'ERR_FILE_LOCKED', path });
    } finally {
      holder.close();
    }
  });

  it('refuses a sidecar that contradicts the file size', async () => {
    const path = fixture(input);
    writeFileSync(
      `${path}.json`,
      JSON.stringify({ width: 3, height: 3, channels: 4, sampleType: 'uint16', byteOrder: 'little' }),
    );
    const before = sha256(path);
    await expect(brightenFile(path, { by: 1 })).rejects.toMatchObject({ code: 'ERR_SIDECAR_MISMATCH' });
    expect(sha256(path)).toBe(before);
  });
});

describe('abort and resume', () => {
  const input = randomBytes(4 * MiB, 5);

  it('an aborted run keeps its journal, and resume finishes it byte for byte', async () => {
    const path = fixture(input);
    const controller = new AbortController();
    const run = brightenFile(path, {
      by: 4321,
      window: 256 * 1024,
      kernel: 'js',
      signal: controller.signal,
      onProgress: (p) => {
        if (p.windowsDone === 3) controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({
      code: 'ERR_ABORTED',
      message: expect.stringMatching(/rawbright resume/),
    });
    expect(existsSync(`${path}.rawbright-journal`)).toBe(true);
    await expect(brightenFile(path, { by: 1 })).rejects.toMatchObject({ code: 'ERR_JOURNAL_EXISTS' });
    const report = await resumeFile(path);
    expect(report.resumed).toBe(true);
    expect(readFileSync(path).equals(expectedBrighten(input, 4321))).toBe(true);
    expect(existsSync(`${path}.rawbright-journal`)).toBe(false);
  });

  it('resume with no journal has nothing to do', async () => {
    const path = fixture(input);
    expect(await resumeFile(path)).toEqual({ resumed: false, path });
  });

  it('a corrupt journal is a clear error and the file is left as it is', async () => {
    const path = fixture(input);
    writeFileSync(
      `${path}.rawbright-journal`,
      'not a journal at all, but long enough to have a header'.repeat(100),
    );
    const before = sha256(path);
    await expect(resumeFile(path)).rejects.toMatchObject({ code: 'ERR_JOURNAL_CORRUPT' });
    expect(sha256(path)).toBe(before);
  });
});
