/** Parses byte sizes as people write them: `65536`, `64KiB`, `64MiB`, `1GiB`, `1.5GiB`, `2G`. */
import { RawbrightError } from '../errors.js';

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1000,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1000 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1000 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1000 ** 4,
  tib: 1024 ** 4,
};

/**
 * Parses a size. Units are binary (KiB, MiB, GiB, TiB; K, M, G, T are the same) or decimal (kB, MB,
 * GB, TB), case-insensitive.
 * @param text The size, e.g. `'64MiB'`.
 * @param name What the size is for, used in the error message [`'size'`].
 * @returns The size in bytes, a whole number up to 2^53 − 1.
 * @throws {RawbrightError} `ERR_INVALID_ARG_VALUE` for anything else (negative, fractional bytes, unknown units, too large).
 */
export function parseSize(text: string, name = 'size'): number {
  // Trimmed first: with \s* on both sides of an optional unit, a digit followed by many blanks took
  // quadratic time (a 128 KiB argument: half a minute).
  const match = typeof text === 'string' ? /^(\d+)(?:\.(\d+))?\s*([a-z]*)$/i.exec(text.trim()) : null;
  const unit = match ? UNITS[match[3].toLowerCase()] : undefined;
  let bytes: bigint | undefined;
  if (match && unit !== undefined) {
    // Exact arithmetic: in floating point '3000.027T' or '1.0000000000000000001' passed as whole bytes.
    const fraction = match[2] ?? '';
    const scale = 10n ** BigInt(fraction.length);
    const scaled = BigInt(match[1] + fraction) * BigInt(unit);
    if (scaled % scale === 0n) bytes = scaled / scale;
  }
  if (bytes === undefined || bytes > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new RawbrightError(
      'ERR_INVALID_ARG_VALUE',
      `${name} must be a whole number of bytes such as 65536, 64KiB, 64MiB or 1GiB, not ${JSON.stringify(text)}`,
    );
  }
  return Number(bytes);
}
