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

/** Murmur3's 32-bit finaliser. */
function fmix(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * The lane sums of bytes, as the wasm kernel keeps them for a journal's ring (assembly/index.ts, the journaled
 * run): the bytes as 16-byte vectors of four little-endian u32 lanes, the last one zero-padded; per lane, s1 is
 * the sum of its words and s2 the sum of the running s1 after each vector (Fletcher's two sums, mod 2^32), so a
 * changed, lost or moved word shows.
 * @returns s1 of lanes 0–3, then s2 of lanes 0–3
 */
export function laneSums(bytes: Uint8Array): Uint32Array {
  const n = bytes.length;
  const view = new DataView(bytes.buffer, bytes.byteOffset, n);
  const s = new Uint32Array(8);
  const add = (w: readonly number[]) => {
    for (let lane = 0; lane < 4; lane++) {
      s[lane] = s[lane]! + w[lane]!;
      s[4 + lane] = s[4 + lane]! + s[lane]!;
    }
  };
  let q = 0;
  for (; n - q >= 16; q += 16) {
    add([
      view.getUint32(q, true),
      view.getUint32(q + 4, true),
      view.getUint32(q + 8, true),
      view.getUint32(q + 12, true),
    ]);
  }
  if (q < n) {
    const w = [0, 0, 0, 0];
    for (let j = 0; q + j < n; j++) w[j >> 2]! |= bytes[q + j]! << ((j & 3) * 8);
    add(w.map((word) => word >>> 0));
  }
  return s;
}

/**
 * A checksum of bytes (the progress sample of a journal the kernel records, assembly/index.ts ringSum): their
 * {@link laneSums}, then the byte count and the eight sums folded by a 32-bit mixer, lane by lane.
 */
export function ringSum(bytes: Uint8Array): number {
  const s = laneSums(bytes);
  let h = bytes.length >>> 0;
  for (let lane = 0; lane < 4; lane++) {
    h = fmix(h ^ s[lane]!);
    h = fmix(h ^ s[4 + lane]!);
  }
  return h;
}
