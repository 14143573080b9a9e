/**
 * TIFF and BigTIFF, either byte order: the pixel data of every page (the IFD chain and SubIFDs),
 * uncompressed 16-bit samples, chunky or planar, strips or tiles. Anything else is refused with the
 * reason. Header, directories and tag values are only read.
 */
import { RawbrightError } from '../errors.js';
import type { MappedFile } from '../file/mapped-file.js';
import type { Bands } from '../pixels.js';
import {
  coalesce,
  type Extent,
  type FileLayout,
  type ImageInfo,
  layoutIndex,
  type PixelLayout,
} from './layout.js';
import { HeaderReader } from './reader.js';

const TAG = {
  width: 256,
  height: 257,
  bitsPerSample: 258,
  compression: 259,
  stripOffsets: 273,
  samplesPerPixel: 277,
  rowsPerStrip: 278,
  stripByteCounts: 279,
  planarConfiguration: 284,
  tileWidth: 322,
  tileLength: 323,
  tileOffsets: 324,
  tileByteCounts: 325,
  subIfds: 330,
  extraSamples: 338,
  sampleFormat: 339,
} as const;

/** Bytes per value of each TIFF field type. */
const TYPE_SIZE: Record<number, number> = {
  1: 1,
  2: 1,
  3: 2,
  4: 4,
  5: 8,
  6: 1,
  7: 1,
  8: 2,
  9: 4,
  10: 8,
  11: 4,
  12: 8,
  13: 4,
  16: 8,
  17: 8,
  18: 8,
};

const COMPRESSION: Record<number, string> = {
  2: 'CCITT RLE',
  3: 'CCITT Group 3',
  4: 'CCITT Group 4',
  5: 'LZW',
  6: 'old-style JPEG',
  7: 'JPEG',
  8: 'Deflate',
  32773: 'PackBits',
  32946: 'Deflate',
  34712: 'JPEG 2000',
  34887: 'LERC',
  34925: 'LZMA',
  50000: 'Zstandard',
  50001: 'WebP',
  50002: 'JPEG XL',
};

/** The most directories and entries a file may have before it is taken for damaged. */
const MAX_IFDS = 65536;
const MAX_ENTRIES = 4096;

/** True when the first bytes are a TIFF or BigTIFF header. */
export function isTiff(head: Buffer): boolean {
  if (head.length < 4) return false;
  const order = head.toString('latin1', 0, 2);
  if (order !== 'II' && order !== 'MM') return false;
  const magic = order === 'II' ? head.readUInt16LE(2) : head.readUInt16BE(2);
  return magic === 42 || magic === 43;
}

interface Entry {
  type: number;
  count: number;
  /** Where the values are: inside the entry or elsewhere in the file. */
  valueOffset: number;
}

class TiffReader {
  readonly little: boolean;
  readonly big: boolean;
  readonly reader: HeaderReader;
  /** Byte ranges of the header, directories and out-of-line tag values: pixels must not overlap them. */
  readonly metadata: { offset: number; length: number }[] = [];

  constructor(
    readonly file: MappedFile,
    head: Buffer,
  ) {
    this.little = head.toString('latin1', 0, 2) === 'II';
    this.big = (this.little ? head.readUInt16LE(2) : head.readUInt16BE(2)) === 43;
    this.reader = new HeaderReader(file, this.big ? 'BigTIFF' : 'TIFF');
  }

  damaged(what: string): RawbrightError {
    return this.reader.damaged(what);
  }

  uint(bytes: Buffer, at: number, size: number): number {
    switch (size) {
      case 1:
        return bytes[at]!;
      case 2:
        return this.little ? bytes.readUInt16LE(at) : bytes.readUInt16BE(at);
      case 4:
        return this.little ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at);
      default: {
        const value = this.little ? bytes.readBigUInt64LE(at) : bytes.readBigUInt64BE(at);
        if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw this.damaged('a value is larger than any file');
        return Number(value);
      }
    }
  }

  firstIfd(): number {
    if (!this.big) return this.uint(this.reader.read(0, 8, 'the header'), 4, 4);
    const header = this.reader.read(0, 16, 'the header');
    if (this.uint(header, 4, 2) !== 8 || this.uint(header, 6, 2) !== 0)
      throw this.damaged('its header is not BigTIFF');
    return this.uint(header, 8, 8);
  }

  /** Reads one directory: its entries by tag, and the next directory's offset. */
  readIfd(offset: number): { entries: Map<number, Entry>; next: number } {
    const countSize = this.big ? 8 : 2;
    const entrySize = this.big ? 20 : 12;
    const pointerSize = this.big ? 8 : 4;
    const count = this.uint(this.reader.read(offset, countSize, 'a directory'), 0, countSize);
    if (count === 0 || count > MAX_ENTRIES)
      throw this.damaged(`a directory at offset ${offset} has ${count} entries`);
    const length = countSize + count * entrySize + pointerSize;
    const bytes = this.reader.read(offset, length, 'a directory');
    this.metadata.push({ offset, length });
    const entries = new Map<number, Entry>();
    for (let i = 0; i < count; i++) {
      const at = countSize + i * entrySize;
      const tag = this.uint(bytes, at, 2);
      const type = this.uint(bytes, at + 2, 2);
      const valueCount = this.uint(bytes, at + 4, this.big ? 8 : 4);
      const inline = this.big ? 8 : 4;
      const valueAt = at + (this.big ? 12 : 8);
      const size = TYPE_SIZE[type];
      if (size === undefined) continue; // Unknown types are skipped, as readers must.
      const bytesNeeded = size * valueCount;
      const valueOffset = bytesNeeded <= inline ? offset + valueAt : this.uint(bytes, valueAt, inline);
      if (bytesNeeded > inline) {
        if (valueOffset + bytesNeeded > this.reader.size) {
          throw this.damaged(`tag ${tag} points past the end of the file`);
        }
        this.metadata.push({ offset: valueOffset, length: bytesNeeded });
      }
      entries.set(tag, { type, count: valueCount, valueOffset });
    }
    return { entries, next: this.uint(bytes, length - pointerSize, pointerSize) };
  }

  /** A tag's values as whole numbers. */
  values(entries: Map<number, Entry>, tag: number): number[] | undefined {
    const entry = entries.get(tag);
    if (entry === undefined) return undefined;
    const size = TYPE_SIZE[entry.type]!;
    if (![1, 3, 4, 8, 9, 13, 16, 17, 18].includes(entry.type))
      throw this.damaged(`tag ${tag} has type ${entry.type}`);
    if (entry.count > this.reader.size) throw this.damaged(`tag ${tag} has ${entry.count} values`);
    const bytes = this.reader.read(entry.valueOffset, size * entry.count, `tag ${tag}`);
    const values: number[] = new Array(entry.count);
    for (let i = 0; i < entry.count; i++) values[i] = this.uint(bytes, i * size, size);
    return values;
  }

  value(entries: Map<number, Entry>, tag: number, fallback?: number): number {
    const values = this.values(entries, tag);
    if (values === undefined || values.length === 0) {
      if (fallback === undefined) throw this.damaged(`a page lacks tag ${tag}`);
      return fallback;
    }
    return values[0]!;
  }
}

function refuse(path: string, what: string, advice: string): RawbrightError {
  return new RawbrightError(
    'ERR_UNSUPPORTED_FORMAT',
    `${path} is ${what}; rawbright changes uncompressed 16-bit samples in place: ${advice}`,
    { path },
  );
}

/** A page's sample description: its tags read, then refused unless uncompressed 16-bit integers, 1 to 4 a pixel. */
function pageSamples(tiff: TiffReader, entries: Map<number, Entry>, name: string) {
  const path = tiff.file.path;
  const width = tiff.value(entries, TAG.width);
  const height = tiff.value(entries, TAG.height);
  const spp = tiff.value(entries, TAG.samplesPerPixel, 1);
  const bits = tiff.values(entries, TAG.bitsPerSample) ?? [1];
  const compression = tiff.value(entries, TAG.compression, 1);
  const sampleFormats = tiff.values(entries, TAG.sampleFormat) ?? [1];
  const planar = tiff.value(entries, TAG.planarConfiguration, 1) === 2;
  if (compression !== 1) {
    const codec = COMPRESSION[compression] ?? `compression ${compression}`;
    throw refuse(
      path,
      `a ${codec}-compressed TIFF (${name})`,
      'decompress it with `rawbright import` (or `rawbright export` back), or save it uncompressed',
    );
  }
  const format = sampleFormats[0];
  if (sampleFormats.some((f) => f !== format) || (format !== 1 && format !== 2 && format !== 4)) {
    throw refuse(
      path,
      `a TIFF with floating-point or mixed samples (${name})`,
      'only 16-bit integer samples are supported',
    );
  }
  if (bits.some((b) => b !== 16)) {
    throw refuse(
      path,
      `a TIFF with ${bits[0]}-bit samples (${name})`,
      'only 16-bit samples are supported; convert it with `rawbright import` first',
    );
  }
  if (spp < 1 || spp > 4) {
    throw refuse(
      path,
      `a TIFF with ${spp} samples a pixel (${name})`,
      'only 1 to 4 samples a pixel are supported',
    );
  }
  if (width === 0 || height === 0) throw tiff.damaged(`${name} has no pixels`);
  // ExtraSamples 1 (associated) or 2 (unassociated) in the last place of 2 or 4 samples is alpha.
  const extra = tiff.values(entries, TAG.extraSamples) ?? [];
  const hasAlpha =
    (spp === 2 || spp === 4) &&
    extra.length > 0 &&
    (extra[extra.length - 1] === 1 || extra[extra.length - 1] === 2);
  const type = format === 2 ? 'int16' : 'uint16';
  const byteOrder = tiff.little ? 'little' : 'big';

  return { width, height, spp, planar, hasAlpha, type, byteOrder } as const;
}

/** A page's strip or tile offsets and byte counts, checked against each other and against its size. */
function pageChunks(
  tiff: TiffReader,
  entries: Map<number, Entry>,
  name: string,
  { width, height, spp, planar }: { width: number; height: number; spp: number; planar: boolean },
) {
  const tiled = entries.has(TAG.tileOffsets);
  const offsets = tiff.values(entries, tiled ? TAG.tileOffsets : TAG.stripOffsets);
  const counts = tiff.values(entries, tiled ? TAG.tileByteCounts : TAG.stripByteCounts);
  if (offsets === undefined || counts === undefined)
    throw tiff.damaged(`${name} has no ${tiled ? 'tile' : 'strip'} offsets or byte counts`);
  if (offsets.length !== counts.length)
    throw tiff.damaged(`${name} has ${offsets.length} offsets but ${counts.length} byte counts`);
  let perPlane: number;
  if (tiled) {
    const tileWidth = tiff.value(entries, TAG.tileWidth);
    const tileLength = tiff.value(entries, TAG.tileLength);
    if (tileWidth === 0 || tileLength === 0) throw tiff.damaged(`${name} has empty tiles`);
    perPlane = Math.ceil(width / tileWidth) * Math.ceil(height / tileLength);
  } else {
    const rows = Math.min(tiff.value(entries, TAG.rowsPerStrip, height), height);
    if (rows === 0) throw tiff.damaged(`${name} has strips of 0 rows`);
    perPlane = Math.ceil(height / rows);
  }
  const planes = planar ? spp : 1;
  if (offsets.length !== perPlane * planes) {
    throw tiff.damaged(
      `${name} has ${offsets.length} ${tiled ? 'tiles' : 'strips'} where its size needs ${perPlane * planes}`,
    );
  }
  return { tiled, offsets, counts, perPlane };
}

/** The pixel data of one page, checked. */
function pageExtents(
  tiff: TiffReader,
  entries: Map<number, Entry>,
  name: string,
  layouts: PixelLayout[],
  extents: Extent[],
  changeAlpha: boolean,
): ImageInfo {
  const samples = pageSamples(tiff, entries, name);
  const { width, height, spp, planar, hasAlpha, type, byteOrder } = samples;
  const { tiled, offsets, counts, perPlane } = pageChunks(tiff, entries, name, samples);
  const unit = planar ? 2 : 2 * spp;
  for (let i = 0; i < offsets.length; i++) {
    const offset = offsets[i]!;
    const length = counts[i]!;
    if (length === 0) continue;
    if (offset + length > tiff.reader.size)
      throw tiff.damaged(`a ${tiled ? 'tile' : 'strip'} of ${name} ends past the end of the file`);
    if (length % unit !== 0)
      throw tiff.damaged(`a ${tiled ? 'tile' : 'strip'} of ${name} holds a part of a pixel`);
    const plane = planar ? Math.floor(i / perPlane) : 0;
    // A planar alpha plane is left alone unless asked for.
    if (planar && hasAlpha && plane === spp - 1 && !changeAlpha) continue;
    const layout: PixelLayout = planar
      ? { type, byteOrder, bands: 1, hasAlpha: false }
      : { type, byteOrder, bands: spp as Bands, hasAlpha };
    extents.push({ offset, length, layout: layoutIndex(layouts, layout) });
  }
  return {
    name,
    width,
    height,
    bands: spp,
    changed: true,
    note: `${tiled ? 'tiles' : 'strips'}, ${planar ? 'planar' : 'chunky'}${hasAlpha ? ', alpha' : ''}, ${type}`,
  };
}

/**
 * Reads where a TIFF's pixel data are.
 * @param changeAlpha whether alpha samples (ExtraSamples) are to change; a planar alpha plane is left out otherwise.
 * @throws {RawbrightError} `ERR_UNSUPPORTED_FORMAT` for compressed, non-16-bit or float data; `ERR_FORMAT_DAMAGED`.
 */
export function readTiff(file: MappedFile, head: Buffer, changeAlpha: boolean): FileLayout {
  const tiff = new TiffReader(file, head);
  tiff.metadata.push({ offset: 0, length: tiff.big ? 16 : 8 });
  const layouts: PixelLayout[] = [];
  const extents: Extent[] = [];
  const images: ImageInfo[] = [];
  const visited = new Set<number>();
  // Pages of the main chain first, then each page's SubIFDs (reduced resolutions, …), breadth first.
  const queue: { offset: number; name: string }[] = [];
  const walkChain = (start: number, prefix: string) => {
    let offset = start;
    for (let index = 0; offset !== 0; index++) {
      if (visited.has(offset)) throw tiff.damaged('its directories form a loop');
      if (visited.size >= MAX_IFDS) throw tiff.damaged(`it has more than ${MAX_IFDS} directories`);
      visited.add(offset);
      queue.push({ offset, name: `${prefix}${index}` });
      offset = tiff.readIfd(offset).next;
    }
  };
  walkChain(tiff.firstIfd(), 'page ');
  for (let i = 0; i < queue.length; i++) {
    const { offset, name } = queue[i]!;
    const { entries } = tiff.readIfd(offset);
    images.push(pageExtents(tiff, entries, name, layouts, extents, changeAlpha));
    const subs = tiff.values(entries, TAG.subIfds) ?? [];
    for (const [s, sub] of subs.entries()) walkChain(sub, `${name} SubIFD ${s}.`);
  }
  const merged = coalesce(extents, (a, b) =>
    tiff.damaged(`pixel data at offsets ${a.offset} and ${b.offset} overlap`),
  );
  for (const meta of tiff.metadata) {
    const hit = merged.find((e) => meta.offset < e.offset + e.length && e.offset < meta.offset + meta.length);
    if (hit !== undefined)
      throw tiff.damaged(`pixel data at offset ${hit.offset} overlap its directories or tags`);
  }
  const first = layouts[0];
  const description = [
    tiff.big ? 'BigTIFF' : 'TIFF',
    tiff.little ? 'little-endian' : 'big-endian',
    `${images.length} ${images.length === 1 ? 'page' : 'pages'}`,
    first ? `16-bit ${first.type === 'int16' ? 'signed' : 'unsigned'}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return { format: tiff.big ? 'bigtiff' : 'tiff', description, layouts, extents: merged, images };
}
