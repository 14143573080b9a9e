// Streams over a window (.NET's CreateViewStream): copies out and in, backpressure, the end of the
// view, and windows closed while a stream is using them.
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { MappedFile } from '../../dist/index.js';
import { fixtureFolder, randomBytes, sha256 } from '../helpers/raw.js';

const folder = fixtureFolder();
const { dir, fixture } = folder;
afterAll(() => folder.cleanup());

const turns = async (count: number) => {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
};

async function collect(stream: Readable): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

describe('createReadStream', () => {
  it('reads exactly the window, in chunks of at most highWaterMark', async () => {
    const bytes = randomBytes(100_000, 1);
    using file = MappedFile.open(fixture(bytes));
    using window = file.map({ offset: 1234, length: 70_001 });
    const stream = window.createReadStream({ highWaterMark: 8192 });
    const chunks = await collect(stream);
    expect(Buffer.concat(chunks).equals(bytes.subarray(1234, 1234 + 70_001))).toBe(true);
    expect(Math.max(...chunks.map((chunk) => chunk.length))).toBe(8192);
    expect(chunks.length).toBe(Math.ceil(70_001 / 8192));
    expect(stream.position).toBe(70_001);
  });

  it('covers { offset, length } of the window, and an empty range ends at once', async () => {
    const bytes = randomBytes(10_000, 2);
    using file = MappedFile.open(fixture(bytes));
    using window = file.map({ offset: 100 });
    const stream = window.createReadStream({ offset: 50, length: 3000 });
    expect([stream.offset, stream.length]).toEqual([50, 3000]);
    expect(Buffer.concat(await collect(stream)).equals(bytes.subarray(150, 3150))).toBe(true);
    expect(await collect(window.createReadStream({ offset: window.length }))).toEqual([]);
  });

  it('hands out copies: a chunk outlives later writes to the window and the window itself', async () => {
    const bytes = randomBytes(8192, 3);
    using file = MappedFile.open(fixture(bytes), { access: 'copy' });
    const window = file.map();
    const [first] = await collect(window.createReadStream({ length: 4096 }));
    new Uint8Array(window.buffer).fill(0);
    window.close();
    expect(first.equals(bytes.subarray(0, 4096))).toBe(true);
  });

  it('pushes back: with nobody reading, it copies no more than highWaterMark ahead', async () => {
    using file = MappedFile.open(fixture(randomBytes(1 << 20, 4)));
    using window = file.map();
    const stream = window.createReadStream({ highWaterMark: 4096 });
    const received: Buffer[] = [];
    stream.pause();
    stream.on('data', (chunk: Buffer) => received.push(chunk));
    stream.read(0); // start filling the buffer
    await turns(20);
    expect(received).toEqual([]);
    expect(stream.readableLength).toBe(4096);
    expect(stream.position).toBe(4096);
    stream.resume();
    await once(stream, 'end');
    expect(Buffer.concat(received).equals(Buffer.from(window.buffer))).toBe(true);
  });

  it('pipes a window into a file', async () => {
    const bytes = randomBytes(3 * 1024 * 1024 + 17, 5);
    using file = MappedFile.open(fixture(bytes));
    using window = file.map();
    const out = path.join(dir, 'copy.raw');
    await pipeline(window.createReadStream({ highWaterMark: 1 << 20 }), fs.createWriteStream(out));
    expect(fs.readFileSync(out).equals(bytes)).toBe(true);
  });

  it('fails with ERR_CLOSED when the window is closed mid-stream, keeping what it delivered', async () => {
    const bytes = randomBytes(64 * 1024, 6);
    using file = MappedFile.open(fixture(bytes));
    const window = file.map();
    const stream = window.createReadStream({ highWaterMark: 4096 });
    const chunks: Buffer[] = [];
    const failure = (async () => {
      for await (const chunk of stream) {
        chunks.push(chunk);
        if (chunks.length === 2) window.close();
      }
    })();
    await expect(failure).rejects.toMatchObject({
      code: 'ERR_CLOSED',
      message: `the window of ${file.path} was closed while a stream was using it`,
    });
    expect(stream.destroyed).toBe(true);
    // What it delivered stays valid: copies, not views of the unmapped pages.
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    expect(Buffer.concat(chunks).equals(bytes.subarray(0, chunks.length * 4096))).toBe(true);
  });

  it('closing the file closes its windows, and their streams fail the same way', async () => {
    using file = MappedFile.open(fixture(randomBytes(64 * 1024, 7)));
    const window = file.map();
    const stream = window.createReadStream({ highWaterMark: 1024 });
    const error = once(stream, 'error');
    stream.read(0);
    file.close();
    const [reason] = await error;
    expect(reason).toMatchObject({ code: 'ERR_CLOSED' });
    expect(window.closed).toBe(true);
  });

  it('a stream that already copied everything out still ends normally after the window closes', async () => {
    const bytes = randomBytes(1000, 8);
    using file = MappedFile.open(fixture(bytes));
    const window = file.map();
    const stream = window.createReadStream({ highWaterMark: 4096 });
    stream.read(0);
    await turns(5);
    expect(stream.position).toBe(1000);
    window.close();
    expect(Buffer.concat(await collect(stream)).equals(bytes)).toBe(true);
  });

  it('refuses bad options and closed windows', () => {
    using file = MappedFile.open(fixture(randomBytes(100, 9)));
    const window = file.map();
    expect(() => window.createReadStream({ offset: 101 })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: 'offset is larger than the window' }),
    );
    expect(() => window.createReadStream({ offset: 50, length: 51 })).toThrow(
      'length is past the end of the window',
    );
    expect(() => window.createReadStream({ highWaterMark: 0 })).toThrow(
      'Expected an integer from 1 to 1073741824 for highWaterMark but received 0 of type number',
    );
    expect(() => window.createReadStream([] as never)).toThrow('Expected an object for options');
    window.close();
    expect(() => window.createReadStream()).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
    expect(() => window.createWriteStream()).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
  });
});

describe('createWriteStream', () => {
  it('writes chunks one after another into the window, and so into the file', async () => {
    const file = fixture(randomBytes(20_000, 10));
    const before = fs.readFileSync(file);
    const data = randomBytes(9000, 11);
    {
      using mapped = MappedFile.open(file, { access: 'readwrite' });
      using window = mapped.map({ offset: 5000, length: 10_000 });
      const stream = window.createWriteStream({ offset: 100 });
      await pipeline(
        Readable.from([data.subarray(0, 1), data.subarray(1, 5000), data.subarray(5000)]),
        stream,
      );
      expect(stream.position).toBe(9100);
    }
    const after = fs.readFileSync(file);
    expect(after.subarray(5100, 14_100).equals(data)).toBe(true);
    expect(after.subarray(0, 5100).equals(before.subarray(0, 5100))).toBe(true);
    expect(after.subarray(14_100).equals(before.subarray(14_100))).toBe(true);
  });

  it('pushes back: write() returns false once highWaterMark bytes are buffered, then drains', async () => {
    using mapped = MappedFile.open(fixture(randomBytes(64 * 1024, 12)), { access: 'readwrite' });
    using window = mapped.map();
    const stream = window.createWriteStream({ highWaterMark: 4096 });
    stream.cork();
    expect(stream.write(Buffer.alloc(2000, 1))).toBe(true);
    expect(stream.write(Buffer.alloc(2000, 2))).toBe(true);
    expect(stream.write(Buffer.alloc(2000, 3))).toBe(false);
    expect(stream.writableLength).toBe(6000);
    expect(stream.position).toBe(0);
    const drained = once(stream, 'drain');
    stream.uncork();
    await drained;
    expect(stream.position).toBe(6000);
    const view = Buffer.from(window.buffer);
    expect([view[0], view[1999], view[2000], view[4000], view[5999]]).toEqual([1, 1, 2, 3, 3]);
    // Uncorked, each chunk is copied in as it is written, so even a large one leaves nothing waiting.
    expect(stream.write(Buffer.alloc(8192, 4))).toBe(true);
    expect(stream.writableLength).toBe(0);
    expect(stream.position).toBe(6000 + 8192);
    stream.end();
    await once(stream, 'finish');
  });

  it('a write stream ended before its window closes finishes normally; one not ended fails', async () => {
    using mapped = MappedFile.open(fixture(randomBytes(8192, 18)), { access: 'readwrite' });
    const window = mapped.map();
    const ended = window.createWriteStream({ length: 100 });
    const open = window.createWriteStream({ offset: 100 });
    ended.end(Buffer.alloc(100, 1));
    open.write(Buffer.alloc(100, 2));
    const failed = once(open, 'error');
    window.close();
    await once(ended, 'finish');
    expect((await failed)[0]).toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('refuses a chunk past the end of the view whole, with ERR_PAST_END, writing nothing of it', async () => {
    const file = fixture(randomBytes(4096, 13));
    const before = fs.readFileSync(file);
    using mapped = MappedFile.open(file, { access: 'readwrite' });
    using window = mapped.map({ offset: 1000, length: 100 });
    const stream = window.createWriteStream();
    stream.write(Buffer.alloc(60, 0xaa));
    const [error] = await Promise.all([once(stream, 'error'), stream.write(Buffer.alloc(41, 0xbb))]);
    expect(error[0]).toMatchObject({
      code: 'ERR_PAST_END',
      message: 'cannot write 41 bytes at byte 60 of the window: the stream ends at byte 100',
    });
    expect(stream.destroyed).toBe(true);
    const after = fs.readFileSync(file);
    expect(after.subarray(1000, 1060).every((byte) => byte === 0xaa)).toBe(true);
    expect(after.subarray(1060).equals(before.subarray(1060))).toBe(true);
    expect(after.subarray(0, 1000).equals(before.subarray(0, 1000))).toBe(true);
  });

  it('fills a view exactly, and pipeline reports a source that does not fit', async () => {
    using mapped = MappedFile.open(fixture(randomBytes(4096, 14)), { access: 'readwrite' });
    using window = mapped.map({ length: 100 });
    await pipeline(Readable.from([Buffer.alloc(100, 7)]), window.createWriteStream());
    expect(Buffer.from(window.buffer).every((byte) => byte === 7)).toBe(true);
    await expect(
      pipeline(Readable.from([Buffer.alloc(50, 8), Buffer.alloc(51, 9)]), window.createWriteStream()),
    ).rejects.toMatchObject({ code: 'ERR_PAST_END' });
    expect(
      Buffer.from(window.buffer)
        .subarray(50)
        .every((byte) => byte === 7),
    ).toBe(true);
  });

  it('fails with ERR_CLOSED when the window is closed mid-stream', async () => {
    const file = fixture(randomBytes(8192, 15));
    const before = fs.readFileSync(file);
    using mapped = MappedFile.open(file, { access: 'readwrite' });
    const window = mapped.map();
    const stream = window.createWriteStream();
    stream.write(Buffer.alloc(10, 1));
    const error = once(stream, 'error');
    window.close();
    expect((await error)[0]).toMatchObject({ code: 'ERR_CLOSED' });
    expect(stream.destroyed).toBe(true);
    expect(stream.write(Buffer.alloc(10, 2))).toBe(false);
    // The write before the close reached the file; nothing after it did.
    const after = fs.readFileSync(file);
    expect(after.subarray(0, 10).equals(Buffer.alloc(10, 1))).toBe(true);
    expect(after.subarray(10).equals(before.subarray(10))).toBe(true);
  });

  it("refuses a window of a file opened 'read'; 'copy' writes stay in memory", async () => {
    const file = fixture(randomBytes(4096, 16));
    const before = sha256(file);
    using readOnly = MappedFile.open(file);
    using window = readOnly.map();
    expect(() => window.createWriteStream()).toThrow(
      expect.objectContaining({
        code: 'ERR_READ_ONLY',
        message: `cannot write through a window of ${file}: it was opened 'read' (use 'readwrite', or 'copy' for private writes)`,
      }),
    );
    using copy = MappedFile.open(file, { access: 'copy' });
    using private_ = copy.map();
    await pipeline(Readable.from([Buffer.alloc(4096, 5)]), private_.createWriteStream());
    expect(Buffer.from(private_.buffer).every((byte) => byte === 5)).toBe(true);
    expect(sha256(file)).toBe(before);
  });

  it('with flush, finishes once the bytes written are flushed', async () => {
    const file = fixture(randomBytes(3 * 4096, 17));
    using mapped = MappedFile.open(file, { access: 'readwrite' });
    using window = mapped.map();
    const stream = window.createWriteStream({ offset: 4096, flush: true });
    stream.end(Buffer.alloc(4096, 0x42));
    await once(stream, 'finish');
    expect(
      fs
        .readFileSync(file)
        .subarray(4096, 8192)
        .every((byte) => byte === 0x42),
    ).toBe(true);
    expect(() => window.createWriteStream({ flush: 1 as unknown as boolean })).toThrow(
      'Expected a boolean for flush but received 1 of type number',
    );
  });
});

describe("the seed's BinaryWriter / BinaryReader pattern", () => {
  it('writes an Int32 and a Boolean through one stream and reads them back through another', async () => {
    using mapped = MappedFile.create(path.join(dir, 'binary.raw'), { size: 4096 });
    using window = mapped.map();
    const writer = window.createWriteStream();
    const record = Buffer.alloc(5);
    record.writeInt32LE(-123_456, 0);
    record.writeUInt8(1, 4);
    writer.end(record);
    await once(writer, 'finish');
    const reader = window.createReadStream({ length: 5 });
    const bytes = Buffer.concat(await collect(reader));
    expect([bytes.readInt32LE(0), bytes.readUInt8(4) !== 0]).toEqual([-123_456, true]);
    expect(writer).toBeInstanceOf(Writable);
    expect(reader).toBeInstanceOf(Readable);
  });

  it('are the Readable and Writable of node:stream in a fresh process, where it is loaded by the first stream', () => {
    const dist = new URL('../../dist/index.js', import.meta.url).href;
    const file = fixture(randomBytes(4096, 3));
    const script = `
      const { MappedFile, WindowReadStream, WindowWriteStream } = await import(${JSON.stringify(dist)});
      const { Readable, Writable } = await import('node:stream');
      const file = MappedFile.open(${JSON.stringify(file)}, { access: 'read' });
      const window = file.map({ length: 16 });
      const reader = window.createReadStream();
      console.log(JSON.stringify([reader instanceof Readable, reader instanceof WindowReadStream,
        Object.getPrototypeOf(WindowReadStream) === Readable, Object.getPrototypeOf(WindowWriteStream) === Writable,
        typeof reader.pipe, WindowReadStream.name]));
      reader.destroy();
      window.close();
      file.close();`;
    const result = spawnSync('node', ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual([true, true, true, true, 'function', 'WindowReadStream']);
  });
});
