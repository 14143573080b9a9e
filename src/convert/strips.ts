/**
 * Strips: how a raw image larger than memory goes through code that wants whole buffers. A strip is a run
 * of whole rows mapped as one window of the raw file; a chunk is a run of whole pixels that ignores rows.
 * Each window is unmapped before the next is mapped, so a pass over a file of any size holds one window
 * of file pages at a time, and those pages are the page cache's, not the process's own memory.
 */
import { RawbrightError } from '../errors.js';
import type { MappedFile, Window } from '../file/mapped-file.js';
import { RAW_BYTES_PER_PIXEL } from './sidecar.js';

const MIB = 1024 * 1024;

/** The usual strip size: large enough that per-window costs vanish, small enough to keep memory flat. */
export const STRIP_BYTES = 64 * MIB;
/** The widest row the strip-based converters take (8 Mi pixels): one row must fit a strip. */
const MAX_ROW_BYTES = 64 * MIB;

/** Rows that fit in `maxBytes` (at least one). */
export function rowsPerStrip(width: number, maxBytes: number): number {
  return Math.max(1, Math.floor(maxBytes / (width * RAW_BYTES_PER_PIXEL)));
}

/**
 * Refuses images whose rows are too wide for the strip-based converters.
 * @throws {RawbrightError} `ERR_IMAGE_TOO_WIDE`.
 */
export function checkRowWidth(width: number, path: string): void {
  if (width * RAW_BYTES_PER_PIXEL > MAX_ROW_BYTES) {
    throw new RawbrightError(
      'ERR_IMAGE_TOO_WIDE',
      `${path} is ${width} pixels wide; converting takes at most ${MAX_ROW_BYTES / RAW_BYTES_PER_PIXEL} pixels a row`,
      { path },
    );
  }
}

/** A run of rows [y, y + rows) of a raw image, mapped. */
export interface RowStrip {
  readonly y: number;
  readonly rows: number;
  /** The strip's bytes, a view of the mapped window (valid until the iteration moves on). */
  readonly bytes: Uint8Array;
}

/** Splits `height` rows into runs of at most `rowsEach` rows. */
function* rowRanges(height: number, rowsEach: number): Generator<{ y: number; rows: number }> {
  for (let y = 0; y < height; y += rowsEach) yield { y, rows: Math.min(rowsEach, height - y) };
}

/** Splits `total` items into runs of at most `each`. */
export function* ranges(total: number, each: number): Generator<{ start: number; count: number }> {
  for (let start = 0; start < total; start += each) yield { start, count: Math.min(each, total - start) };
}

/**
 * Maps the raw image strip by strip. The window behind each strip is unmapped when the loop asks for the
 * next strip (or stops), so callers must finish with `bytes` (or copy what they keep) before moving on.
 * @param file The raw file, opened for reading.
 * @param width Pixels per row.
 * @param height Rows.
 * @param rowsEach Rows per strip.
 * @param onRows Called with the rows done so far after each strip is unmapped (progress).
 */
export function* mapRowStrips(
  file: MappedFile,
  width: number,
  height: number,
  rowsEach: number,
  onRows?: (rowsDone: number) => void,
): Generator<RowStrip> {
  const rowBytes = width * RAW_BYTES_PER_PIXEL;
  for (const { y, rows } of rowRanges(height, rowsEach)) {
    const window: Window = file.map({ offset: y * rowBytes, length: rows * rowBytes });
    try {
      window.advise('sequential');
      yield { y, rows, bytes: new Uint8Array(window.buffer) };
    } finally {
      window.close();
    }
    onRows?.(y + rows);
  }
}
