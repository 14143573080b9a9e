// MappedFile and Window as users run them (built code in dist/): alignment, offsets past 4 GiB,
// coherence, private windows, close and garbage collection, preallocation, flush, advice, locks.
import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { native } from '../../dist/addon.js';
import { ADVICE, MappedFile } from '../../dist/index.js';
import { fixtureFolder, sha256 } from '../helpers/raw.js';

const DIST = new URL('../../dist/index.js', import.meta.url).href;
const NATIVE = new URL('../../dist/addon.js', import.meta.url).href;
const GiB = 1024 ** 3;
// Linux on x86-64 and most arm64 builds: the page size and mmap offset granularity.
const PAGE = 4096;

const folder = fixtureFolder();
const { dir, fixture } = folder;
afterAll(() => folder.cleanup());

function readAt(file: string, position: number, length: number): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const bytes = Buffer.alloc(length);
    expect(fs.readSync(fd, bytes, 0, length, position)).toBe(length);
    return bytes;
  } finally {
    fs.closeSync(fd);
  }
}

/** Runs an ES module script in a fresh Node process and returns its result; the script prints JSON last. */
function runNode(script: string, options: { nodeArgs?: string[]; shellPrefix?: string } = {}): unknown {
  const args = [...(options.nodeArgs ?? []), '--input-type=module', '-e', script];
  const result: SpawnSyncReturns<string> =
    options.shellPrefix === undefined
      ? spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 30_000 })
      : spawnSync('bash', ['-c', `${options.shellPrefix} && exec "$0" "$@"`, process.execPath, ...args], {
          encoding: 'utf8',
          timeout: 30_000,
        });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  const lines = result.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

describe('windows at unaligned offsets', () => {
  const size = 5 * PAGE + 123;
  const offsets = [0, 1, 7, 4095, 4096, 4097, 8191, 8192, 8193, 12_289, size - 1];

  it('pageSize and allocationGranularity describe the platform', () => {
    using file = MappedFile.open(fixture(new Uint8Array(16)));
    expect(file.pageSize).toBe(PAGE);
    expect(file.allocationGranularity).toBe(PAGE);
  });

  it.each(offsets)('reads exactly the file bytes from offset %i', (offset) => {
    const contents = randomBytes(size);
    using file = MappedFile.open(fixture(contents));
    for (const length of [1, 3, 4096, 5000, size - offset]) {
      if (length > size - offset) continue;
      using window = file.map({ offset, length });
      expect(window.offset).toBe(offset);
      expect(window.length).toBe(length);
      expect(window.buffer.byteLength).toBe(length);
      expect(Buffer.from(window.buffer).equals(contents.subarray(offset, offset + length))).toBe(true);
    }
    // The default length is the rest of the file.
    using rest = file.map({ offset });
    expect(rest.length).toBe(size - offset);
    expect(Buffer.from(rest.buffer).equals(contents.subarray(offset))).toBe(true);
  });

  it.each(offsets)('writes exactly the right bytes at offset %i', (offset) => {
    const contents = randomBytes(size);
    const file = fixture(contents);
    const length = Math.min(4099, size - offset);
    const patch = randomBytes(length);
    {
      using mapped = MappedFile.open(file, { access: 'readwrite' });
      using window = mapped.map({ offset, length });
      new Uint8Array(window.buffer).set(patch);
      window.flush();
    }
    const expected = Buffer.from(contents);
    patch.copy(expected, offset);
    expect(fs.readFileSync(file).equals(expected)).toBe(true);
  });

  it('maps the whole file by default, and an explicit zero length gives an empty window', () => {
    const contents = randomBytes(3 * PAGE + 5);
    using file = MappedFile.open(fixture(contents));
    using all = file.map();
    expect(Buffer.from(all.buffer).equals(contents)).toBe(true);
    using empty = file.map({ offset: 1, length: 0 });
    expect(empty.buffer.byteLength).toBe(0);
    using atEnd = file.map({ offset: contents.length });
    expect(atEnd.length).toBe(0);
    expect(empty.populate()).toBe('none');
    empty.flush();
  });
});

describe('a sparse 6 GiB file', () => {
  const size = 6 * GiB;
  let file: string;
  beforeAll(() => {
    file = fixture(size);
  });

  it('reports its size past 2^32', () => {
    using mapped = MappedFile.open(file);
    expect(mapped.size).toBe(size);
  });

  it('reads and writes windows at 2^32 + 8k, with number and bigint offsets', () => {
    const cases: Array<number | bigint> = [];
    for (const k of [0, 1, 2, 511, 512, 513, 1_000_003]) {
      cases.push(2 ** 32 + 8 * k);
      // bigints, 16 MiB further on so no two 8-byte windows overlap.
      cases.push(2n ** 32n + 2n ** 24n + 8n * BigInt(k) + 4n);
    }
    cases.push(2 ** 32 - 4, 5 * GiB + 12_345, size - 8);
    {
      using mapped = MappedFile.open(file, { access: 'readwrite' });
      for (const offset of cases) {
        using window = mapped.map({ offset, length: 8 });
        expect(window.offset).toBe(Number(offset));
        const view = new DataView(window.buffer);
        expect(view.getBigUint64(0, true)).toBe(0n);
        view.setBigUint64(0, BigInt(offset), true);
        window.flush();
      }
    }
    for (const offset of cases) {
      expect(readAt(file, Number(offset), 8).readBigUInt64LE(0)).toBe(BigInt(offset));
    }
    // And the other way round: bytes written through fs are read through a window.
    const marker = randomBytes(4099);
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, marker, 0, marker.length, 5 * GiB + 1);
    fs.closeSync(fd);
    using mapped = MappedFile.open(file);
    using window = mapped.map({ offset: 5n * BigInt(GiB) + 1n, length: marker.length });
    expect(Buffer.from(window.buffer).equals(marker)).toBe(true);
  });

  it('maps a window of exactly 4 GiB that crosses 2^32', () => {
    using mapped = MappedFile.open(file);
    using window = mapped.map({ offset: GiB + 1, length: 4 * GiB });
    expect(window.buffer.byteLength).toBe(4 * GiB);
    const bytes = new Uint8Array(window.buffer);
    // Sparse pages read as zeros; the last byte is file byte 5 GiB, which the test above did not touch.
    expect(bytes[bytes.length - 1]).toBe(0);
    expect(bytes[0]).toBe(0);
  });
});

describe('coherence and private windows', () => {
  it('two overlapping windows on one readwrite file see each other at once', () => {
    const file = fixture(randomBytes(8 * PAGE));
    using mapped = MappedFile.open(file, { access: 'readwrite' });
    using a = mapped.map({ offset: 0, length: 6 * PAGE });
    using b = mapped.map({ offset: 4097, length: 5 * PAGE });
    const viewA = new Uint8Array(a.buffer);
    const viewB = new Uint8Array(b.buffer);
    for (let i = 0; i < 5000; i += 97) {
      viewA[4097 + i] = (i * 7) & 0xff;
      expect(viewB[i]).toBe((i * 7) & 0xff);
      viewB[i + 1] = (i * 13) & 0xff;
      expect(viewA[4097 + i + 1]).toBe((i * 13) & 0xff);
    }
    // And another MappedFile of the same path, in the same process, sees them too (one page cache).
    using other = MappedFile.open(file, { access: 'readwrite' });
    using c = other.map({ offset: 4097, length: 8 });
    expect(new Uint8Array(c.buffer)[0]).toBe(viewB[0]);
  });

  it.each(['read', 'copy'] as const)(
    'a %s window written by JavaScript leaves the file byte-identical',
    (access) => {
      const file = fixture(randomBytes(4 * PAGE + 17));
      const before = sha256(file);
      const mtime = fs.statSync(file).mtimeMs;
      {
        using mapped = MappedFile.open(file, { access });
        using window = mapped.map({ offset: 3 });
        using witness = mapped.map({ offset: 0, length: 64 });
        const bytes = new Uint8Array(window.buffer);
        bytes.fill(0xa5);
        // The window keeps its own copy of the pages it wrote...
        expect(bytes.every((value) => value === 0xa5)).toBe(true);
        // ...which no other window sees.
        expect(Buffer.from(witness.buffer).equals(fs.readFileSync(file).subarray(0, 64))).toBe(true);
        window.flush();
        window.advise('sequential');
        expect(window.populate()).toMatch(/^(populate-read|touch)$/);
      }
      expect(sha256(file)).toBe(before);
      expect(fs.statSync(file).mtimeMs).toBe(mtime);
    },
  );
});

/** Lines of /proc/self/maps: all of them, or those that map `file`. */
function mapsCount(file?: string): number {
  const lines = fs.readFileSync('/proc/self/maps', 'utf8').trim().split('\n');
  return file === undefined ? lines.length : lines.filter((line) => line.endsWith(` ${file}`)).length;
}

function rssBytes(): number {
  const pages = Number(fs.readFileSync('/proc/self/statm', 'utf8').split(' ')[1]);
  return pages * PAGE;
}

describe('closing and garbage collection', () => {
  it('close() detaches the buffer and every view of it', () => {
    using mapped = MappedFile.open(fixture(randomBytes(3 * PAGE)));
    const window = mapped.map({ offset: 1, length: PAGE });
    const bytes = new Uint8Array(window.buffer);
    const words = new Uint16Array(window.buffer, 2, 100);
    const buffer = window.buffer;
    const live = native.liveWindows();
    expect(mapped.openWindows).toBe(1);
    window.close();
    expect(native.liveWindows()).toBe(live - 1);
    expect(window.closed).toBe(true);
    expect(buffer.byteLength).toBe(0);
    expect(bytes.byteLength).toBe(0);
    expect(words.length).toBe(0);
    expect(bytes[0]).toBeUndefined();
    expect(mapped.openWindows).toBe(0);
    window.close();
  });

  it('file.close() closes every window, and closing twice does nothing', () => {
    const mapped = MappedFile.open(fixture(randomBytes(3 * PAGE)));
    const windows = [mapped.map(), mapped.map({ offset: 5, length: 10 }), mapped.map({ offset: PAGE })];
    const views = windows.map((window) => new Uint8Array(window.buffer));
    const live = native.liveWindows();
    expect(mapped.openWindows).toBe(3);
    mapped.close();
    expect(mapped.closed).toBe(true);
    expect(native.liveWindows()).toBe(live - 3);
    for (const window of windows) expect(window.closed).toBe(true);
    for (const view of views) expect(view.byteLength).toBe(0);
    mapped.close();
  });

  it('a new window at the address of a closed one survives the old one finalizer', async () => {
    using mapped = MappedFile.open(fixture(randomBytes(16 * PAGE)));
    const first = mapped.map({ length: 8 * PAGE });
    const address = native.address(first.buffer);
    first.close();
    const second = mapped.map({ length: 8 * PAGE });
    // The kernel hands the freed range out again: the case that used to go wrong.
    expect(native.address(second.buffer)).toBe(address);
    // Node runs the first buffer's finalizer on a later turn of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const live = native.liveWindows();
    expect(() => second.close()).not.toThrow();
    expect(native.liveWindows()).toBe(live - 1);
  });

  it('2,000 map/close cycles leave the mappings, live windows and RSS where they started', () => {
    const file = fixture(randomBytes(4 * 1024 * 1024));
    using mapped = MappedFile.open(file, { access: 'readwrite' });
    const cycle = (i: number) => {
      using window = mapped.map({ offset: (i * 4097) % (2 * 1024 * 1024), length: 1024 * 1024 + (i % 7) });
      const bytes = new Uint8Array(window.buffer);
      for (let at = 0; at < bytes.length; at += 64 * 1024) bytes[at] ^= 0;
    };
    for (let i = 0; i < 50; i++) cycle(i);
    const maps = mapsCount();
    const fileMaps = mapsCount(file);
    {
      using probe = mapped.map({ length: PAGE });
      expect(probe.buffer.byteLength).toBe(PAGE);
      expect(mapsCount(file)).toBe(fileMaps + 1); // the count sees this file's windows
    }
    const rss = rssBytes();
    const live = native.liveWindows();
    for (let i = 0; i < 2000; i++) cycle(i);
    expect(native.liveWindows()).toBe(live);
    expect(mapped.openWindows).toBe(0);
    expect(mapsCount(file)).toBe(fileMaps);
    // The process's other mappings move with V8's heap (by up to 13 under Node 22); 2,000 leaked
    // mappings of any kind would add far more.
    expect(Math.abs(mapsCount() - maps)).toBeLessThanOrEqual(64);
    // 2,000 leaked 1 MiB windows with 16 pages touched each would add 125 MiB.
    expect(rssBytes() - rss).toBeLessThan(24 * 1024 * 1024);
  });

  it('a window dropped without close() is unmapped after garbage collection', () => {
    const file = fixture(randomBytes(8 * PAGE));
    const result = runNode(
      `
      import fs from 'node:fs';
      const { MappedFile } = await import(${JSON.stringify(DIST)});
      const { native } = await import(${JSON.stringify(NATIVE)});
      const maps = () => fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').filter((l) => l.endsWith(${JSON.stringify(file)})).length;
      const settle = async () => {
        for (let i = 0; i < 4; i++) {
          globalThis.gc();
          await new Promise((resolve) => setImmediate(resolve));
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
      };
      const file = MappedFile.open(${JSON.stringify(file)});
      (() => { for (let i = 0; i < 100; i++) new Uint8Array(file.map({ offset: i, length: 4 * 4096 }).buffer)[0]; })();
      const mapped = [native.liveWindows(), maps(), file.openWindows];
      await settle();
      const collected = [native.liveWindows(), maps(), file.openWindows];
      // A view kept after its Window object is dropped: the file's close() still detaches it.
      const view = (() => new Uint8Array(file.map({ offset: 3, length: 100 }).buffer))();
      await settle();
      const heldByView = [native.liveWindows(), view.byteLength];
      file.close();
      const afterClose = [native.liveWindows(), view.byteLength, maps()];
      console.log(JSON.stringify({ mapped, collected, heldByView, afterClose }));
      `,
      { nodeArgs: ['--expose-gc'] },
    );
    expect(result).toEqual({
      mapped: [100, 100, 100],
      collected: [0, 0, 0],
      heldByView: [1, 100],
      afterClose: [0, 0, 0],
    });
  });
});

describe('MappedFile.create', () => {
  it('preallocates the whole file on disk', async () => {
    const file = path.join(dir, 'created.raw');
    const size = 8 * 1024 * 1024 + 5;
    using created = MappedFile.create(file, { size });
    expect(created.access).toBe('readwrite');
    expect(created.size).toBe(size);
    const stat = fs.statSync(file);
    expect(stat.size).toBe(size);
    expect(stat.blocks * 512).toBeGreaterThanOrEqual(size);
    using window = created.map({ offset: size - 10 });
    new Uint8Array(window.buffer).fill(9);
    window.flush();
    expect(readAt(file, size - 10, 10).every((value) => value === 9)).toBe(true);

    const asyncFile = path.join(dir, 'created-async.raw');
    using createdAsync = await MappedFile.createAsync(asyncFile, { size: 3n * 1024n * 1024n });
    expect(createdAsync.size).toBe(3 * 1024 * 1024);
    expect(fs.statSync(asyncFile).blocks * 512).toBeGreaterThanOrEqual(3 * 1024 * 1024);
    using empty = MappedFile.create(path.join(dir, 'created-empty.raw'), { size: 0 });
    expect(empty.size).toBe(0);
  });

  it('refuses an existing file unless overwrite, which replaces it and keeps its permissions', async () => {
    const file = fixture(Buffer.from('precious'));
    fs.chmodSync(file, 0o640);
    expect(() => MappedFile.create(file, { size: 100 })).toThrow(
      expect.objectContaining({ code: 'EEXIST', path: file }),
    );
    await expect(MappedFile.createAsync(file, { size: 100 })).rejects.toMatchObject({
      code: 'EEXIST',
      path: file,
    });
    expect(fs.readFileSync(file, 'utf8')).toBe('precious');

    const before = new Set(fs.readdirSync(dir));
    {
      using replaced = MappedFile.create(file, { size: 3 * PAGE, overwrite: true });
      expect(replaced.size).toBe(3 * PAGE);
    }
    expect(fs.readFileSync(file).equals(Buffer.alloc(3 * PAGE))).toBe(true);
    expect(fs.statSync(file).mode & 0o777).toBe(0o640);
    expect(new Set(fs.readdirSync(dir))).toEqual(before);

    // Overwriting through a symbolic link replaces the file it points to and keeps the link.
    const link = path.join(dir, 'link-to-created');
    fs.symlinkSync(file, link);
    MappedFile.create(link, { size: 10, overwrite: true }).close();
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
    expect(fs.statSync(file).size).toBe(10);
    fs.unlinkSync(link);
  });

  it('a failed allocation (EFBIG under ulimit -f) leaves the old file intact and nothing behind', () => {
    const folder = fs.mkdtempSync(path.join(dir, 'efbig-'));
    const file = path.join(folder, 'old.raw');
    fs.writeFileSync(file, randomBytes(5000));
    const before = sha256(file);
    const fresh = path.join(folder, 'new.raw');
    const result = runNode(
      `
      const { MappedFile } = await import(${JSON.stringify(DIST)});
      const attempt = async (make) => { try { await make(); return 'no error'; } catch (e) { return [e.code, e.syscall, e.path, e.message]; } };
      const results = [
        await attempt(() => MappedFile.create(${JSON.stringify(file)}, { size: 1024 * 1024, overwrite: true })),
        await attempt(() => MappedFile.createAsync(${JSON.stringify(file)}, { size: 1024 * 1024, overwrite: true })),
        await attempt(() => MappedFile.create(${JSON.stringify(fresh)}, { size: 1024 * 1024 })),
      ];
      console.log(JSON.stringify(results));
      `,
      // 100 blocks of 512 bytes: room for the old file, not for a 1 MiB one.
      { shellPrefix: 'ulimit -f 100' },
    );
    const message = /^cannot allocate 1048576 bytes for .+: file too large$/;
    expect(result).toEqual([
      ['EFBIG', 'posix_fallocate', file, expect.stringMatching(message)],
      ['EFBIG', 'posix_fallocate', file, expect.stringMatching(message)],
      ['EFBIG', 'posix_fallocate', fresh, expect.stringMatching(message)],
    ]);
    expect(sha256(file)).toBe(before);
    expect(fs.readdirSync(folder)).toEqual(['old.raw']);
  });
});

describe('flush, advise, populate', () => {
  it('flush with sync persists the bytes; a part of the window and flushAsync work too', async () => {
    const file = fixture(randomBytes(4 * PAGE));
    using mapped = MappedFile.open(file, { access: 'readwrite' });
    using window = mapped.map({ offset: 100, length: 3 * PAGE });
    const bytes = new Uint8Array(window.buffer);
    bytes.fill(1, 0, 10);
    window.flush();
    expect(readAt(file, 100, 10).every((value) => value === 1)).toBe(true);
    bytes.fill(2, 5000, 5100);
    window.flush({ offset: 5000, length: 100 });
    expect(readAt(file, 5100, 100).every((value) => value === 2)).toBe(true);
    bytes.fill(3, 9000, 9001);
    window.flush({ offset: 9000, sync: false });
    bytes.fill(4, 0, 3 * PAGE);
    await window.flushAsync();
    await window.flushAsync({ offset: 1, length: 1 });
    expect(readAt(file, 100, 3 * PAGE).every((value) => value === 4)).toBe(true);
    window.flush({ offset: 3 * PAGE });
  });

  it.each(ADVICE)('advise(%s) is accepted', (advice) => {
    const contents = randomBytes(4 * PAGE + 1);
    using mapped = MappedFile.open(fixture(contents), { access: 'readwrite' });
    using window = mapped.map({ offset: 1 });
    expect(() => window.advise(advice)).not.toThrow();
    expect(Buffer.from(window.buffer).equals(contents.subarray(1))).toBe(true);
  });

  it('populate returns the method it used', () => {
    const [major, minor] = os.release().split('.').map(Number);
    const modern = major > 5 || (major === 5 && minor >= 14);
    const file = fixture(randomBytes(4 * PAGE));
    for (const access of ['readwrite', 'read', 'copy'] as const) {
      using mapped = MappedFile.open(file, { access });
      using window = mapped.map({ offset: 10 });
      const expected = !modern ? 'touch' : access === 'readwrite' ? 'populate-write' : 'populate-read';
      expect(window.populate()).toBe(expected);
    }
  });
});

describe('locks', () => {
  /** A child that tries LOCK(kind) without waiting on FILE and prints what happened. */
  function tryLockInChild(file: string, kind: 'shared' | 'exclusive'): unknown {
    return runNode(`
      const { MappedFile } = await import(${JSON.stringify(DIST)});
      const file = MappedFile.open(${JSON.stringify(file)});
      try { file.lock(${JSON.stringify(kind)}); console.log(JSON.stringify('locked')); }
      catch (e) { console.log(JSON.stringify([e.code, e.path, e.message])); }
    `);
  }

  it('a second process gets ERR_FILE_LOCKED while the lock is held, and the lock after unlock', () => {
    const file = fixture(randomBytes(100));
    using mapped = MappedFile.open(file);
    mapped.lock('exclusive');
    const refused = [
      'ERR_FILE_LOCKED',
      file,
      expect.stringMatching(/^.+\/fixture-\d+\.raw is locked by another process$/),
    ];
    expect(tryLockInChild(file, 'exclusive')).toEqual(refused);
    expect(tryLockInChild(file, 'shared')).toEqual(refused);
    mapped.unlock();
    mapped.lock('shared');
    expect(tryLockInChild(file, 'shared')).toBe('locked');
    expect(tryLockInChild(file, 'exclusive')).toEqual(refused);
    mapped.unlock();
    expect(tryLockInChild(file, 'exclusive')).toBe('locked');
  });

  it('lockAsync waits for a lock held in this process and resolves after release', async () => {
    const file = fixture(randomBytes(100));
    using holder = MappedFile.open(file);
    using waiter = MappedFile.open(file);
    holder.lock('exclusive');
    expect(() => waiter.lock('exclusive')).toThrow(expect.objectContaining({ code: 'ERR_FILE_LOCKED' }));
    let settled = false;
    const waiting = waiter.lockAsync('exclusive').then(() => {
      settled = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(settled).toBe(false);
    holder.unlock();
    await waiting;
    expect(settled).toBe(true);
    expect(() => holder.lock('shared')).toThrow(expect.objectContaining({ code: 'ERR_FILE_LOCKED' }));
    // Closing the file releases its lock.
    waiter.close();
    holder.lock('exclusive', { wait: true });
  });

  it('lockAsync waits for a lock held by another process', async () => {
    const file = fixture(randomBytes(100));
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `
        const { MappedFile } = await import(${JSON.stringify(DIST)});
        const file = MappedFile.open(${JSON.stringify(file)});
        file.lock('exclusive');
        console.log('locked');
        setTimeout(() => { console.log('releasing'); file.unlock(); }, 300);
        `,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let output = '';
    child.stdout.setEncoding('utf8');
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: string) => {
        output += chunk;
        if (output.includes('locked')) resolve();
      });
    });
    using mapped = MappedFile.open(file);
    expect(() => mapped.lock('shared')).toThrow(expect.objectContaining({ code: 'ERR_FILE_LOCKED' }));
    await mapped.lockAsync('shared');
    expect(output).toContain('releasing');
    await new Promise((resolve) => child.on('exit', resolve));
    expect(child.exitCode).toBe(0);
  });
});

describe('async open', () => {
  it('openAsync opens like open', async () => {
    const contents = randomBytes(PAGE + 3);
    using mapped = await MappedFile.openAsync(fixture(contents), { access: 'copy' });
    expect(mapped.access).toBe('copy');
    using window = mapped.map({ offset: 2 });
    expect(Buffer.from(window.buffer).equals(contents.subarray(2))).toBe(true);
  });
});
