/**
 * Property-based fuzzing of rawbright's parsers with fast-check: random and mutated inputs for the
 * size parser, the sidecar parser and the journal (its parameters and whole journal files). Each
 * parser must either return a valid value or throw a RawbrightError with a code, and must do so
 * quickly: nothing may crash with another error type, and nothing may hang. `npm test` runs these with
 * few runs (test/fuzz.test.ts); `npm run torture` with many (fuzz.torture.ts).
 */
import { copyFileSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import fc from 'fast-check';
import { expect } from 'vitest';
import {
  Journal,
  JournalLayout,
  type JournalParams,
  parseJournalParams,
  slotRecord,
} from '../../dist/brighten/journal.js';
import { parseSize } from '../../dist/cli/size.js';
import { checkMetadata, MAX_DIMENSION, parseSidecar, readSidecar } from '../../dist/convert/sidecar.js';
import { RawbrightError } from '../../dist/errors.js';
import { MappedFile } from '../../dist/file/mapped-file.js';

/** Longest a single parse may take before it counts as a hang (generous: two shared cores). */
const SLOW_MS = 250;

/** Runs `parse`, and checks that it returned, or threw a RawbrightError with one of `codes`, in time. */
function outcome<T>(codes: readonly string[], parse: () => T): { value?: T; code?: string } {
  const started = performance.now();
  let result: { value?: T; code?: string };
  try {
    result = { value: parse() };
  } catch (error) {
    if (!(error instanceof RawbrightError)) throw new Error(`not a RawbrightError: ${String(error)}`);
    expect(codes).toContain(error.code);
    expect(error.message).not.toMatch(/\n/);
    result = { code: error.code };
  }
  const took = performance.now() - started;
  if (took > SLOW_MS) throw new Error(`took ${took.toFixed(0)} ms`);
  return result;
}

/** Byte-level mutations of a valid input: flips, insertions, deletions, duplications, truncations. */
function mutated(seed: Uint8Array): fc.Arbitrary<Uint8Array> {
  const edit = fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), byte: fc.nat(255) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ maxLength: 8 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 8 }) }),
    fc.record({ kind: fc.constant('repeat' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 16 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  );
  return fc.array(edit, { minLength: 1, maxLength: 6 }).map((edits) => {
    let bytes = Buffer.from(seed);
    for (const e of edits) {
      const at = bytes.length === 0 ? 0 : e.at % (bytes.length + 1);
      switch (e.kind) {
        case 'flip':
          if (at < bytes.length) bytes[at] ^= 1 << e.bit;
          break;
        case 'set':
          if (at < bytes.length) bytes[at] = e.byte;
          break;
        case 'insert':
          bytes = Buffer.concat([bytes.subarray(0, at), e.bytes, bytes.subarray(at)]);
          break;
        case 'delete':
          bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + e.count)]);
          break;
        case 'repeat':
          bytes = Buffer.concat([bytes.subarray(0, at), ...Array(e.count).fill(bytes.subarray(at, at + 4))]);
          break;
        case 'truncate':
          bytes = bytes.subarray(0, at);
          break;
      }
    }
    return new Uint8Array(bytes);
  });
}

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

// --- the size parser -------------------------------------------------------------------------------

const UNITS: Record<string, bigint> = {
  '': 1n,
  b: 1n,
  k: 1024n,
  kb: 1000n,
  kib: 1024n,
  m: 1024n ** 2n,
  mb: 1000n ** 2n,
  mib: 1024n ** 2n,
  g: 1024n ** 3n,
  gb: 1000n ** 3n,
  gib: 1024n ** 3n,
  t: 1024n ** 4n,
  tb: 1000n ** 4n,
  tib: 1024n ** 4n,
};

/** An exact reference: the number of bytes a size text denotes, or undefined if it is not a whole number of bytes. */
export function exactSize(value: string): number | undefined {
  const match =
    /^(\d+)(?:\.(\d+))?[ \t\n\r\f\v\u00a0\ufeff\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*([a-z]*)$/i.exec(
      value.trim(),
    );
  if (match === null) return undefined;
  const unit = UNITS[match[3].toLowerCase()];
  if (unit === undefined) return undefined;
  const fraction = match[2] ?? '';
  const scale = 10n ** BigInt(fraction.length);
  const numerator = (BigInt(match[1]) * scale + BigInt(fraction === '' ? '0' : fraction)) * unit;
  if (numerator % scale !== 0n) return undefined;
  const bytes = numerator / scale;
  return bytes <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(bytes) : undefined;
}

const sizeLike = fc
  .tuple(
    fc.stringMatching(/^\d{1,20}$/),
    fc.option(fc.stringMatching(/^\d{0,24}$/), { nil: undefined }),
    fc.constantFrom('', ' ', '  ', '\t', '\n'),
    fc.mixedCase(fc.constantFrom(...Object.keys(UNITS), 'x', 'kibi', 'ib')),
    fc.constantFrom('', ' ', '\n', 'x', '-', '.'),
    fc.constantFrom('', ' ', '+', '-', '0x', '\u00a0'),
  )
  .map(([digits, fraction, gap, unit, tail, head]) =>
    fraction === undefined
      ? `${head}${digits}${gap}${unit}${tail}`
      : `${head}${digits}.${fraction}${gap}${unit}${tail}`,
  );

/** Blanks (the quadratic-backtracking shape once found) and other long inputs. */
const longSize = fc
  .tuple(
    fc.constantFrom('1', '', '64', '1.5'),
    fc.constantFrom(' ', '\t', '0', '1', 'k', '.'),
    fc.integer({ min: 1000, max: 131_072 }),
    fc.constantFrom('', '!', 'MiB', ' x'),
  )
  .map(([head, unit, count, tail]) => `${head}${unit.repeat(count)}${tail}`);

export function fuzzSizeParser(numRuns: number): number {
  const check = (value: string) => {
    const result = outcome(['ERR_INVALID_ARG_VALUE'], () => parseSize(value, '--window'));
    expect(result.value).toBe(exactSize(value));
  };
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 40 }), check), { numRuns });
  fc.assert(fc.property(sizeLike, check), { numRuns });
  fc.assert(fc.property(mutated(Buffer.from('64MiB')).map(text), check), { numRuns });
  fc.assert(fc.property(longSize, check), { numRuns: Math.max(20, numRuns / 20) });
  return numRuns * 3 + Math.max(20, numRuns / 20);
}

// --- the sidecar ------------------------------------------------------------------------------------

const GOOD_SIDECAR = `${JSON.stringify(
  { width: 600, height: 400, channels: 4, sampleType: 'uint16', byteOrder: 'little' },
  null,
  2,
)}\n`;

/** Independent of src/convert/sidecar.ts: what an accepted sidecar must be. */
function validMetadata(meta: Record<string, unknown>): boolean {
  const dimension = (v: unknown) =>
    Number.isSafeInteger(v) && (v as number) >= 1 && (v as number) <= MAX_DIMENSION;
  return (
    Object.keys(meta).sort().join() === 'byteOrder,channels,height,sampleType,width' &&
    dimension(meta.width) &&
    dimension(meta.height) &&
    (meta.width as number) * (meta.height as number) * 8 <= Number.MAX_SAFE_INTEGER &&
    meta.channels === 4 &&
    (meta.sampleType === 'uint16' || meta.sampleType === 'int16') &&
    meta.byteOrder === 'little'
  );
}

const fieldValue = fc.oneof(
  fc.constantFrom(4, 1, 0, -0, -1, 2 ** 31 - 1, 2 ** 31, 2 ** 53, 1e308, 0.5, 'uint16', 'int16', 'little'),
  fc.constantFrom('big', '4', '', null, true, [], {}, '__proto__'),
  fc.double(),
  fc.integer(),
  fc.string({ maxLength: 8 }),
);

const nearlySidecar = fc
  .tuple(
    fc.dictionary(
      fc.constantFrom(
        'width',
        'height',
        'channels',
        'sampleType',
        'byteOrder',
        'depth',
        '__proto__',
        'Width',
      ),
      fieldValue,
    ),
    fc.record({
      width: fc.oneof(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fieldValue),
      height: fc.oneof(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fieldValue),
      channels: fc.oneof(fc.constant(4), fieldValue),
      sampleType: fc.oneof(fc.constantFrom('uint16', 'int16'), fieldValue),
      byteOrder: fc.oneof(fc.constant('little'), fieldValue),
    }),
    fc.boolean(),
  )
  .map(([extra, base, merge]) => (merge ? { ...base, ...extra } : base));

export function fuzzSidecarParser(numRuns: number): number {
  const check = (value: string) => {
    const result = outcome(['ERR_SIDECAR_INVALID'], () => parseSidecar(value, 'x.raw.json'));
    if (result.value !== undefined) expect(validMetadata(result.value as never)).toBe(true);
  };
  fc.assert(fc.property(mutated(Buffer.from(GOOD_SIDECAR)).map(text), check), { numRuns });
  fc.assert(
    fc.property(nearlySidecar, (value) => {
      check(JSON.stringify(value));
      const direct = outcome(['ERR_SIDECAR_INVALID'], () => checkMetadata(value, 'x.raw.json'));
      if (direct.value !== undefined) expect(validMetadata(direct.value as never)).toBe(true);
    }),
    { numRuns },
  );
  fc.assert(
    fc.property(fc.anything({ withNullPrototype: true, withBigInt: true, withMap: true }), (value) => {
      outcome(['ERR_SIDECAR_INVALID'], () => checkMetadata(value, 'x.raw.json'));
    }),
    { numRuns },
  );
  // Deep nesting and sheer size.
  check(`${'['.repeat(100_000)}${']'.repeat(100_000)}`);
  check(' '.repeat(70_000));
  return numRuns * 3 + 2;
}

/** Sidecar files of random and mutated bytes (invalid UTF-8, BOMs, NULs) through readSidecar. */
export async function fuzzSidecarFiles(dir: string, numRuns: number): Promise<number> {
  const raw = join(dir, 'fuzz-sidecar.raw');
  // One pixel: only a 1×1 sidecar matches it.
  writeFileSync(raw, Buffer.alloc(8));
  const bytes = fc.oneof(
    mutated(Buffer.from(GOOD_SIDECAR)),
    fc.uint8Array({ maxLength: 200 }),
    fc.constantFrom(
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(GOOD_SIDECAR)]),
      Buffer.from([0xff, 0xfe, 0x7b, 0x00]),
      Buffer.from('{"width":1,"height":1,"channels":4,"sampleType":"uint16","byteOrder":"little"}'),
    ),
  );
  await fc.assert(
    fc.asyncProperty(bytes, async (content) => {
      writeFileSync(`${raw}.json`, content);
      try {
        const meta = await readSidecar(raw);
        // The raw file is one pixel: only a 1×1 sidecar may pass.
        expect(meta).toMatchObject({ width: 1, height: 1 });
      } catch (error) {
        expect(error).toBeInstanceOf(RawbrightError);
        expect(['ERR_SIDECAR_INVALID', 'ERR_SIDECAR_MISMATCH']).toContain((error as RawbrightError).code);
      }
    }),
    { numRuns },
  );
  rmSync(`${raw}.json`, { force: true });
  rmSync(raw, { force: true });
  return numRuns;
}

// --- the journal ------------------------------------------------------------------------------------

const journalValue = fc.oneof(
  fc.constantFrom(0, -0, 1, 2, 7, 8, 9, 4096, 8192, 65535, 65536, -65535, -65536, 2 ** 32, 2 ** 53, -1),
  fc.constantFrom(0.5, Number.MAX_VALUE, 1e21, 'uint16', 'int16', 'rgb', 'rgba', '8', null, true, [], {}),
  fc.integer(),
  fc.double(),
);

/** Parameters with every field present and plausible, each possibly replaced by a wrong value. */
function nearlyParams(good: JournalParams): fc.Arbitrary<unknown> {
  const field = <T>(value: T) => fc.oneof({ weight: 3, arbitrary: fc.constant(value) }, journalValue);
  return fc.record({
    version: field(good.version),
    file: fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record({
          path: fc.oneof(fc.constant(good.file.path), fc.string()),
          size: field(good.file.size),
          dev: field(good.file.dev),
          ino: field(good.file.ino),
        }),
      },
      journalValue,
    ),
    by: field(good.by),
    type: field(good.type),
    channels: field(good.channels),
    offset: field(good.offset),
    length: field(good.length),
    window: field(good.window),
    windows: field(good.windows),
    chunk: field(good.chunk),
    slots: field(good.slots),
  });
}

/** Independent of src/brighten/journal.ts: the invariants every accepted parameter set must satisfy. */
function validParams(p: JournalParams): boolean {
  const whole = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  return (
    whole(p.file.size) &&
    whole(p.offset) &&
    whole(p.length) &&
    p.offset + p.length <= p.file.size &&
    p.offset % 8 === 0 &&
    p.length % 8 === 0 &&
    whole(p.window) &&
    p.window >= 8 &&
    p.window % 8 === 0 &&
    p.window <= 2 ** 32 &&
    whole(p.chunk) &&
    p.chunk >= 8 &&
    p.chunk <= p.window &&
    p.chunk % 8 === 0 &&
    p.windows === Math.ceil(p.length / p.window) &&
    Number.isInteger(p.by) &&
    Math.abs(p.by) <= 65535 &&
    p.slots >= 1 &&
    p.slots <= 64
  );
}

export function fuzzJournalParams(good: JournalParams, numRuns: number): number {
  const check = (value: string) => {
    const result = outcome(['ERR_JOURNAL_CORRUPT'], () => parseJournalParams(value, 'x.rawbright-journal'));
    if (result.value !== undefined) {
      expect(validParams(result.value)).toBe(true);
      const layout = new JournalLayout(result.value);
      expect(Number.isSafeInteger(layout.totalSize)).toBe(true);
    }
  };
  fc.assert(fc.property(mutated(Buffer.from(JSON.stringify(good))).map(text), check), { numRuns });
  fc.assert(
    fc.property(nearlyParams(good), (value) => check(JSON.stringify(value))),
    { numRuns },
  );
  fc.assert(
    fc.property(fc.jsonValue(), (value) => check(JSON.stringify(value) ?? '')),
    { numRuns },
  );
  return numRuns * 3;
}

/** The header of a journal with new parameters and a checksum that matches them: a forged journal. */
function forgeHeader(journal: Buffer, json: Buffer): Buffer {
  const out = Buffer.from(journal);
  if (16 + json.length > 4096) return out;
  out.fill(0, 8, 4096);
  out.writeUInt32LE(json.length, 8);
  out.writeUInt32LE(crc32(json), 12);
  json.copy(out, 16);
  return out;
}

/** Slot records: any 64-bit word, or a well-checked record of any state (0xffffffff: unused). */
const slotState = fc.oneof(
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  fc
    .oneof(fc.constantFrom(0xffffffff, 0, 1, 2, 3, 29, 30, 31, 0xfffffffe), fc.integer({ min: 0, max: 200 }))
    .map((state) => slotRecord(state, 0)),
);

/**
 * Whole journal files, mutated: raw byte edits anywhere (the checksum catches most header damage),
 * forged headers with a matching checksum and the file resized to fit, wrong slot states, done maps,
 * truncation. Journal.open and then restoreAndPlan (on a scratch copy of the image) must return or
 * throw a RawbrightError with a code.
 * @returns How many journals were tried, opened, and planned (restored) without an error.
 * @param journalPath An interrupted run's journal to start from.
 * @param imagePath Its image.
 */
export function fuzzJournalFiles(
  dir: string,
  journalPath: string,
  imagePath: string,
  numRuns: number,
): { tried: number; opened: number; planned: number } {
  let opened = 0;
  let planned = 0;
  const original = readFileSync(journalPath);
  const params = JSON.parse(original.toString('utf8', 16, 16 + original.readUInt32LE(8))) as JournalParams;
  const slotsOffset = new JournalLayout(params).slotsOffset;
  const slotSize = new JournalLayout(params).slotSize;
  const target = join(dir, 'fuzz-target.raw');
  const mutatedJournal = join(dir, 'fuzz.rawbright-journal');
  const codes = [
    'ERR_JOURNAL_CORRUPT',
    'ERR_JOURNAL_UNUSED',
    'ERR_JOURNAL_STALE',
    'ERR_OUT_OF_RANGE',
    'EFBIG',
    'EINVAL',
  ];
  const edits = fc.oneof(
    // Raw byte edits over the whole file, weighted to the header, done map and slot headers.
    mutated(original.subarray(0, 4096)).map((head) => Buffer.concat([head, original.subarray(4096)])),
    fc.tuple(fc.nat(original.length - 1), fc.nat(255)).map(([at, byte]) => {
      const out = Buffer.from(original);
      out[at] = byte;
      return out;
    }),
    // Forged parameters with a good checksum, resized to the size those parameters imply.
    fc.oneof(nearlyParams(params), mutated(Buffer.from(JSON.stringify(params))).map(text)).map((value) => {
      const json = Buffer.from(typeof value === 'string' ? value : JSON.stringify(value));
      const forged = forgeHeader(original, json);
      try {
        const layout = new JournalLayout(JSON.parse(json.toString()) as JournalParams);
        if (Number.isSafeInteger(layout.totalSize) && layout.totalSize > 0 && layout.totalSize < 1 << 24) {
          const out = Buffer.alloc(layout.totalSize);
          forged.copy(out, 0, 0, Math.min(forged.length, out.length));
          return out;
        }
      } catch {}
      return forged;
    }),
    // Slot states and done bytes.
    fc
      .tuple(
        fc.nat(params.slots - 1),
        slotState,
        fc.array(fc.tuple(fc.nat(params.windows - 1), fc.nat(3)), { maxLength: 3 }),
      )
      .map(([slot, state, doneBytes]) => {
        const out = Buffer.from(original);
        out.writeBigUInt64LE(state, slotsOffset + slot * slotSize + 8);
        for (const [index, value] of doneBytes) out[4096 + 4 * index] = value;
        return out;
      }),
    fc.nat(original.length).map((length) => original.subarray(0, length)),
  );
  fc.assert(
    fc.property(edits, (bytes) => {
      writeFileSync(mutatedJournal, bytes);
      copyFileSync(imagePath, target);
      const open = outcome(codes, () => Journal.open(mutatedJournal));
      if (open.value === undefined) return;
      opened++;
      const journal = open.value;
      const file = MappedFile.open(target, { access: 'readwrite' });
      try {
        const plan = outcome(codes, () => journal.restoreAndPlan(file));
        if (plan.value !== undefined) planned++;
        for (const range of plan.value ?? []) {
          expect(range.length).toBeGreaterThan(0);
          expect(range.offset + range.length).toBeLessThanOrEqual(
            journal.params.offset + journal.params.length,
          );
        }
      } finally {
        file.close();
        journal.close();
      }
      // The scratch image never grows past the recorded size.
      expect(statSync(target).size).toBeLessThanOrEqual(
        Math.max(statSync(imagePath).size, journal.params.file.size),
      );
    }),
    { numRuns },
  );
  rmSync(target, { force: true });
  rmSync(mutatedJournal, { force: true });
  return { tried: numRuns, opened, planned };
}
