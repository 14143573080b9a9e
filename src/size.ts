/** Parses byte sizes as people write them: `65536`, `64KiB`, `64MiB`, `1GiB`, `1.5GiB`, `2G`. */
import { RawbrightError } from './errors.js';

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
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = match ? UNITS[match[2].toLowerCase()] : undefined;
  const bytes = match && unit !== undefined ? Number(match[1]) * unit : Number.NaN;
  if (!Number.isSafeInteger(bytes)) {
    throw new RawbrightError(
      'ERR_INVALID_ARG_VALUE',
      `${name} must be a whole number of bytes such as 65536, 64KiB, 64MiB or 1GiB, not ${JSON.stringify(text)}`,
    );
  }
  return bytes;
}
