/**
 * `info` for files that describe themselves (TIFF, FITS, PNM, raw with a layout): the format, its
 * images, where the pixel data are, and each band's minimum, maximum and mean, read window by window.
 */
import { MappedFile } from '../file/mapped-file.js';
import { detectLayout, type RawLayoutOptions } from './detect.js';
import type { FileLayout, ImageInfo, PixelLayout } from './layout.js';

/** Statistics of one band of one layout, in sample values (FITS BZERO applied). */
export interface BandStats {
  layout: number;
  band: number;
  min: number;
  max: number;
  mean: number;
}

export interface FormatInfo {
  path: string;
  format: FileLayout['format'];
  description: string;
  bytes: number;
  images: ImageInfo[];
  layouts: PixelLayout[];
  /** The pixel data: `[offset, length, layout]`. */
  extents: [number, number, number][];
  pixelBytes: number;
  stats: BandStats[];
}

const WINDOW = 16 * 1024 * 1024;

/**
 * Describes a file that says what its pixels are, or returns undefined for a plain headerless RGBA file
 * (described by its sidecar instead).
 * @throws {RawbrightError} as `brighten` would refuse the file.
 */
export function formatInfo(
  path: string,
  options: Omit<RawLayoutOptions, 'alpha'> = {},
): FormatInfo | undefined {
  const file = MappedFile.open(path);
  try {
    const layout = detectLayout(file, { ...options, alpha: true });
    if (layout === undefined) return undefined;
    const sums = layout.layouts.map((l) => ({
      min: new Array<number>(l.bands).fill(Number.POSITIVE_INFINITY),
      max: new Array<number>(l.bands).fill(Number.NEGATIVE_INFINITY),
      sum: new Array<number>(l.bands).fill(0),
      count: 0,
    }));
    for (const extent of layout.extents) {
      const l = layout.layouts[extent.layout]!;
      const s = sums[extent.layout]!;
      const unit = 2 * l.bands;
      const chunk = Buffer.alloc(Math.min(WINDOW - (WINDOW % unit), extent.length));
      const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      const little = l.byteOrder === 'little';
      const zero = l.zero ?? 0;
      for (let at = 0; at < extent.length; at += chunk.length) {
        const length = Math.min(chunk.length, extent.length - at);
        file.read(extent.offset + at, chunk.subarray(0, length));
        for (let i = 0; i < length; i += 2) {
          const band = (i / 2) % l.bands;
          const value = (l.type === 'int16' ? view.getInt16(i, little) : view.getUint16(i, little)) + zero;
          if (value < s.min[band]!) s.min[band] = value;
          if (value > s.max[band]!) s.max[band] = value;
          s.sum[band]! += value;
        }
        s.count += length / unit;
      }
    }
    const stats = sums.flatMap((s, layoutNumber) =>
      s.sum.map((sum, band) => ({
        layout: layoutNumber,
        band,
        min: s.min[band]!,
        max: s.max[band]!,
        mean: s.count > 0 ? sum / s.count : 0,
      })),
    );
    return {
      path,
      format: layout.format,
      description: layout.description,
      bytes: file.size,
      images: layout.images,
      layouts: layout.layouts,
      extents: layout.extents.map((e) => [e.offset, e.length, e.layout]),
      pixelBytes: layout.extents.reduce((sum, e) => sum + e.length, 0),
      stats,
    };
  } finally {
    file.close();
  }
}

/** The text `rawbright info` prints for such a file. */
export function describeFormatInfo(info: FormatInfo): string {
  const lines = [
    `${info.path}: ${info.description}`,
    `  ${info.bytes} bytes, of which ${info.pixelBytes} are pixel data in ${info.extents.length} ${info.extents.length === 1 ? 'range' : 'ranges'}`,
  ];
  for (const image of info.images) {
    lines.push(
      `  ${image.name}: ${image.width}×${image.height}, ${image.bands} ${image.bands === 1 ? 'band' : 'bands'}${image.note ? `, ${image.note}` : ''}${image.changed ? '' : ' (not changed)'}`,
    );
  }
  info.layouts.forEach((l, n) => {
    const kind = `${l.type}${l.zero ? ` + ${l.zero}` : ''} ${l.byteOrder}-endian, ${l.bands} ${l.bands === 1 ? 'band' : 'bands'}${l.hasAlpha ? ' (last is alpha)' : ''}${l.max !== undefined ? `, max ${l.max}` : ''}`;
    lines.push(`  layout ${n}: ${kind}`);
    for (const s of info.stats.filter((st) => st.layout === n)) {
      lines.push(`    band ${s.band}: min ${s.min}, max ${s.max}, mean ${s.mean.toFixed(2)}`);
    }
  });
  return `${lines.join('\n')}\n`;
}
