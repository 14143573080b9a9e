import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkSidecarSize,
  formatSidecar,
  MAX_SIDECAR_BYTES,
  parseSidecar,
  readSidecar,
  sidecarPath,
  writeSidecar,
} from '../../dist/convert/sidecar.js';
import { tempDir } from '../helpers/raw.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const GOOD = { width: 5, height: 2, channels: 4, sampleType: 'int16', byteOrder: 'little' } as const;
const SIDECAR = '/data/photo.raw.json';
let counter = 0;

/** A raw file of `bytes` bytes and, if given, a sidecar with `text`. */
function fixture(bytes: number, text?: string | Buffer): string {
  const raw = join(tmp.dir, `s-${counter++}.raw`);
  writeFileSync(raw, Buffer.alloc(bytes));
  if (text !== undefined) writeFileSync(`${raw}.json`, text);
  return raw;
}

function caught(fn: () => unknown): { code?: string; message: string } {
  try {
    fn();
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('expected an error');
}

async function rejected(
  promise: Promise<unknown>,
): Promise<{ code?: string; message: string; path?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string; message: string; path?: string };
  }
  throw new Error('expected a rejection');
}

describe('parseSidecar', () => {
  it('accepts the five fields and returns a frozen copy of exactly them', () => {
    const meta = parseSidecar(JSON.stringify(GOOD), SIDECAR);
    expect(meta).toEqual(GOOD);
    expect(Object.isFrozen(meta)).toBe(true);
    expect(
      parseSidecar(`\n  ${JSON.stringify({ ...GOOD, sampleType: 'uint16' })}\n`, SIDECAR).sampleType,
    ).toBe('uint16');
  });

  it.each([
    ['', /^the sidecar \/data\/photo\.raw\.json is not valid JSON$/],
    ['{"width":5', /is not valid JSON$/],
    ['\uFEFF{}', /is not valid JSON$/],
    ['[]', /does not hold a JSON object$/],
    ['null', /does not hold a JSON object$/],
    ['42', /does not hold a JSON object$/],
    ['"text"', /does not hold a JSON object$/],
    [JSON.stringify({ ...GOOD, colour: 'srgb' }), /has an unknown field "colour"$/],
    [
      '{"__proto__":{},"width":5,"height":2,"channels":4,"sampleType":"int16","byteOrder":"little"}',
      /unknown field "__proto__"/,
    ],
    [JSON.stringify({ ...GOOD, width: 0 }), /gives width 0; expected a whole number from 1 to 2147483647$/],
    [JSON.stringify({ ...GOOD, width: -3 }), /gives width -3;/],
    [JSON.stringify({ ...GOOD, height: 1.5 }), /gives height 1\.5;/],
    [JSON.stringify({ ...GOOD, height: '2' }), /gives height "2";/],
    [JSON.stringify({ ...GOOD, width: null }), /gives width null;/],
    [JSON.stringify({ ...GOOD, width: 2 ** 31 }), /gives width 2147483648;/],
    [
      JSON.stringify({ ...GOOD, width: 2 ** 31 - 1, height: 2 ** 31 - 1 }),
      /more bytes than a file can hold$/,
    ],
    [JSON.stringify({ ...GOOD, channels: 3 }), /gives channels 3; only 4 \(RGBA\) is supported$/],
    [JSON.stringify({ ...GOOD, channels: '4' }), /gives channels "4";/],
    [
      JSON.stringify({ ...GOOD, sampleType: 'float' }),
      /gives sampleType "float"; expected "uint16" or "int16"$/,
    ],
    [JSON.stringify({ ...GOOD, byteOrder: 'big' }), /gives byteOrder "big"; only "little" is supported$/],
    [' '.repeat(MAX_SIDECAR_BYTES + 1), /is larger than 65536 bytes$/],
  ])('refuses %j', (text, message) => {
    const error = caught(() => parseSidecar(text, SIDECAR));
    expect(error.code).toBe('ERR_SIDECAR_INVALID');
    expect(error.message).toMatch(message);
    expect(error.message).toContain(SIDECAR);
    expect(error.message).not.toContain('\n');
  });

  it.each(['width', 'height', 'channels', 'sampleType', 'byteOrder'])(
    'refuses a sidecar without "%s"',
    (field) => {
      const partial: Record<string, unknown> = { ...GOOD };
      delete partial[field];
      const error = caught(() => parseSidecar(JSON.stringify(partial), SIDECAR));
      expect(error.code).toBe('ERR_SIDECAR_INVALID');
      expect(error.message).toBe(`the sidecar ${SIDECAR} has no "${field}" field`);
    },
  );

  it('throws only ERR_SIDECAR_INVALID on arbitrary text and arbitrary JSON', () => {
    const check = (text: string) => {
      try {
        const meta = parseSidecar(text, SIDECAR);
        // Anything accepted must really be valid metadata.
        expect(Object.keys(meta).sort()).toEqual(['byteOrder', 'channels', 'height', 'sampleType', 'width']);
      } catch (error) {
        expect((error as { code?: string }).code).toBe('ERR_SIDECAR_INVALID');
      }
    };
    fc.assert(fc.property(fc.string(), check), { numRuns: 500 });
    fc.assert(
      fc.property(fc.jsonValue(), (value) => check(JSON.stringify(value) ?? '')),
      { numRuns: 500 },
    );
    const nearlyGood = fc.record({
      width: fc.oneof(fc.integer(), fc.double(), fc.string()),
      height: fc.oneof(fc.integer({ min: 1, max: 10 }), fc.constant(0)),
      channels: fc.constantFrom(4, 3, '4'),
      sampleType: fc.constantFrom('uint16', 'int16', 'int32'),
      byteOrder: fc.constantFrom('little', 'big'),
    });
    fc.assert(
      fc.property(nearlyGood, (value) => check(JSON.stringify(value))),
      { numRuns: 500 },
    );
  });

  it('reads back whatever formatSidecar writes', () => {
    fc.assert(
      fc.property(
        // Any shape whose byte count a file can hold.
        fc.integer({ min: 1, max: 2 ** 31 - 1 }).chain((width) =>
          fc.tuple(
            fc.constant(width),
            fc.integer({
              min: 1,
              max: Math.min(2 ** 31 - 1, Math.floor(Number.MAX_SAFE_INTEGER / 8 / width)),
            }),
          ),
        ),
        fc.constantFrom('uint16' as const, 'int16' as const),
        ([width, height], sampleType) => {
          const meta = { width, height, channels: 4 as const, sampleType, byteOrder: 'little' as const };
          expect(parseSidecar(formatSidecar(meta), SIDECAR)).toEqual(meta);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('checkSidecarSize', () => {
  it('passes width × height × 8 and names both sizes otherwise', () => {
    expect(() => checkSidecarSize(GOOD, 80, SIDECAR)).not.toThrow();
    const error = caught(() => checkSidecarSize(GOOD, 81, SIDECAR));
    expect(error.code).toBe('ERR_SIDECAR_MISMATCH');
    expect(error.message).toBe(
      `the sidecar ${SIDECAR} says 5x2 pixels (80 bytes) but the raw file holds 81 bytes`,
    );
  });
});

describe('readSidecar', () => {
  it('returns undefined when there is no sidecar', async () => {
    expect(await readSidecar(fixture(80))).toBeUndefined();
    expect(await readSidecar(join(tmp.dir, 'neither-raw-nor-sidecar.raw'))).toBeUndefined();
  });

  it('returns the metadata of a sidecar that matches its raw file', async () => {
    const raw = fixture(80, JSON.stringify(GOOD));
    expect(await readSidecar(raw)).toEqual(GOOD);
    expect(sidecarPath(raw)).toBe(`${raw}.json`);
  });

  it('refuses dimensions that do not match the file size', async () => {
    for (const size of [0, 72, 88]) {
      const raw = fixture(size, JSON.stringify(GOOD));
      const error = await rejected(readSidecar(raw));
      expect(error.code).toBe('ERR_SIDECAR_MISMATCH');
      expect(error.message).toBe(
        `the sidecar ${raw}.json says 5x2 pixels (80 bytes) but the raw file holds ${size} bytes`,
      );
    }
  });

  it('refuses invalid text, invalid UTF-8 and oversized files with ERR_SIDECAR_INVALID', async () => {
    const cases: [string | Buffer, RegExp][] = [
      ['not json', /is not valid JSON$/],
      [Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), /is not UTF-8 text$/],
      [Buffer.alloc(MAX_SIDECAR_BYTES + 1, 0x20), /is larger than 65536 bytes$/],
      [JSON.stringify({ ...GOOD, extra: true }), /has an unknown field "extra"$/],
    ];
    for (const [text, message] of cases) {
      const raw = fixture(80, text);
      const error = await rejected(readSidecar(raw));
      expect(error.code).toBe('ERR_SIDECAR_INVALID');
      expect(error.message).toMatch(message);
      expect(error.message).toContain(`${raw}.json`);
    }
  });

  it('names the missing raw file when only the sidecar exists', async () => {
    const raw = join(tmp.dir, 'orphan.raw');
    writeFileSync(`${raw}.json`, JSON.stringify(GOOD));
    const error = await rejected(readSidecar(raw));
    expect(error.code).toBe('ENOENT');
    expect(error.message).toBe(`the sidecar ${raw}.json has no raw file: ${raw} does not exist`);
  });

  it('keeps the errno code of a sidecar that cannot be read', async () => {
    const raw = fixture(80);
    mkdirSync(`${raw}.json`);
    const error = await rejected(readSidecar(raw));
    expect(error.code).toBe('EISDIR');
    expect(error.message).toBe(`cannot read the sidecar ${raw}.json: it is a directory`);
  });
});

describe('writeSidecar', () => {
  it('writes the five fields in order, then reads back the same', async () => {
    const raw = fixture(80);
    expect(await writeSidecar(raw, GOOD)).toBe(`${raw}.json`);
    expect(readFileSync(`${raw}.json`, 'utf8')).toBe(
      '{\n  "width": 5,\n  "height": 2,\n  "channels": 4,\n  "sampleType": "int16",\n  "byteOrder": "little"\n}\n',
    );
    expect(await readSidecar(raw)).toEqual(GOOD);
  });

  it('replaces an old sidecar and leaves no temporary file', async () => {
    const raw = fixture(80, JSON.stringify({ ...GOOD, width: 10, height: 1 }));
    await writeSidecar(raw, { ...GOOD, sampleType: 'uint16' });
    expect((await readSidecar(raw))?.sampleType).toBe('uint16');
    expect(readdirSync(tmp.dir).filter((name) => name.includes('.tmp'))).toEqual([]);
  });

  it('refuses metadata that does not match an existing raw file, and bad metadata', async () => {
    const raw = fixture(64);
    const mismatch = await rejected(writeSidecar(raw, GOOD));
    expect(mismatch.code).toBe('ERR_SIDECAR_MISMATCH');
    const bad = await rejected(writeSidecar(raw, { ...GOOD, channels: 3 as 4 }));
    expect(bad.code).toBe('ERR_SIDECAR_INVALID');
    expect(readdirSync(tmp.dir)).not.toContain(`${raw.split('/').pop()}.json`);
  });

  it('writes a sidecar for a raw file that does not exist yet', async () => {
    const raw = join(tmp.dir, 'later.raw');
    await writeSidecar(raw, GOOD);
    expect(JSON.parse(readFileSync(`${raw}.json`, 'utf8'))).toEqual(GOOD);
  });
});
