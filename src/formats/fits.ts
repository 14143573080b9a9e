/**
 * FITS: the primary HDU and IMAGE extensions with BITPIX 16. Samples are big-endian int16; with
 * BZERO 32768 they stand for unsigned values (physical = stored + 32768), and a saturating add on the
 * stored int16 equals a saturating add on the physical uint16, so both are changed as int16. Header
 * blocks and every other HDU stay as they are.
 */
import { RawbrightError } from '../errors.js';
import type { MappedFile } from '../file/mapped-file.js';
import {
  coalesce,
  type Extent,
  type FileLayout,
  type ImageInfo,
  layoutIndex,
  type PixelLayout,
} from './layout.js';
import { HeaderReader } from './reader.js';

const BLOCK = 2880;
const CARD = 80;
/** Header blocks one HDU may have before the file is taken for damaged. */
const MAX_HEADER_BLOCKS = 100_000;

/** True when the file starts as a FITS file does. */
export function isFits(head: Buffer): boolean {
  return (
    head.length >= 30 &&
    head.toString('latin1', 0, 9) === 'SIMPLE  =' &&
    head.toString('latin1', 29, 30) === 'T'
  );
}

type CardValue = string | number | boolean;

function parseValue(text: string): CardValue | undefined {
  const value = text.trim();
  if (value.startsWith("'")) {
    const end = value.indexOf("'", 1);
    return end < 0 ? undefined : value.slice(1, end).trimEnd();
  }
  const plain = value.split('/')[0]!.trim();
  if (plain === 'T') return true;
  if (plain === 'F') return false;
  if (/^[+-]?\d+$/.test(plain)) return Number(plain);
  if (/^[+-]?(\d+\.?\d*|\.\d+)([EeDd][+-]?\d+)?$/.test(plain)) return Number(plain.replace(/[Dd]/, 'E'));
  return undefined;
}

/** Reads one header: its keywords, and where its data start. */
function readHeader(
  reader: HeaderReader,
  start: number,
): { cards: Map<string, CardValue>; dataStart: number } {
  const cards = new Map<string, CardValue>();
  for (let block = 0; block < MAX_HEADER_BLOCKS; block++) {
    const offset = start + block * BLOCK;
    if (offset + BLOCK > reader.size)
      throw reader.damaged(`a header at offset ${start} is cut short before its END card`);
    const bytes = reader.read(offset, BLOCK, 'a header block').toString('latin1');
    for (let at = 0; at < BLOCK; at += CARD) {
      const card = bytes.slice(at, at + CARD);
      const keyword = card.slice(0, 8).trimEnd();
      if (keyword === 'END') return { cards, dataStart: offset + BLOCK };
      if (card.slice(8, 10) === '= ' && keyword !== '' && !cards.has(keyword)) {
        const value = parseValue(card.slice(10));
        if (value !== undefined) cards.set(keyword, value);
      }
    }
  }
  throw reader.damaged(`a header at offset ${start} has no END card`);
}

function integer(
  reader: HeaderReader,
  cards: Map<string, CardValue>,
  key: string,
  fallback?: number,
): number {
  const value = cards.get(key);
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < (key === 'BITPIX' ? -64 : 0)) {
    throw reader.damaged(`${key} is ${value === undefined ? 'missing' : JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Reads where a FITS file's 16-bit image data are.
 * @throws {RawbrightError} `ERR_UNSUPPORTED_FORMAT` when no HDU holds 16-bit integer images (or one is
 * scaled other than by BZERO 0 / 32768); `ERR_FORMAT_DAMAGED`.
 */
export function readFits(file: MappedFile): FileLayout {
  const reader = new HeaderReader(file, 'FITS');
  const layouts: PixelLayout[] = [];
  const extents: Extent[] = [];
  const images: ImageInfo[] = [];
  let offset = 0;
  for (let hdu = 0; offset < reader.size; hdu++) {
    if (hdu > 0) {
      // Anything after the last HDU that is not an extension (some writers pad with zeros) is left alone.
      const next = reader.read(offset, Math.min(9, reader.size - offset), 'an extension');
      if (next.toString('latin1') !== 'XTENSION=') break;
    }
    const { cards, dataStart } = readHeader(reader, offset);
    const bitpix = integer(reader, cards, 'BITPIX');
    if (![8, 16, 32, 64, -32, -64].includes(bitpix)) throw reader.damaged(`BITPIX is ${bitpix}`);
    const naxis = integer(reader, cards, 'NAXIS');
    if (naxis > 999) throw reader.damaged(`NAXIS is ${naxis}`);
    const axes: number[] = [];
    for (let i = 1; i <= naxis; i++) axes.push(integer(reader, cards, `NAXIS${i}`));
    const xtension = hdu === 0 ? 'PRIMARY' : String(cards.get('XTENSION') ?? '');
    const groups = cards.get('GROUPS') === true;
    const pcount = integer(reader, cards, 'PCOUNT', 0);
    const gcount = integer(reader, cards, 'GCOUNT', 1);
    const elements = naxis === 0 ? 0 : axes.slice(groups ? 1 : 0).reduce((a, b) => a * b, 1);
    const dataBytes =
      (Math.abs(bitpix) / 8) * (hdu === 0 && !groups ? elements : gcount * (pcount + elements));
    if (!Number.isSafeInteger(dataBytes) || dataStart + dataBytes > reader.size) {
      throw reader.damaged(`HDU ${hdu} says its data are ${dataBytes} bytes, past the end of the file`);
    }
    const name = `HDU ${hdu} (${xtension})`;
    const isImage = (xtension === 'PRIMARY' || xtension === 'IMAGE') && !groups && dataBytes > 0;
    // An image of more than two axes is shown as width × (the product of the rest).
    const shape = { name, width: axes[0] ?? 0, height: axes.slice(1).reduce((a, b) => a * b, 1), bands: 1 };
    if (isImage && bitpix === 16) {
      const bzero = cards.get('BZERO') ?? 0;
      const bscale = cards.get('BSCALE') ?? 1;
      if (bscale !== 1 || (bzero !== 0 && bzero !== 32768)) {
        throw new RawbrightError(
          'ERR_UNSUPPORTED_FORMAT',
          `${file.path} has a scaled 16-bit image (${name}: BSCALE ${bscale}, BZERO ${bzero}); rawbright changes 16-bit integers (BZERO 0 or 32768, BSCALE 1) only`,
          { path: file.path },
        );
      }
      const layout: PixelLayout = {
        type: 'int16',
        byteOrder: 'big',
        bands: 1,
        hasAlpha: false,
        ...(bzero === 32768 && { zero: 32768 }),
      };
      extents.push({ offset: dataStart, length: dataBytes, layout: layoutIndex(layouts, layout) });
      images.push({ ...shape, changed: true, note: bzero === 32768 ? 'unsigned (BZERO 32768)' : 'signed' });
    } else if (isImage) {
      images.push({ ...shape, changed: false, note: `BITPIX ${bitpix}: left alone` });
    }
    offset = dataStart + Math.ceil(dataBytes / BLOCK) * BLOCK;
  }
  if (extents.length === 0) {
    throw new RawbrightError(
      'ERR_UNSUPPORTED_FORMAT',
      `${file.path} is a FITS file without a 16-bit integer image (BITPIX 16); rawbright changes 16-bit samples only`,
      { path: file.path },
    );
  }
  const merged = coalesce(extents, (a) => reader.damaged(`HDUs overlap at offset ${a.offset}`));
  const description = `FITS, big-endian, ${images.filter((i) => i.changed).length} of ${images.length} images 16-bit`;
  return { format: 'fits', description, layouts, extents: merged, images };
}
