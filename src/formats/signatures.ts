/**
 * Files rawbright must never treat as pixels, recognised by their first bytes. Raw 16-bit data can
 * begin with any bytes, so only signatures long enough not to occur by chance are used (four bytes
 * or more, or two with a check elsewhere in the header).
 */

interface Signature {
  /** What the file is, as a user would say it. */
  what: string;
  matches(head: Buffer): boolean;
  /** What to do instead. */
  advice: string;
}

const CONVERT = 'convert it with `rawbright import` first';
const UNPACK = 'unpack it first';

const starts =
  (...bytes: number[]) =>
  (head: Buffer): boolean =>
    head.length >= bytes.length && bytes.every((b, i) => head[i] === b);
const ascii = (text: string) => starts(...[...text].map((c) => c.charCodeAt(0)));

const SIGNATURES: readonly Signature[] = [
  { what: 'a PNG image', matches: starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a), advice: CONVERT },
  { what: 'a JPEG image', matches: starts(0xff, 0xd8, 0xff), advice: CONVERT },
  { what: 'a GIF image', matches: (h) => ascii('GIF87a')(h) || ascii('GIF89a')(h), advice: CONVERT },
  {
    what: 'a WebP image',
    matches: (h) => ascii('RIFF')(h) && h.subarray(8, 12).toString('latin1') === 'WEBP',
    advice: CONVERT,
  },
  {
    what: 'an AVIF or HEIF image',
    matches: (h) =>
      h.subarray(4, 8).toString('latin1') === 'ftyp' &&
      /^(avif|avis|heic|heix|mif1|msf1)$/.test(h.subarray(8, 12).toString('latin1')),
    advice: CONVERT,
  },
  {
    what: 'a JPEG 2000 image',
    matches: starts(0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20),
    advice: CONVERT,
  },
  {
    what: 'a zip archive',
    matches: (h) => starts(0x50, 0x4b, 0x03, 0x04)(h) || starts(0x50, 0x4b, 0x05, 0x06)(h),
    advice: UNPACK,
  },
  { what: 'a gzip-compressed file', matches: starts(0x1f, 0x8b, 0x08), advice: UNPACK },
  { what: 'an xz-compressed file', matches: starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00), advice: UNPACK },
  { what: 'a zstd-compressed file', matches: starts(0x28, 0xb5, 0x2f, 0xfd), advice: UNPACK },
  {
    what: 'a bzip2-compressed file',
    matches: (h) => ascii('BZh')(h) && h[3]! >= 0x31 && h[3]! <= 0x39 && ascii('1AY&SY')(h.subarray(4)),
    advice: UNPACK,
  },
  { what: 'a 7-Zip archive', matches: starts(0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c), advice: UNPACK },
  {
    what: 'a tar archive',
    matches: (h) => h.subarray(257, 262).toString('latin1') === 'ustar',
    advice: UNPACK,
  },
  { what: 'a PDF document', matches: ascii('%PDF-'), advice: 'rawbright changes only image files' },
  {
    what: 'an ELF executable',
    matches: starts(0x7f, 0x45, 0x4c, 0x46),
    advice: 'rawbright changes only image files',
  },
  {
    what: 'a Mach-O executable',
    matches: (h) =>
      [0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe].includes(
        h.length >= 4 ? h.readUInt32BE(0) : 0,
      ),
    advice: 'rawbright changes only image files',
  },
  {
    what: 'a Windows executable',
    matches: (h) => {
      if (!ascii('MZ')(h) || h.length < 64) return false;
      const pe = h.readUInt32LE(60);
      return pe + 4 <= h.length && h.subarray(pe, pe + 4).toString('latin1') === 'PE\0\0';
    },
    advice: 'rawbright changes only image files',
  },
  {
    what: 'a SQLite database',
    matches: ascii('SQLite format 3\0'),
    advice: 'rawbright changes only image files',
  },
  {
    what: 'a libvips image',
    matches: (h) => starts(0x08, 0xf2, 0xa6, 0xb6)(h) || starts(0xb6, 0xa6, 0xf2, 0x08)(h),
    advice: 'export it to raw or TIFF with vips first',
  },
  { what: 'an OpenEXR image', matches: starts(0x76, 0x2f, 0x31, 0x01), advice: CONVERT },
];

/** What a file's first bytes say it is, when that is something rawbright must not change. */
export function knownSignature(head: Buffer): { what: string; advice: string } | undefined {
  const found = SIGNATURES.find((s) => s.matches(head));
  return found && { what: found.what, advice: found.advice };
}
