/**
 * What a file says about its pixels: where the 16-bit sample data lie (extents) and how each extent's
 * samples are laid out. Everything outside the extents (headers, directories, tags, padding) is never
 * changed.
 */
import type { Bands, ByteOrder, SampleType } from '../pixels.js';

/** The formats rawbright changes in place. */
export type FormatName = 'raw' | 'tiff' | 'bigtiff' | 'fits' | 'pnm';

/** How the samples of an extent are laid out. */
export interface PixelLayout {
  type: SampleType;
  byteOrder: ByteOrder;
  bands: Bands;
  /** The last band (of 2 or 4) is alpha: left alone unless the caller asks. */
  hasAlpha: boolean;
  /** The largest value a sample may take (PNM maxval); the type's maximum when absent. */
  max?: number;
  /** Added to a stored sample to give its value (FITS BZERO 32768: unsigned data stored as int16) [0]. */
  zero?: number;
}

/** A byte range of sample data in one layout. */
export interface Extent {
  offset: number;
  length: number;
  /** Index into {@link FileLayout.layouts}. */
  layout: number;
}

/** One image of a file (a TIFF page, a FITS HDU, a PNM image), for `info`. */
export interface ImageInfo {
  /** Where the image is in the file, e.g. `page 0`, `HDU 1 (IMAGE)`. */
  name: string;
  width: number;
  height: number;
  bands: number;
  /** Changed by rawbright, or why not. */
  changed: boolean;
  note?: string;
}

/** The pixel data of a file, as the file itself describes them. */
export interface FileLayout {
  format: FormatName;
  /** One line for reports: e.g. `TIFF, little-endian, 2 pages, 16-bit unsigned, 3 bands, strips`. */
  description: string;
  layouts: PixelLayout[];
  /** Sorted by offset, disjoint, coalesced where contiguous and alike. */
  extents: Extent[];
  images: ImageInfo[];
}

function sameLayout(a: PixelLayout, b: PixelLayout): boolean {
  return (
    a.type === b.type &&
    a.byteOrder === b.byteOrder &&
    a.bands === b.bands &&
    a.hasAlpha === b.hasAlpha &&
    a.max === b.max &&
    a.zero === b.zero
  );
}

/** Index of `layout` in `layouts`, adding it when new. */
export function layoutIndex(layouts: PixelLayout[], layout: PixelLayout): number {
  const found = layouts.findIndex((l) => sameLayout(l, layout));
  if (found >= 0) return found;
  layouts.push(layout);
  return layouts.length - 1;
}

/**
 * Sorts extents, refuses overlaps, and merges neighbours that touch and share a layout (a striped TIFF's
 * strips usually follow one another, so a whole page becomes one extent and runs in large windows).
 * @param overlapError builds the error for two extents that overlap (a damaged or hostile file).
 */
export function coalesce(
  extents: readonly Extent[],
  overlapError: (a: Extent, b: Extent) => Error,
): Extent[] {
  const sorted = extents.filter((e) => e.length > 0).sort((a, b) => a.offset - b.offset);
  const merged: Extent[] = [];
  for (const extent of sorted) {
    const last = merged[merged.length - 1];
    if (last !== undefined && extent.offset < last.offset + last.length) throw overlapError(last, extent);
    if (last !== undefined && extent.offset === last.offset + last.length && extent.layout === last.layout) {
      last.length += extent.length;
    } else {
      merged.push({ ...extent });
    }
  }
  return merged;
}
