/**
 * The pixel vocabulary every part of rawbright speaks: how a 16-bit sample is read, in which byte
 * order, and how many samples make a pixel. One definition here; the kernels, the pipeline and the
 * converters import it rather than keeping their own copies.
 *
 * A pixel is `bands` 16-bit samples in a row (2 × bands bytes); band 0 comes first. With 2 and 4
 * bands the last band is alpha (grey + alpha, RGB + alpha); 1 and 3 bands have none.
 */

/** How a 16-bit sample is read: unsigned (PNG, TIFF, PNM) or signed (FITS, the original `MyColor` struct). */
export type SampleType = 'uint16' | 'int16';
/** The order of a sample's two bytes: `'little'` (low byte first; x86, most raw dumps) or `'big'` (FITS, PNM). */
export type ByteOrder = 'little' | 'big';
/** Samples per pixel: 1 grey, 2 grey + alpha, 3 RGB, 4 RGB + alpha. */
export type Bands = 1 | 2 | 3 | 4;
/** The legacy channel modes of 4-band pixels: `'rgb'` leaves alpha alone, `'rgba'` changes alpha too. */
export type Channels = 'rgb' | 'rgba';

/** The sample types, for validation and help texts. */
export const SAMPLE_TYPES: readonly SampleType[] = Object.freeze(['uint16', 'int16']);
/** The byte orders, for validation and help texts. */
export const BYTE_ORDERS: readonly ByteOrder[] = Object.freeze(['little', 'big']);
/** The band counts, for validation and help texts. */
export const BAND_COUNTS: readonly Bands[] = Object.freeze([1, 2, 3, 4]);
/** The channel modes, for validation and help texts. */
export const CHANNEL_MODES: readonly Channels[] = Object.freeze(['rgb', 'rgba']);

/** Bytes per sample: every layout here is 16-bit. */
export const BYTES_PER_SAMPLE = 2;

/** The bands of the default layout (RGBA): what a pixel is when nothing says otherwise. */
export const DEFAULT_BANDS: Bands = 4;

/**
 * Bytes per pixel.
 * @param bands samples per pixel [4]
 * @returns 2 × bands
 */
export function bytesPerPixel(bands: Bands = DEFAULT_BANDS): number {
  return BYTES_PER_SAMPLE * bands;
}

/**
 * Which band is alpha.
 * @param bands samples per pixel
 * @returns the index of the alpha band (the last of 2 and 4 bands), or undefined for 1 and 3 bands
 */
export function alphaBand(bands: Bands): number | undefined {
  return bands === 2 || bands === 4 ? bands - 1 : undefined;
}

/** The range of values a sample type holds, inclusive. */
export interface SampleRange {
  readonly min: number;
  readonly max: number;
}

/** Each sample type's range: [0, 65535] for uint16, [-32768, 32767] for int16. */
export const SAMPLE_RANGES: Readonly<Record<SampleType, SampleRange>> = Object.freeze({
  uint16: Object.freeze({ min: 0, max: 65535 }),
  int16: Object.freeze({ min: -32768, max: 32767 }),
});

/**
 * The range of a sample type.
 * @param type the sample type
 * @returns its smallest and largest value
 */
export function sampleRange(type: SampleType): SampleRange {
  return SAMPLE_RANGES[type];
}
