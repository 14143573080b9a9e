// SharedMemory.unlink (shm_unlink's semantics), regions created with reserve: false (pages allocated
// on first touch, like .NET's DelayAllocatePages), regions opened with access: 'read', and regions
// over 4 GiB reached through windows.
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { readObject, writeObject } from '../../dist/shm/serialize.js';
import { SharedMemory } from '../../dist/shm/shared-memory.js';

const PREFIX = `rbunlink-${process.pid}-`;
let counter = 0;
const uniqueName = () => `${PREFIX}${++counter}`;
const shmPath = (name: string) => `/dev/shm/rawbright.${name}`;
// Bytes of memory the region's file really holds.
const allocated = (name: string) => statSync(shmPath(name)).blocks * 512;
const MiB = 1024 * 1024;

function thrown(call: () => unknown): { code?: string; message: string } {
  try {
    call();
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('expected an error');
}

afterAll(() => {
  SharedMemory.cleanup();
});

describe('SharedMemory.unlink', () => {
  it('removes the name of a region in use; its users keep the memory, and the name is free again', () => {
    const name = uniqueName();
    const first = SharedMemory.create(name, 4096);
    const second = SharedMemory.open(name);
    new Uint8Array(first.buffer)[10] = 42;
    expect(SharedMemory.unlink(name)).toBe(true);
    expect(existsSync(shmPath(name))).toBe(false);
    expect(thrown(() => SharedMemory.open(name)).code).toBe('ENOENT');
    // Both attachments still share the old memory.
    new Uint8Array(second.buffer)[11] = 43;
    expect([...new Uint8Array(first.buffer, 10, 2)]).toEqual([42, 43]);
    // A new region under the name is another one, and closing the old one leaves it alone.
    const fresh = SharedMemory.create(name, 4096);
    expect(new Uint8Array(fresh.buffer)[10]).toBe(0);
    first.close();
    second.close();
    expect(existsSync(shmPath(name))).toBe(true);
    const reopened = SharedMemory.open(name);
    expect(reopened.size).toBe(4096);
    reopened.close();
    fresh.close();
    expect(SharedMemory.unlink(name)).toBe(false);
  });

  it('removes a stale region, and says false when there is no such name', () => {
    const name = uniqueName();
    expect(SharedMemory.unlink(name)).toBe(false);
    const region = SharedMemory.create(name, 4096);
    // What a process killed without closing leaves: the file, with nobody holding it.
    const bytes = readFileSync(shmPath(name));
    region.close();
    writeFileSync(shmPath(name), bytes, { mode: 0o600 });
    expect(SharedMemory.unlink(name)).toBe(true);
    expect(existsSync(shmPath(name))).toBe(false);
  });

  it('never removes a file that is not provably a region', () => {
    const name = uniqueName();
    const bytes = Buffer.alloc(8192);
    bytes.write('RBSHMEM\0', 0, 'latin1');
    writeFileSync(shmPath(name), bytes, { mode: 0o600 });
    try {
      expect(thrown(() => SharedMemory.unlink(name)).code).toBe('ERR_SHM_INVALID');
      expect(readFileSync(shmPath(name)).equals(bytes)).toBe(true);
    } finally {
      rmSync(shmPath(name), { force: true });
    }
  });

  it('refuses a bad name', () => {
    expect(thrown(() => SharedMemory.unlink('../etc/passwd')).code).toBe('ERR_INVALID_ARG_VALUE');
  });
});

describe('reserve: false', () => {
  it('creates a 1 GiB region at once, allocating only the pages touched', () => {
    const name = uniqueName();
    const started = performance.now();
    using region = SharedMemory.create(name, 1024 * MiB, { reserve: false });
    const elapsed = performance.now() - started;
    expect(region.size).toBe(1024 * MiB);
    expect(statSync(shmPath(name)).size).toBeGreaterThan(1024 * MiB);
    expect(allocated(name)).toBeLessThan(MiB);
    const bytes = new Uint8Array(region.buffer);
    for (let offset = 0; offset < 8 * MiB; offset += 4096) bytes[offset] = 1;
    bytes[1024 * MiB - 1] = 7;
    const used = allocated(name);
    expect(used).toBeGreaterThanOrEqual(8 * MiB);
    expect(used).toBeLessThan(16 * MiB);
    expect(region.truncated).toBe(false);
    expect(elapsed).toBeLessThan(1000);
  });

  it('reserves everything by default', () => {
    const name = uniqueName();
    using region = SharedMemory.create(name, 16 * MiB);
    expect(region.size).toBe(16 * MiB);
    expect(allocated(name)).toBeGreaterThanOrEqual(16 * MiB);
  });

  it('applies to createOrOpen when it creates, and is checked', () => {
    const name = uniqueName();
    using region = SharedMemory.createOrOpen(name, 64 * MiB, { reserve: false });
    expect(region.created).toBe(true);
    expect(allocated(name)).toBeLessThan(MiB);
    const code = thrown(() =>
      SharedMemory.create(uniqueName(), 4096, { reserve: 'no' as unknown as boolean }),
    ).code;
    expect(code).toBe('ERR_INVALID_ARG_VALUE');
  });
});

describe("access: 'read'", () => {
  it('reads copies, refuses every way to write, and maps the region read-only', () => {
    const name = uniqueName();
    using writer = SharedMemory.create(name, 8192);
    writeObject(writer.buffer, { id: 9, values: new Float64Array([1.5, 2.5]) });
    using reader = SharedMemory.open(name, { access: 'read' });
    expect(reader.access).toBe('read');
    expect(writer.access).toBe('readwrite');
    expect(readObject<{ id: number }>(reader.read()).id).toBe(9);
    const slice = reader.read(100, 16);
    expect(slice.byteLength).toBe(16);
    expect(slice.buffer.byteLength).toBe(16);
    // A copy: writing to it changes nothing in the region.
    const copy = reader.read();
    copy.fill(0xff);
    expect(readObject<{ id: number }>(writer.buffer).id).toBe(9);
    // New writes by others show in the next read.
    new Uint8Array(writer.buffer)[8000] = 77;
    expect(reader.read(8000, 1)[0]).toBe(77);
    expect(thrown(() => reader.buffer).code).toBe('ERR_SHM_READ_ONLY');
    expect(thrown(() => reader.mutex).code).toBe('ERR_SHM_READ_ONLY');
    expect(thrown(() => reader.read(8000, 500)).code).toBe('ERR_OUT_OF_RANGE');
    // The reader's mapping itself is PROT_READ (the writer's was mapped before the file had its
    // name, so /proc lists it under the unnamed file, not under the path).
    const maps = readFileSync('/proc/self/maps', 'utf8')
      .split('\n')
      .filter((line) => line.endsWith(shmPath(name)));
    expect(maps.map((line) => line.split(/\s+/)[1])).toEqual(['r--s']);
  });

  it('is refused with a clear error for anything but read or readwrite', () => {
    expect(thrown(() => SharedMemory.open(uniqueName(), { access: 'write' as 'read' })).code).toBe(
      'ERR_INVALID_ARG_VALUE',
    );
  });
});

describe('regions over 4 GiB', () => {
  it('creates a 5 GiB region (unreserved) and reaches all of it through windows', () => {
    const name = uniqueName();
    const size = 5 * 1024 * MiB;
    const region = SharedMemory.create(name, size, { reserve: false });
    expect(region.size).toBe(size);
    expect(thrown(() => region.buffer).code).toBe('ERR_SHM_TOO_LARGE');
    const high = 4 * 1024 * MiB + 12345;
    const window = region.window(high, MiB);
    expect(window.byteLength).toBe(MiB);
    new Uint8Array(window)[0] = 99;
    // The same bytes through a second window and a copy, and from another attachment.
    expect(new Uint8Array(region.window(high - 1, 2))[1]).toBe(99);
    expect(region.read(high, 1)[0]).toBe(99);
    using other = SharedMemory.open(name);
    expect(new Uint8Array(other.window(high, 1))[0]).toBe(99);
    // The last byte, and the limits.
    new Uint8Array(region.window(size - 1))[0] = 5;
    expect(other.read(size - 1)[0]).toBe(5);
    expect(thrown(() => region.window(size - 1, 2)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => region.window(0, 2 ** 32 + 1)).code).toBe('ERR_OUT_OF_RANGE');
    expect(thrown(() => region.window(0)).code).toBe('ERR_OUT_OF_RANGE');
    expect(region.window(size, 0).byteLength).toBe(0);
    // close() detaches every window.
    region.close();
    expect(window.byteLength).toBe(0);
    expect(thrown(() => region.window(0, 1)).code).toBe('ERR_CLOSED');
    using reader = SharedMemory.open(name, { access: 'read' });
    expect(thrown(() => reader.window(0, 1)).code).toBe('ERR_SHM_READ_ONLY');
    expect(reader.read(high, 1)[0]).toBe(99);
  });
});
