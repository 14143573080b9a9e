/**
 * Human-readable sizes and rates, the same in every message, report and table (the CLI's one-line
 * reports, the benchmark's tables and charts, error messages).
 */

const UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];

/**
 * Formats a byte count in binary units: exact multiples without decimals, other values to three
 * significant digits, so a table of window sizes reads `64 MiB`, not `64.00 MiB`.
 * @param bytes a whole number of bytes
 * @returns e.g. `812 bytes`, `1.50 KiB`, `64 MiB`, `2 GiB`, `12.5 GiB`
 * @example
 * formatBytes(1536); // '1.50 KiB'
 * formatBytes(64 * 1024 ** 2); // '64 MiB'
 */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = Number.isInteger(value) ? 0 : Math.abs(value) < 10 ? 2 : Math.abs(value) < 100 ? 1 : 0;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/**
 * Bytes over seconds as decimal megabytes a second.
 * @param bytes bytes processed
 * @param seconds time taken
 * @returns e.g. `412 MB/s`, or `instant` for no measurable time
 */
export function formatRate(bytes: number, seconds: number): string {
  if (!(seconds > 0)) return 'instant';
  const rate = bytes / 1e6 / seconds;
  // Three significant digits below 100, so a small file's rate does not read "0 MB/s".
  return `${rate >= 100 ? rate.toFixed(0) : rate.toPrecision(3)} MB/s`;
}

/**
 * A duration, never "0.00 s" for a short one: seconds to two decimals from 1 s, milliseconds to three
 * significant digits below.
 * @param seconds time taken
 * @returns e.g. `12.34 s`, `153 ms`, `4.27 ms`
 */
export function formatSeconds(seconds: number): string {
  if (seconds >= 1) return `${seconds.toFixed(2)} s`;
  const ms = seconds * 1000;
  return `${ms >= 100 ? ms.toFixed(0) : ms >= 0.001 ? ms.toPrecision(3) : '0'} ms`;
}

/**
 * Decimal gigabytes a second, never "0.00": two decimals from 1 GB/s, three significant digits below.
 * @returns e.g. `6.21 GB/s`, `0.0343 GB/s`
 */
export function formatGbps(gbps: number): string {
  return `${gbps >= 1 ? gbps.toFixed(2) : gbps > 0 ? gbps.toPrecision(3) : '0'} GB/s`;
}
