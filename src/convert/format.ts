/** Human-readable sizes and rates for the conversion commands' one-line reports. */

const UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];

/** `1536` → `'1.50 KiB'`; below 1 KiB, `'812 bytes'`. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(2)} ${UNITS[unit]}`;
}

/** Bytes over seconds as decimal megabytes a second, e.g. `'412 MB/s'`. */
export function formatRate(bytes: number, seconds: number): string {
  return seconds > 0 ? `${(bytes / 1e6 / seconds).toFixed(0)} MB/s` : 'instant';
}
