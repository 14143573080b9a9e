// writeObject / readObject: structured objects in raw memory, shared between processes and files.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MappedFile } from '../../dist/file/mapped-file.js';
import { OBJECT_HEADER_BYTES, readObject, writeObject } from '../../dist/shm/serialize.js';
import { SharedMemory } from '../../dist/shm/shared-memory.js';
import { startChild, thrown, uniqueName } from '../helpers/shm-processes.js';

describe('writeObject / readObject', () => {
  it('returns a value of its own: typed arrays read earlier do not change with the next write', () => {
    const buffer = new ArrayBuffer(4096);
    writeObject(buffer, { samples: new Uint16Array([1, 2, 3, 4]) });
    const first = readObject<{ samples: Uint16Array }>(buffer);
    writeObject(buffer, { samples: new Uint16Array([9, 9, 9, 9]) });
    expect([...first.samples]).toEqual([1, 2, 3, 4]);
    expect(first.samples.buffer).not.toBe(buffer);
  });

  it('gives every typed array an ArrayBuffer of its own, of exactly its size', () => {
    // Small Buffers share Node's pool: the deserializer's views used to be slices of it.
    const pooled = Buffer.from('an unrelated pooled buffer');
    const memory = new ArrayBuffer(4096);
    writeObject(memory, {
      words: new Uint16Array([1, 2, 3]),
      odd: new Uint8Array([5]), // puts the next view at an odd offset: copied through the pool before
      wide: new Float64Array([1.5, -2]),
      view: new DataView(new Uint8Array([1, 2, 3, 4]).buffer),
      buffer: Buffer.from('zz'),
      label: 'x'.repeat(40),
    });
    const value = readObject<Record<string, ArrayBufferView>>(memory);
    const views = ['words', 'odd', 'wide', 'view', 'buffer'].map((key) => value[key]);
    for (const view of views) {
      expect(view.byteOffset).toBe(0);
      expect(view.buffer.byteLength).toBe(view.byteLength);
      expect(view.buffer).not.toBe(pooled.buffer);
      expect(view.buffer).not.toBe(memory);
    }
    expect(new Set(views.map((view) => view.buffer)).size).toBe(views.length);
    for (const view of views) new Uint8Array(view.buffer).fill(0xee);
    expect(pooled.toString()).toBe('an unrelated pooled buffer');
    expect(value.label).toBe('x'.repeat(40));
    expect(value.buffer).toBeInstanceOf(Buffer);
    expect(value.view).toBeInstanceOf(DataView);
  });

  it('carries a structured value from one process to another through a region', async () => {
    const name = uniqueName();
    const region = SharedMemory.create(name, 4096);
    try {
      const writer = startChild('write-object', name);
      await writer.line('done');
      const guard = await region.mutex.lock();
      const value = readObject<Record<string, unknown>>(region.buffer);
      guard.unlock();
      expect(value).toEqual({
        id: 42,
        name: 'record',
        when: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)),
        tags: new Set(['a', 'b']),
        scores: new Map([['x', 1.5]]),
        big: 2n ** 70n,
        samples: new Uint16Array([1, 65535]),
        nested: { list: [1, 'two', null, [3]] },
      });
      writeObject(region.buffer, { from: 'parent', list: [1, 2, 3] });
      const reader = startChild('read-object', name);
      expect(JSON.parse(await reader.line((line) => line.startsWith('{')))).toEqual({
        from: 'parent',
        list: [1, 2, 3],
      });
    } finally {
      region.close();
    }
  });

  it('writes into a mapped file, where the value survives the process', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rawbright-'));
    try {
      const path = join(dir, 'db.bin');
      const record = { table: 'users', rows: [{ id: 1, name: 'Ada' }], updated: new Date(0) };
      const file = MappedFile.create(path, { size: 8192 });
      file.close();
      const writable = MappedFile.open(path, { access: 'readwrite' });
      const window = writable.map({ offset: 4096, length: 4096 });
      const written = writeObject(window.buffer, record);
      expect(written).toBeGreaterThan(OBJECT_HEADER_BYTES);
      window.flush();
      writable.close();
      const readable = MappedFile.open(path);
      const again = readable.map({ offset: 4096, length: 4096 });
      expect(readObject(again.buffer)).toEqual(record);
      readable.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('uses the range of a view, not its whole buffer', () => {
    const memory = new ArrayBuffer(256);
    const view = new DataView(memory, 100, 100);
    writeObject(view, 'inside');
    expect(new Uint8Array(memory, 0, 100).every((byte) => byte === 0)).toBe(true);
    expect(readObject(new Uint8Array(memory, 100, 100))).toBe('inside');
  });

  it('refuses a value too big for the buffer with ERR_OBJECT_TOO_LARGE and writes nothing', () => {
    const name = uniqueName();
    const region = SharedMemory.create(name, 64);
    try {
      writeObject(region.buffer, 'small');
      const error = thrown(() => writeObject(region.buffer, 'x'.repeat(100)));
      expect(error.code).toBe('ERR_OBJECT_TOO_LARGE');
      expect(error.message).toMatch(/^the value needs \d+ bytes but the buffer holds 64$/);
      expect(readObject(region.buffer)).toBe('small');
    } finally {
      region.close();
    }
  });

  it('reports empty, damaged and unserializable data with codes', () => {
    const memory = new Uint8Array(64);
    expect(thrown(() => readObject(memory)).code).toBe('ERR_NO_OBJECT');
    expect(thrown(() => readObject(new Uint8Array(4))).code).toBe('ERR_NO_OBJECT');
    writeObject(memory, { a: 1 });
    memory[OBJECT_HEADER_BYTES] = 0xff; // not a V8 serialization header
    memory[OBJECT_HEADER_BYTES + 1] = 0xff;
    expect(thrown(() => readObject(memory)).code).toBe('ERR_INVALID_OBJECT');
    memory[8] = 200; // claims more bytes than follow
    expect(thrown(() => readObject(memory)).code).toBe('ERR_INVALID_OBJECT');
    expect(thrown(() => writeObject(memory, { f() {} })).code).toBe('ERR_NOT_SERIALIZABLE');
    expect(thrown(() => writeObject('nope' as unknown as ArrayBuffer, 1)).code).toBe('ERR_INVALID_ARG_VALUE');
  });
});
