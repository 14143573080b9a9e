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
  return seconds > 0 ? `${(bytes / 1e6 / seconds).toFixed(0)} MB/s` : 'instant';
}
