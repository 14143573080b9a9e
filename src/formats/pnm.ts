/**
 * Netpbm: P5 (grey), P6 (RGB) and P7 (PAM, 1 to 4 samples with GRAYSCALE_ALPHA / RGB_ALPHA) with
 * maxval above 255, whose samples are big-endian 16-bit and saturate at maxval. A file may hold
 * several images one after another; each is found.
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

/** The longest header read: comments included, real headers are far shorter. */
const MAX_HEADER = 64 * 1024;

/** True when the first bytes are a Netpbm magic number followed by whitespace. */
export function isPnm(head: Buffer): boolean {
  return (
    head.length >= 3 &&
    head[0] === 0x50 &&
    head[1]! >= 0x31 &&
    head[1]! <= 0x37 &&
    /\s/.test(String.fromCharCode(head[2]!))
  );
}

interface Header {
  kind: string;
  width: number;
  height: number;
  depth: number;
  maxval: number;
  alpha: boolean;
  dataStart: number;
}

function parsePnmHeader(reader: HeaderReader, start: number): Header {
  const bytes = reader.read(start, Math.min(MAX_HEADER, reader.size - start), 'a header').toString('latin1');
  const kind = bytes.slice(0, 2);
  if (kind === 'P7') {
    const fields = new Map<string, string>();
    let at = 3;
    for (;;) {
      const end = bytes.indexOf('\n', at);
      if (end < 0) throw reader.damaged('its PAM header has no ENDHDR');
      const line = bytes.slice(at, end).trim();
      at = end + 1;
      if (line === 'ENDHDR') break;
      if (line === '' || line.startsWith('#')) continue;
      const [key, ...rest] = line.split(/\s+/);
      fields.set(
        key!,
        key === 'TUPLTYPE' ? `${fields.get('TUPLTYPE') ?? ''}${rest.join(' ')}` : rest.join(' '),
      );
    }
    const number = (key: string) => {
      const value = Number(fields.get(key));
      if (!Number.isSafeInteger(value) || value < 1)
        throw reader.damaged(`its ${key} is ${JSON.stringify(fields.get(key))}`);
      return value;
    };
    const tupltype = fields.get('TUPLTYPE') ?? '';
    return {
      kind,
      width: number('WIDTH'),
      height: number('HEIGHT'),
      depth: number('DEPTH'),
      maxval: number('MAXVAL'),
      alpha: /_ALPHA$/.test(tupltype),
      dataStart: start + at,
    };
  }
  // P5 / P6: magic, width, height, maxval as decimal tokens between whitespace and comments, then one whitespace byte.
  const tokens: number[] = [];
  let at = 2;
  while (tokens.length < 3) {
    while (at < bytes.length && (/\s/.test(bytes[at]!) || bytes[at] === '#')) {
      if (bytes[at] === '#') {
        const end = bytes.indexOf('\n', at);
        at = end < 0 ? bytes.length : end;
      }
      at++;
    }
    const match = /^\d+/.exec(bytes.slice(at, at + 20));
    if (match === null) throw reader.damaged('its header is cut short or not a number');
    tokens.push(Number(match[0]));
    at += match[0].length;
  }
  if (at >= bytes.length || !/\s/.test(bytes[at]!))
    throw reader.damaged('its header does not end in whitespace');
  const [width, height, maxval] = tokens as [number, number, number];
  return {
    kind,
    width,
    height,
    depth: kind === 'P6' ? 3 : 1,
    maxval,
    alpha: false,
    dataStart: start + at + 1,
  };
}

/**
 * Reads where a Netpbm file's 16-bit samples are.
 * @throws {RawbrightError} `ERR_UNSUPPORTED_FORMAT` for 8-bit (maxval ≤ 255), bitmap or plain (ASCII) files; `ERR_FORMAT_DAMAGED`.
 */
export function readPnm(file: MappedFile): FileLayout {
  const reader = new HeaderReader(file, 'Netpbm');
  const layouts: PixelLayout[] = [];
  const extents: Extent[] = [];
  const images: ImageInfo[] = [];
  let offset = 0;
  for (let index = 0; offset < reader.size; index++) {
    const head = reader.read(offset, Math.min(3, reader.size - offset), 'a header');
    if (!isPnm(head)) {
      if (index === 0) throw reader.damaged('its magic number is not P5, P6 or P7');
      break; // Trailing bytes that are not another image are left alone.
    }
    const kind = head.toString('latin1', 0, 2);
    if (kind !== 'P5' && kind !== 'P6' && kind !== 'P7') {
      const what =
        kind === 'P4' || kind === 'P1' ? 'a bitmap (1-bit) Netpbm file' : 'a plain (ASCII) Netpbm file';
      throw new RawbrightError(
        'ERR_UNSUPPORTED_FORMAT',
        `${file.path} is ${what} (${kind}); rawbright changes binary 16-bit samples (P5, P6, P7) only`,
        { path: file.path },
      );
    }
    const h = parsePnmHeader(reader, offset);
    if (h.width < 1 || h.height < 1 || h.maxval < 1 || h.maxval > 65535) {
      throw reader.damaged(`image ${index} is ${h.width}×${h.height} with maxval ${h.maxval}`);
    }
    if (h.maxval <= 255) {
      throw new RawbrightError(
        'ERR_UNSUPPORTED_FORMAT',
        `${file.path} is an 8-bit Netpbm image (${kind}, maxval ${h.maxval}); rawbright changes 16-bit samples only (maxval above 255)`,
        { path: file.path },
      );
    }
    if (h.depth > 4)
      throw new RawbrightError(
        'ERR_UNSUPPORTED_FORMAT',
        `${file.path} is a PAM image of depth ${h.depth}; rawbright changes 1 to 4 samples a pixel`,
        { path: file.path },
      );
    const length = h.width * h.height * h.depth * 2;
    if (!Number.isSafeInteger(length) || h.dataStart + length > reader.size) {
      throw reader.damaged(
        `image ${index} needs ${length} bytes of samples past its header, more than the file holds`,
      );
    }
    const bands = h.depth as Bands;
    const hasAlpha = h.alpha && (bands === 2 || bands === 4);
    const layout: PixelLayout = { type: 'uint16', byteOrder: 'big', bands, hasAlpha, max: h.maxval };
    extents.push({ offset: h.dataStart, length, layout: layoutIndex(layouts, layout) });
    images.push({
      name: `image ${index} (${kind})`,
      width: h.width,
      height: h.height,
      bands,
      changed: true,
      note: `maxval ${h.maxval}${hasAlpha ? ', alpha' : ''}`,
    });
    offset = h.dataStart + length;
  }
  const merged = coalesce(extents, (a) => reader.damaged(`images overlap at offset ${a.offset}`));
  return {
    format: 'pnm',
    description: `Netpbm, big-endian 16-bit, ${images.length} ${images.length === 1 ? 'image' : 'images'}`,
    layouts,
    extents: merged,
    images,
  };
}
