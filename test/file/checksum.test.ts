// The journal's CRC-32 (src/file/checksum.ts and the addon's checksum.cc) against zlib's: every length
// from 0 to 700 at odd offsets (the vector paths, their 16-, 64- and 128-byte steps and every tail),
// large buffers, continued values, and the copy that checksums as it goes.
import { randomBytes } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { native } from '../../dist/addon.js';
import { crc32, crc32OfWords } from '../../dist/file/checksum.js';

describe('crc32', () => {
  it('equals zlib.crc32 for every length from 0 to 700 at offsets 0 to 12', () => {
    const data = randomBytes(720);
    const wrong: string[] = [];
    for (let length = 0; length <= 700; length++) {
      const offset = length % 13;
      const bytes = data.subarray(offset, offset + length);
      if (crc32(bytes) !== zlibCrc32(bytes)) wrong.push(`length ${length} at ${offset}`);
    }
    expect(wrong).toEqual([]);
  });

  it('equals zlib.crc32 on 16 MiB plus a tail, and continues from a given value', () => {
    const data = randomBytes(16 * 1024 * 1024 + 77);
    expect(crc32(data)).toBe(zlibCrc32(data));
    for (const value of [1, 0xdeadbeef, 0xffffffff]) expect(crc32(data, value)).toBe(zlibCrc32(data, value));
    const half = 8 * 1024 * 1024 + 5;
    expect(crc32(data.subarray(half), crc32(data.subarray(0, half)))).toBe(zlibCrc32(data));
  });

  it('finds a changed bit anywhere in a chunk', () => {
    const data = randomBytes(256 * 1024);
    const before = crc32(data);
    for (const at of [0, 1, 127, 128, 4095, 131071, data.length - 1]) {
      data[at]! ^= 0x10;
      expect(crc32(data)).not.toBe(before);
      data[at]! ^= 0x10;
    }
    expect(crc32(data)).toBe(before);
  });

  it('crc32OfWords is the CRC of the words stored little-endian', () => {
    for (const words of [[0], [0xffffffff], [1, 2], [0x80000001, 0x7fffffff], [123456789, 987654321]]) {
      const bytes = Buffer.alloc(4 * words.length);
      for (const [i, word] of words.entries()) bytes.writeUInt32LE(word, 4 * i);
      expect(crc32OfWords(...words)).toBe(zlibCrc32(bytes));
    }
    // And 3,000 random ones of 1 to 3 words, as the journal's records use it (every nibble value in each).
    const random = randomBytes(3000 * 12);
    const wrong: number[][] = [];
    for (let i = 0; i < 3000; i++) {
      const words = Array.from({ length: 1 + (i % 3) }, (_, k) => random.readUInt32LE(12 * i + 4 * k));
      const bytes = Buffer.alloc(4 * words.length);
      for (const [k, word] of words.entries()) bytes.writeUInt32LE(word, 4 * k);
      if (crc32OfWords(...words) !== zlibCrc32(bytes)) wrong.push(words);
    }
    expect(wrong).toEqual([]);
  });
});

describe('copyWithCrc32', () => {
  it('copies exactly and returns the CRC of the copy, for lengths around every step', () => {
    const source = randomBytes(70016);
    for (const length of [0, 1, 15, 16, 63, 64, 127, 128, 129, 255, 256, 1000, 16384, 16385, 65536, 69999]) {
      const target = new ArrayBuffer(length + 16);
      const from = length % 7;
      const crc = native.copyWithCrc32(target, 3, source.buffer, source.byteOffset + from, length);
      const expected = source.subarray(from, from + length);
      expect(Buffer.from(target, 3, length).equals(expected)).toBe(true);
      expect(crc).toBe(zlibCrc32(expected));
      // Nothing outside the range is written.
      expect(Buffer.from(target, 0, 3).every((b) => b === 0)).toBe(true);
      expect(Buffer.from(target, 3 + length).every((b) => b === 0)).toBe(true);
    }
  });

  it('refuses ranges outside either buffer and overlapping ranges, copying nothing', () => {
    const a = new ArrayBuffer(1024);
    const b = new ArrayBuffer(1024);
    expect(() => native.copyWithCrc32(a, 1000, b, 0, 100)).toThrow(/outside dst/);
    expect(() => native.copyWithCrc32(a, 0, b, 1000, 100)).toThrow(/outside src/);
    expect(() => native.copyWithCrc32(a, 0, a, 10, 100)).toThrow(/overlap/);
  });
});
