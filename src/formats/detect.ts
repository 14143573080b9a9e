/**
 * Which format a file is, from its own bytes (never its name), and where its pixel data lie. A file
 * with a known signature that rawbright does not change (PNG, JPEG, archives, executables, …) is
 * refused before anything is touched.
 */
import { RawbrightError } from '../errors.js';
import type { MappedFile } from '../file/mapped-file.js';
import { type Bands, type ByteOrder, bytesPerPixel, type SampleType } from '../pixels.js';
import { isFits, readFits } from './fits.js';
import type { FileLayout } from './layout.js';
import { isPnm, readPnm } from './pnm.js';
import { knownSignature } from './signatures.js';
import { isTiff, readTiff } from './tiff.js';

/** How many leading bytes detection looks at. */
const HEAD_BYTES = 4096;

/** What the caller says about a headerless file (flags or its sidecar); contradicted by a file with a header, an error. */
export interface RawLayoutOptions {
  type?: SampleType;
  bands?: Bands;
  byteOrder?: ByteOrder;
  /** Bytes of a leading header to leave alone. */
  header?: number;
  /** Change alpha samples too. */
  alpha: boolean;
}

/** A file's first bytes. */
function readHead(file: MappedFile): Buffer {
  const head = Buffer.alloc(Math.min(HEAD_BYTES, file.size));
  file.read(0, head);
  return head;
}

function contradiction(path: string, option: string, format: string): RawbrightError {
  return new RawbrightError(
    'ERR_LAYOUT_MISMATCH',
    `${path} is a ${format} file, which describes its own pixels: leave out the ${option} option (it applies to headerless raw files)`,
    { path },
  );
}

/**
 * The pixel layout of `file`: a TIFF, FITS or PNM file's own description, or for a headerless file the
 * caller's (the default, RGBA uint16 little-endian without a header, gives undefined: the plain raw path).
 * @throws {RawbrightError} `ERR_UNSUPPORTED_FORMAT` for a file rawbright must not change, `ERR_FORMAT_DAMAGED`,
 * `ERR_LAYOUT_MISMATCH` for flags that contradict the file.
 */
export function detectLayout(file: MappedFile, options: RawLayoutOptions): FileLayout | undefined {
  const head = readHead(file);
  let layout: FileLayout | undefined;
  if (isTiff(head)) layout = readTiff(file, head, options.alpha);
  else if (isFits(head)) layout = readFits(file);
  else if (isPnm(head)) layout = readPnm(file);
  if (layout !== undefined) {
    const name =
      layout.format === 'bigtiff'
        ? 'BigTIFF'
        : layout.format === 'pnm'
          ? 'Netpbm'
          : layout.format.toUpperCase();
    if (options.bands !== undefined) throw contradiction(file.path, 'bands', name);
    if (options.byteOrder !== undefined) throw contradiction(file.path, 'byteOrder', name);
    if (options.header !== undefined) throw contradiction(file.path, 'header', name);
    // FITS stores unsigned data as int16 with BZERO 32768: its own --type is what it says, not the storage.
    if (
      options.type !== undefined &&
      layout.format !== 'fits' &&
      layout.layouts.some((l) => l.type !== options.type)
    ) {
      throw new RawbrightError(
        'ERR_LAYOUT_MISMATCH',
        `${file.path} is a ${name} file with ${layout.layouts[0]!.type} samples, not ${options.type}: leave out the type option`,
        { path: file.path },
      );
    }
    return layout;
  }
  const known = knownSignature(head);
  if (known !== undefined) {
    throw new RawbrightError(
      'ERR_UNSUPPORTED_FORMAT',
      `${file.path} looks like ${known.what}; rawbright changes raw 16-bit pixel data in place: ${known.advice}`,
      { path: file.path },
    );
  }
  const bands = options.bands ?? 4;
  const byteOrder = options.byteOrder ?? 'little';
  const header = options.header ?? 0;
  if (bands === 4 && byteOrder === 'little' && header === 0) return undefined;
  const size = file.size;
  const length = size - header;
  if (header > size || length === 0) {
    throw new RawbrightError(
      'ERR_OUT_OF_RANGE',
      `${file.path} has no pixel data after its ${header}-byte header`,
      { path: file.path },
    );
  }
  if (length % bytesPerPixel(bands) !== 0) {
    throw new RawbrightError(
      'ERR_NOT_PIXEL_ALIGNED',
      `${file.path} holds ${length} bytes after its header, not a whole number of ${bytesPerPixel(bands)}-byte pixels`,
      { path: file.path },
    );
  }
  const hasAlpha = bands === 2 || bands === 4;
  return {
    format: 'raw',
    description: `raw, ${bands} ${bands === 1 ? 'band' : 'bands'}, ${options.type ?? 'uint16'} ${byteOrder}-endian${header > 0 ? `, ${header}-byte header` : ''}`,
    layouts: [{ type: options.type ?? 'uint16', byteOrder, bands, hasAlpha }],
    extents: [{ offset: header, length, layout: 0 }],
    images: [],
  };
}
