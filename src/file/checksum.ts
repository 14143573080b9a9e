/**
 * CRC-32 at memory speed (the addon's carry-less-multiply loop): the same values as `zlib.crc32`, which
 * runs at a fraction of the speed and was most of a journaled run's time on large files.
 */
import { native } from '../addon.js';

/** The CRC-32 of `bytes` (an ArrayBuffer's view), continuing from `value`, as zlib.crc32(bytes, value). */
export function crc32(bytes: Uint8Array, value = 0): number {
  return native.crc32(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength, value);
}

// Four bits at a time, for a few bytes, where calling into the addon would cost more. Not the usual
// 256-entry table: building that in JavaScript at load time (2,048 steps, interpreted) cost more of a small
// file's start-up than every use of it in the run.
const NIBBLES = (() => {
  const table = new Uint32Array(16);
  for (let n = 0; n < 16; n++) {
    let c = n;
    for (let k = 0; k < 4; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** The CRC-32 of 32-bit words stored little-endian one after another: crc32 of their 4 × n bytes. */
export function crc32OfWords(...words: number[]): number {
  let c = 0xffffffff;
  for (const word of words) {
    for (let shift = 0; shift < 32; shift += 4) c = NIBBLES[(c ^ (word >>> shift)) & 0xf]! ^ (c >>> 4);
  }
  return ~c >>> 0;
}
