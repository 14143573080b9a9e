/** Fixtures for pipeline and CLI tests: temporary raw files and an independent brighten formula. */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tempDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'rawbright-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Deterministic pseudo-random bytes (xorshift32), so every run tests the same data. */
export function randomBytes(length: number, seed = 1): Buffer {
  const bytes = Buffer.alloc(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i + 4 <= length; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    bytes.writeUInt32LE(x, i);
  }
  return bytes;
}

export function writeRaw(path: string, bytes: Buffer): void {
  writeFileSync(path, bytes);
}

export const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/**
 * The brighten semantics written out sample by sample, independently of every kernel:
 * clamp(x + delta) on R, G, B (and A with 'rgba'), over bytes [offset, offset + length).
 */
export function expectedBrighten(
  input: Buffer,
  delta: number,
  type: 'uint16' | 'int16' = 'uint16',
  channels: 'rgb' | 'rgba' = 'rgb',
  offset = 0,
  length = input.length - offset,
): Buffer {
  const out = Buffer.from(input);
  const [min, max] = type === 'uint16' ? [0, 65535] : [-32768, 32767];
  for (let i = offset; i < offset + length; i += 2) {
    if (channels === 'rgb' && ((i - offset) >> 1) % 4 === 3) continue;
    const x = type === 'uint16' ? out.readUInt16LE(i) : out.readInt16LE(i);
    const y = Math.min(max, Math.max(min, x + delta));
    if (type === 'uint16') out.writeUInt16LE(y, i);
    else out.writeInt16LE(y, i);
  }
  return out;
}

/**
 * A folder of numbered fixture files: `fixture(bytes)` writes one, `fixture(size)` makes a sparse one
 * (ftruncate costs no disk however large).
 */
export function fixtureFolder(): {
  dir: string;
  fixture(contents: Uint8Array | number): string;
  cleanup(): void;
} {
  const { dir, cleanup } = tempDir();
  let count = 0;
  return {
    dir,
    cleanup,
    fixture(contents) {
      const file = join(dir, `fixture-${count++}.raw`);
      writeFileSync(file, typeof contents === 'number' ? '' : contents);
      if (typeof contents === 'number') truncateSync(file, contents);
      return file;
    },
  };
}
