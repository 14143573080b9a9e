/**
 * The journal the wasm kernel records itself (check `blocks`: assembly/index.ts brightenJournaled): its sums
 * are the ones journal.ts checks, a kill after any step of its protocol resumes to the uninterrupted bytes
 * (through the kernel again, and through the JavaScript loop of the native kernel), and damage to what a
 * resume relies on is refused before the file is touched.
 */
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BLOCK, Journal, type JournalParams, journalPathFor } from '../../dist/brighten/journal.js';
import { laneSums, ringSum } from '../../dist/file/checksum.js';
import { MappedFile } from '../../dist/file/mapped-file.js';
import { brightenFile, resumeFile } from '../../dist/index.js';
import { KernelHost } from '../../dist/kernels/host.js';
import { expectedBrighten, randomBytes, sha256, tempDir, writeRaw } from '../helpers/raw.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

// Three blocks a chunk, four chunks a window; the last window is one chunk and a short one (40 bytes: a
// block of two vectors and a half, so the scalar tail is saved and changed too).
const CHUNK = 3 * BLOCK;
const WINDOW = 4 * CHUNK;
const input = randomBytes(3 * WINDOW + CHUNK + 40, 77);
const delta = -1200;
const brighten = { delta, type: 'int16', channels: 'rgba' } as const;
const expected = expectedBrighten(input, delta, 'int16', 'rgba');

function paramsFor(path: string): JournalParams {
  const st = statSync(path);
  return {
    version: 2,
    file: { path, size: st.size, dev: st.dev, ino: st.ino },
    by: delta,
    type: 'int16',
    channels: 'rgba',
    offset: 0,
    length: st.size,
    window: WINDOW,
    windows: Math.ceil(st.size / WINDOW),
    chunk: CHUNK,
    slots: 1,
    check: 'blocks',
  };
}

/**
 * The real run's loop (worker.ts): each window overlaid into the kernel's memory and brightened by the kernel
 * under the journal, its slot mapped in, then marked done; stopped after `steps` protocol steps, as a kill
 * would. Returns false once the whole run fits in `steps`.
 */
function runStoppingAfter(path: string, steps: number): boolean {
  const params = paramsFor(path);
  Journal.create(journalPathFor(path), params).close();
  const journal = Journal.openForWorker(journalPathFor(path), params);
  const file = MappedFile.open(path, { access: 'readwrite' });
  const host = new KernelHost({ arenaBytes: WINDOW, kernel: 'wasm-simd' });
  let budget = steps;
  try {
    expect(host.mapJournalSlot(journal.file, journal.layout.slotOffset(0), 4096 + CHUNK)).toBe(true);
    for (let index = 0; index < params.windows; index++) {
      const offset = index * WINDOW;
      const region = host.overlay(file, offset, Math.min(WINDOW, input.length - offset));
      try {
        budget = host.brightenJournaled(region, brighten, CHUNK, index * 4, budget) as number;
      } finally {
        host.release();
      }
      if (budget-- <= 0) return true;
      journal.markDone(index, false, file);
    }
    return false;
  } finally {
    host.close();
    journal.close();
    file.close();
  }
}

describe('the kernel-recorded journal', () => {
  it("sums as journal.ts does: the kernel's ringSum and laneSums agree with the JavaScript ones", () => {
    const module = new WebAssembly.Module(
      readFileSync(new URL('../../build/wasm/kernels.release.wasm', import.meta.url)),
    );
    const memory = new WebAssembly.Memory({ initial: 3, maximum: 3 });
    const kernel = new WebAssembly.Instance(module, { env: { memory } }).exports as {
      ringSum(ptr: number, length: number): number;
    };
    const at = 65536;
    const bytes = new Uint8Array(memory.buffer, at, 65536 + 16);
    bytes.set(randomBytes(65536 + 16, 5));
    for (const n of [0, 2, 14, 16, 18, 30, 96, 256, 1000, 4097, 65536]) {
      expect(kernel.ringSum(at, n) >>> 0, `${n} bytes`).toBe(ringSum(bytes.subarray(0, n)));
      expect(kernel.ringSum(at + 2, n - (n % 2)) >>> 0).toBe(ringSum(bytes.subarray(2, 2 + n - (n % 2))));
    }
    // laneSums wraps at 2^32 and counts every word where it lies: a word moved to another vector shows.
    const words = Buffer.alloc(64, 0xff);
    const here = Buffer.from(words);
    here.writeUInt32LE(0, 0);
    const there = Buffer.from(words);
    there.writeUInt32LE(0, 16);
    expect(laneSums(here)).not.toEqual(laneSums(there));
    expect(Array.from(laneSums(words)).slice(0, 4)).toEqual([0xfffffffc, 0xfffffffc, 0xfffffffc, 0xfffffffc]);
  });

  it('a kill after any step of its protocol resumes to the uninterrupted bytes', async () => {
    let points = 0;
    for (let steps = 0; ; steps++) {
      const path = join(tmp.dir, `crash-${steps}.raw`);
      writeRaw(path, input);
      const stopped = runStoppingAfter(path, steps);
      const report = await resumeFile(path, {
        kernel: steps % 2 ? 'wasm-simd' : 'native',
        strategy: steps % 3 ? 'mmap' : 'pread',
      });
      expect(report.resumed).toBe(true);
      expect(readFileSync(path).equals(expected), `stopped after ${steps} steps`).toBe(true);
      expect(existsSync(journalPathFor(path))).toBe(false);
      points++;
      if (!stopped) break;
    }
    // Per chunk: its record, three steps a block, progress, done. Windows 0–2: 4 chunks of 3 blocks and
    // the done tag; window 3: a chunk of 3 blocks, one of 1, the done tag. Plus the run that completes.
    expect(points).toBe(3 * (4 * 12 + 1) + (12 + 6 + 1) + 1);
  });

  it("is what a default in-place run keeps, and the kernel's run leaves the same bytes as one without", async () => {
    const withJournal = join(tmp.dir, 'default.raw');
    const without = join(tmp.dir, 'nojournal.raw');
    const big = randomBytes(7 * 1024 * 1024 + 8 * 7, 9);
    writeRaw(withJournal, big);
    writeRaw(without, big);
    // The journal as the run made it, read while the run goes (at its first window's progress).
    let params: JournalParams | undefined;
    await brightenFile(withJournal, {
      by: 3000,
      channels: 'rgba',
      window: 2 * 1024 * 1024,
      onProgress: () => {
        if (params !== undefined) return;
        const journal = Journal.open(journalPathFor(withJournal));
        params = journal.params;
        journal.close();
      },
    });
    await brightenFile(without, { by: 3000, channels: 'rgba', journal: false });
    expect(params).toMatchObject({ check: 'blocks', chunk: 48 * 1024 });
    expect(readFileSync(withJournal).equals(readFileSync(without))).toBe(true);
    expect(readFileSync(withJournal).equals(expectedBrighten(big, 3000, 'uint16', 'rgba'))).toBe(true);
  });
});

describe('every loop of the kernel under its journal', () => {
  // One per block loop of assembly/index.ts: add, subtract, clamp (mixed signs), int16 within i16 and beyond
  // it, each byte order; lengths that end in a short block and a scalar tail.
  it.each([
    [{ by: 700, channels: 'rgba' }, 8],
    [{ by: -700, channels: 'rgb', byteOrder: 'big' }, 8],
    [{ by: 500, bands: 3, type: 'uint16' }, 6],
    [{ by: -1200, bands: 3, type: 'int16', byteOrder: 'big' }, 6],
    [{ by: 40000, bands: 1, type: 'int16' }, 2],
    [{ by: -40000, bands: 2, type: 'int16', byteOrder: 'big' }, 4],
  ] as const)('%o leaves the bytes a run without a journal leaves', async (options, pixel) => {
    const size = 2 * 1024 * 1024 + 48 * 1024 + 7 * pixel * 3;
    const bytes = randomBytes(size - (size % pixel), 11);
    const withJournal = join(tmp.dir, `loop-${pixel}-a.raw`);
    const without = join(tmp.dir, `loop-${pixel}-b.raw`);
    writeRaw(withJournal, bytes);
    writeRaw(without, bytes);
    const run = { ...options, window: 2 * 1024 * 1024, inThread: true } as Parameters<typeof brightenFile>[1];
    await brightenFile(withJournal, run);
    await brightenFile(without, { ...run, journal: false });
    expect(readFileSync(withJournal).equals(readFileSync(without))).toBe(true);
    expect(readFileSync(withJournal).equals(bytes)).toBe(false);
  });

  it('a 16-bit PNM below full scale (maxval 4095: the clamping loop, big-endian) likewise', async () => {
    const [width, height] = [512, 700];
    const samples = randomBytes(width * height * 6, 12);
    for (let i = 0; i < samples.length; i += 2) samples.writeUInt16BE(samples.readUInt16BE(i) % 4096, i);
    const image = Buffer.concat([Buffer.from(`P6\n${width} ${height}\n4095\n`, 'latin1'), samples]);
    const withJournal = join(tmp.dir, 'clamp-a.ppm');
    const without = join(tmp.dir, 'clamp-b.ppm');
    writeFileSync(withJournal, image);
    writeFileSync(without, image);
    await brightenFile(withJournal, { by: 300, window: 2 * 1024 * 1024, inThread: true });
    await brightenFile(without, { by: 300, window: 2 * 1024 * 1024, inThread: true, journal: false });
    const result = readFileSync(withJournal);
    expect(result.equals(readFileSync(without))).toBe(true);
    // Clamped at maxval, as the header says.
    const header = image.length - samples.length;
    for (let i = header; i < result.length; i += 2) {
      const expected = Math.min(image.readUInt16BE(i) + 300, 4095);
      if (result.readUInt16BE(i) !== expected)
        expect(`sample ${i}: ${result.readUInt16BE(i)}`).toBe(`sample ${i}: ${expected}`);
    }
  });
});

describe('damage to a kernel-recorded journal', () => {
  // The header page, the done map's page and the sample table's page, then slot 0: its count word at 32,
  // its sums at 64 and 96, its ring a page on.
  const SLOT0 = 3 * 4096;
  // Stopped in window 1's second chunk after two of its blocks were counted (their ring is relied on).
  const STOPPED = 49 + 12 + 1 + 3 + 2;

  function interrupted(): string {
    const path = join(tmp.dir, `damaged-${Math.random().toString(36).slice(2)}.raw`);
    writeRaw(path, input);
    expect(runStoppingAfter(path, STOPPED)).toBe(true);
    return path;
  }

  function damage(path: string, change: (journal: Buffer) => void): string {
    const journalPath = journalPathFor(path);
    const bytes = readFileSync(journalPath);
    change(bytes);
    writeFileSync(journalPath, bytes);
    return sha256(path);
  }

  it.each([
    ['a byte of a counted block in the ring', (j: Buffer) => (j[SLOT0 + 4096 + 100]! ^= 0x01)],
    ['a byte of the sums', (j: Buffer) => (j[SLOT0 + 64 + 5]! ^= 0x80)],
  ])('%s is refused: the saved chunk fails its checksum', async (_name, change) => {
    const path = interrupted();
    const before = damage(path, change);
    await expect(resumeFile(path)).rejects.toMatchObject({
      code: 'ERR_JOURNAL_CORRUPT',
      message: expect.stringContaining('saved chunk fails its checksum'),
    });
    expect(sha256(path)).toBe(before);
  });

  it.each([
    ['a block count past the chunk', (j: Buffer) => j.writeUInt32LE(4, SLOT0 + 32)],
    ['a count word naming another chunk', (j: Buffer) => (j[SLOT0 + 36]! ^= 0x01)],
  ])('%s is refused: the block count is damaged', async (_name, change) => {
    const path = interrupted();
    const before = damage(path, change);
    await expect(resumeFile(path)).rejects.toMatchObject({
      code: 'ERR_JOURNAL_CORRUPT',
      message: expect.stringContaining('block count is damaged'),
    });
    expect(sha256(path)).toBe(before);
  });

  it('a byte of the ring past the counted blocks is not relied on: the resume is exact', async () => {
    const path = interrupted();
    damage(path, (j) => (j[SLOT0 + 4096 + 2 * BLOCK + 10]! ^= 0xff));
    await resumeFile(path);
    expect(readFileSync(path).equals(expected)).toBe(true);
  });
});
