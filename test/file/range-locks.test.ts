// Byte-range locks (OFD, F_OFD_SETLK) of MappedFile: disjoint ranges of one file locked at once by
// two MappedFiles of one process and by two processes; an overlap refused at once, naming the
// holder's range (pid -1: OFD locks name no process); a whole-file range lock refused while a range
// is held.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { MappedFile } from '../../dist/index.js';
import { fixtureFolder } from '../helpers/raw.js';

const folder = fixtureFolder();
const { dir } = folder;
afterAll(() => folder.cleanup());

const distUrl = pathToFileURL(path.resolve('dist/index.js')).href;
const child = path.resolve('test/helpers/range-child.mjs');

function zeroFile(name: string, size: number): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, Buffer.alloc(size, 7));
  return file;
}

function refusal(action: () => void): { code?: string; message: string; holder?: unknown } {
  try {
    action();
  } catch (error) {
    return error as { code?: string; message: string; holder?: unknown };
  }
  throw new Error('the lock was not refused');
}

describe('MappedFile.lockRange', () => {
  it('lets two open files of one process lock disjoint ranges and refuses an overlap, naming the holder', () => {
    const file = zeroFile('one-process.raw', 1 << 20);
    const first = MappedFile.open(file, { access: 'readwrite' });
    const second = MappedFile.open(file, { access: 'readwrite' });
    try {
      first.lockRange(4096, 8192, 'exclusive');
      second.lockRange(65536, 4096, 'exclusive');
      const error = refusal(() => second.lockRange(8000, 100, 'exclusive'));
      expect(error.code).toBe('ERR_RANGE_LOCKED');
      expect(error.holder).toEqual({ start: 4096, length: 8192, exclusive: true, pid: -1 });
      expect(error.message).toContain('bytes 8000…8100');
      expect(error.message).toContain('exclusive lock on bytes 4096…12288');
      expect(error.message).toContain('pid -1');
      expect(second.rangeHolder(0, 0, 'shared')).toEqual({
        start: 4096,
        length: 8192,
        exclusive: true,
        pid: -1,
      });
      // A whole-file range (length 0) conflicts with any range lock.
      const whole = refusal(() => second.lockRange(0, 0, 'exclusive'));
      expect(whole.code).toBe('ERR_RANGE_LOCKED');
      // Shared locks share; an exclusive one over them is refused.
      first.unlockRange(4096, 8192);
      expect(second.rangeHolder(4096, 8192, 'exclusive')).toBeUndefined();
      first.lockRange(0, 4096, 'shared');
      second.lockRange(0, 4096, 'shared');
      const third = MappedFile.open(file, { access: 'readwrite' });
      try {
        const shared = refusal(() => third.lockRange(100, 1, 'exclusive'));
        expect(shared.code).toBe('ERR_RANGE_LOCKED');
        expect((shared.holder as { exclusive: boolean }).exclusive).toBe(false);
        expect(shared.message).toContain('shared lock on bytes 0…4096');
      } finally {
        third.close();
      }
    } finally {
      first.close();
      second.close();
    }
    // Closing released everything.
    const after = MappedFile.open(file, { access: 'readwrite' });
    try {
      after.lockRange(0, 0, 'exclusive');
    } finally {
      after.close();
    }
  });

  it('refuses bad arguments and a closed file', () => {
    const file = zeroFile('arguments.raw', 4096);
    const mapped = MappedFile.open(file, { access: 'readwrite' });
    expect(refusal(() => mapped.lockRange(-1, 10, 'exclusive')).code).toBe('ERR_INVALID_ARG_VALUE');
    expect(refusal(() => mapped.lockRange(0, 10, 'both' as 'shared')).code).toBe('ERR_INVALID_ARG_VALUE');
    mapped.close();
    expect(refusal(() => mapped.lockRange(0, 10, 'exclusive')).code).toBe('ERR_CLOSED');
  });

  it('lets two processes, started together, hold disjoint ranges at the same moment and change both', async () => {
    const size = 8 << 20;
    const file = zeroFile('two-processes.raw', size);
    const ranges = [
      { offset: 1 << 20, length: 2 << 20, add: 10 },
      { offset: 4_000_000, length: 2_000_000, add: 20 },
    ];
    const children = ranges.map((range, i) => {
      const other = ranges[1 - i];
      const process_ = spawn(
        process.execPath,
        [
          child,
          distUrl,
          file,
          String(range.offset),
          String(range.length),
          String(range.add),
          String(other.offset),
          String(other.length),
        ],
        { stdio: ['pipe', 'pipe', 'inherit'] },
      );
      const lines = createInterface({ input: process_.stdout })[Symbol.asyncIterator]();
      const next = async () => JSON.parse((await lines.next()).value as string);
      const exited = new Promise<number | null>((resolve) => process_.on('exit', resolve));
      return { process_, next, exited };
    });
    // Barrier: both hold their locks before either is let go.
    const locked = await Promise.all(children.map((c) => c.next()));
    expect(locked.map((l) => l.locked)).toEqual([true, true]);
    // While both are stopped at the barrier, this process sees both ranges held.
    const observer = MappedFile.open(file, { access: 'read' });
    try {
      for (const range of ranges) {
        expect(observer.rangeHolder(range.offset, range.length, 'shared')).toEqual({
          start: range.offset,
          length: range.length,
          exclusive: true,
          pid: -1,
        });
      }
    } finally {
      observer.close();
    }
    for (const c of children) c.process_.stdin.write('probe\n');
    const probes = await Promise.all(children.map((c) => c.next()));
    // Each was refused the other's range, naming it: both held their locks at the same moment.
    for (const [i, p] of probes.entries()) {
      const other = ranges[1 - i];
      expect(p.probe.code).toBe('ERR_RANGE_LOCKED');
      expect(p.probe.holder).toEqual({ start: other.offset, length: other.length, exclusive: true, pid: -1 });
    }
    for (const c of children) c.process_.stdin.end('go\n');
    const done = await Promise.all(children.map((c) => c.next()));
    expect(done.map((d) => d.done)).toEqual([true, true]);
    expect(await Promise.all(children.map((c) => c.exited))).toEqual([0, 0]);
    const bytes = fs.readFileSync(file);
    const expected = Buffer.alloc(size, 7);
    for (const range of ranges) {
      for (let i = range.offset; i < range.offset + range.length; i += 1) expected[i] = 7 + range.add;
    }
    expect(bytes.equals(expected)).toBe(true);
  }, 60_000);
});
