/**
 * The adjust operations (issue 15): add, gain, levels, gamma and invert, checked once, and the 65,536-entry
 * lookup table per band they compile to.
 *
 * Semantics, exact in float64: x is a sample and [lo, hi] its range (0…65535 uint16, or 0…max for PNM maxval;
 * −32768…32767 int16). Each op maps x, and the result is clamped to [lo, hi] after every op; after the last op
 * the value is rounded half to even (as `numpy.rint`). So `add` alone equals brighten exactly.
 * - `add N`: x + N
 * - `gain F`: x × F (F ≥ 0)
 * - `levels B:W`: ((x − B) × (hi − lo)) / (W − B) + lo (B < W), evaluated in that order
 * - `gamma G`: lo + (hi − lo) × ((x − lo) / (hi − lo))^(1 / G) (G > 0; G > 1 brightens, as ImageMagick's -gamma)
 * - `invert`: hi + lo − x
 *
 * Each op with a value takes one value, or one per band (index = band). Bands that do not change (alpha unless
 * asked) get the identity table, and kernels leave their bytes alone.
 */
import { invalidParameterError } from '../errors.js';
import { alphaBand, type Bands, type SampleType, sampleRange } from '../pixels.js';
import { isPlainObject } from '../validate.js';

/** The op names, in the order the README lists them. */
export const OP_NAMES = Object.freeze(['add', 'gain', 'levels', 'gamma', 'invert'] as const);
export type OpName = (typeof OP_NAMES)[number];

/** One value, or one per band. */
export type PerBand<T> = T | readonly T[];

/** One adjust operation as callers give it. */
export type AdjustOp =
  | { readonly op: 'add'; readonly value: PerBand<number> }
  | { readonly op: 'gain'; readonly value: PerBand<number> }
  | { readonly op: 'gamma'; readonly value: PerBand<number> }
  | { readonly op: 'levels'; readonly black: PerBand<number>; readonly white: PerBand<number> }
  | { readonly op: 'invert' };

/** A checked op: one entry per band for every value (JSON-safe, so a journal can store it as is). */
export type CheckedOp =
  | { readonly op: 'add' | 'gain' | 'gamma'; readonly value: readonly number[] }
  | { readonly op: 'levels'; readonly black: readonly number[]; readonly white: readonly number[] }
  | { readonly op: 'invert' };

/** The largest number of ops in one chain (a table is built once whatever the length; this bounds the work). */
export const MAX_OPS = 256;

type ValueCheck = (value: number) => boolean;

const VALUE_RULES: Record<'add' | 'gain' | 'gamma', { check: ValueCheck; expected: string }> = {
  add: { check: Number.isFinite, expected: 'a finite number' },
  gain: { check: (v) => Number.isFinite(v) && v >= 0, expected: 'a finite number ≥ 0' },
  gamma: { check: (v) => Number.isFinite(v) && v > 0, expected: 'a finite number > 0' },
};

function perBand(
  name: string,
  value: unknown,
  bands: Bands,
  check: ValueCheck,
  expected: string,
  spared: boolean,
): number[] {
  if (Array.isArray(value)) {
    if (value.length !== 1 && value.length !== bands && !(spared && value.length === bands - 1)) {
      const also = spared ? ` (or ${bands - 1}, alpha left alone)` : '';
      throw invalidParameterError(`${name}.length`, `1 or ${bands}${also}, one value per band`, value.length);
    }
    const values = value.map((v, band) => {
      if (typeof v !== 'number' || !check(v)) throw invalidParameterError(`${name}[${band}]`, expected, v);
      return v + 0;
    });
    if (values.length === 1) return new Array<number>(bands).fill(values[0] as number);
    // Alpha left alone: its entry is never used; the last value keeps the array one per band.
    if (values.length < bands) values.push(values[values.length - 1] as number);
    return values;
  }
  if (typeof value !== 'number' || !check(value)) throw invalidParameterError(name, expected, value);
  return new Array<number>(bands).fill(value + 0);
}

/**
 * Checks a chain of ops for pixels of `bands` samples.
 * @param value the ops, in the order they apply (at least one)
 * @param bands samples per pixel
 * @param spared whether alpha (the last of 2 or 4 bands) is left alone: then a value may be given for every
 *   band but alpha
 * @returns the checked ops, one value per band each
 * @throws {RawbrightError} `ERR_INVALID_ARG_VALUE` for an unknown op, a bad value (gain < 0, levels with
 *   B ≥ W, gamma ≤ 0, NaN, ±Infinity) or more values than bands
 */
export function checkOps(value: unknown, bands: Bands, spared = false): CheckedOp[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_OPS) {
    throw invalidParameterError('ops', `an array of 1 to ${MAX_OPS} operations`, value);
  }
  return value.map((entry, index): CheckedOp => {
    const name = `ops[${index}]`;
    if (!isPlainObject(entry)) throw invalidParameterError(name, 'an object with an op', entry);
    const op = entry.op;
    switch (op) {
      case 'add':
      case 'gain':
      case 'gamma': {
        const rule = VALUE_RULES[op];
        return { op, value: perBand(`${name}.value`, entry.value, bands, rule.check, rule.expected, spared) };
      }
      case 'levels': {
        const black = perBand(
          `${name}.black`,
          entry.black,
          bands,
          Number.isFinite,
          'a finite number',
          spared,
        );
        const white = perBand(
          `${name}.white`,
          entry.white,
          bands,
          Number.isFinite,
          'a finite number',
          spared,
        );
        black.forEach((b, band) => {
          if (!((white[band] as number) > b)) {
            throw invalidParameterError(
              `${name}.white[${band}]`,
              `a white point above the black point ${b}`,
              white[band],
            );
          }
        });
        return { op, black, white };
      }
      case 'invert':
        return { op };
      default:
        throw invalidParameterError(`${name}.op`, `one of ${OP_NAMES.map((n) => `'${n}'`).join(', ')}`, op);
    }
  });
}

/** Rounds half to even, as numpy.rint (Math.round rounds halves up). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r + 0;
}

/**
 * The value of one sample after the chain, band `band`, in float64 as the module comment states.
 * @param x the sample's value (signed for int16)
 * @returns the rounded result, within [lo, hi]
 */
function applyChain(ops: readonly CheckedOp[], band: number, x: number, lo: number, hi: number): number {
  let v = x;
  const span = hi - lo;
  for (const op of ops) {
    switch (op.op) {
      case 'add':
        v = v + (op.value[band] as number);
        break;
      case 'gain':
        v = v * (op.value[band] as number);
        break;
      case 'levels': {
        const b = op.black[band] as number;
        v = ((v - b) * span) / ((op.white[band] as number) - b) + lo;
        break;
      }
      case 'gamma':
        v = lo + span * ((v - lo) / span) ** (1 / (op.value[band] as number));
        break;
      case 'invert':
        v = hi + lo - v;
        break;
    }
    v = Math.min(Math.max(v, lo), hi);
  }
  return roundHalfEven(v);
}

/** The lookup tables of one run: per band, the result's 16 bits for each sample's 16 bits. */
export interface OpTables {
  readonly bands: Bands;
  /** `bands` tables of 65,536 entries, indexed by the sample's bits (two's complement for int16). */
  readonly tables: readonly Uint16Array[];
  /** Per band, whether it changes (false for alpha unless asked): kernels leave those samples alone. */
  readonly changes: readonly boolean[];
}

/**
 * Builds the 65,536-entry table of every band, once per run.
 * @param ops checked ops (see {@link checkOps})
 * @param type the sample type
 * @param bands samples per pixel
 * @param alpha whether alpha (the last band of 2 and 4) changes
 * @param max uint16 only: the upper clamp (PNM maxval) [65535]
 * @returns the tables; an unchanged band's table is the identity
 */
export function buildTables(
  ops: readonly CheckedOp[],
  type: SampleType,
  bands: Bands,
  alpha: boolean,
  max?: number,
): OpTables {
  const range = sampleRange(type);
  const lo = range.min;
  const hi = type === 'uint16' && max !== undefined ? max : range.max;
  const signed = type === 'int16';
  const alphaIndex = alphaBand(bands);
  const changes: boolean[] = [];
  const tables: Uint16Array[] = [];
  for (let band = 0; band < bands; band++) {
    const changed = band !== alphaIndex || alpha;
    const table = new Uint16Array(65536);
    for (let bits = 0; bits < 65536; bits++) {
      if (!changed) {
        table[bits] = bits;
        continue;
      }
      const x = signed && bits >= 0x8000 ? bits - 0x10000 : bits;
      // Uint16Array stores the low 16 bits, so a negative int16 result is stored in two's complement.
      table[bits] = applyChain(ops, band, x, lo, hi);
    }
    changes.push(changed);
    tables.push(table);
  }
  return { bands, tables, changes };
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Applies the tables to whole pixels of a view, each sample read and written in its byte order.
 * @param view the pixels (byteLength a multiple of 2 × bands)
 * @param tables from {@link buildTables}
 * @param bigEndian whether samples are stored big-endian
 */
export function applyTables(view: DataView, tables: OpTables, bigEndian: boolean): void {
  const little = !bigEndian;
  if (little === HOST_LITTLE_ENDIAN && view.byteOffset % 2 === 0) {
    // Aligned samples in the host's order: typed-array loads, several times faster than DataView calls.
    const samples = new Uint16Array(view.buffer, view.byteOffset, view.byteLength / 2);
    const n = samples.length;
    for (let band = 0; band < tables.bands; band++) {
      if (!tables.changes[band]) continue;
      const table = tables.tables[band] as Uint16Array;
      for (let i = band; i < n; i += tables.bands) samples[i] = table[samples[i] as number] as number;
    }
    return;
  }
  const stride = 2 * tables.bands;
  const end = view.byteLength;
  for (let band = 0; band < tables.bands; band++) {
    if (!tables.changes[band]) continue;
    const table = tables.tables[band] as Uint16Array;
    for (let at = 2 * band; at < end; at += stride) {
      view.setUint16(at, table[view.getUint16(at, little)] as number, little);
    }
  }
}

/** How many bands change: all, or all but alpha (the changed bands are always a prefix of the pixel). */
export function changedBands(tables: OpTables): number {
  return tables.changes.filter(Boolean).length;
}

const shared = new WeakMap<OpTables, boolean>();

/**
 * Whether every changed band has the same table (as for any op given one value for all bands): then
 * {@link packTables} packs that one table, and the loops read one 128 KiB table instead of up to four, which
 * keeps their lookups in the CPU's cache. Checked entry by entry once per tables.
 * @param tables from {@link buildTables}
 */
export function sharedTable(tables: OpTables): boolean {
  let same = shared.get(tables);
  if (same === undefined) {
    const first = tables.tables[0] as Uint16Array;
    same = true;
    for (let band = 1; band < changedBands(tables) && same; band++) {
      const table = tables.tables[band] as Uint16Array;
      for (let bits = 0; bits < 65536; bits++) {
        if (table[bits] !== first[bits]) {
          same = false;
          break;
        }
      }
    }
    shared.set(tables, same);
  }
  return same;
}

const packed = new WeakMap<OpTables, Uint16Array[]>();

/**
 * The tables of the changed bands back to back, as the wasm and native loops read them: entry `bits` of a
 * band's table at index band × 65,536 + bits, where bits are the sample's two bytes read in the host's order;
 * only the first when they are all the same ({@link sharedTable}). With `swap` (samples stored in the other
 * order) index and entry are byte-swapped, so one loop serves both orders. Built once per tables and order.
 * @param tables from {@link buildTables}
 * @param swap whether samples are stored in the order opposite to the reader's
 * @returns `changedBands(tables)` × 65,536 entries (65,536 when shared) in an ArrayBuffer of its own
 */
export function packTables(tables: OpTables, swap: boolean): Uint16Array {
  let both = packed.get(tables);
  if (both === undefined) {
    both = [];
    packed.set(tables, both);
  }
  const at = swap ? 1 : 0;
  let out = both[at];
  if (out === undefined) {
    const count = sharedTable(tables) ? 1 : changedBands(tables);
    out = new Uint16Array(count * 65536);
    for (let band = 0; band < count; band++) {
      const table = tables.tables[band] as Uint16Array;
      const base = band * 65536;
      if (!swap) {
        out.set(table, base);
        continue;
      }
      for (let bits = 0; bits < 65536; bits++) {
        const y = table[((bits & 0xff) << 8) | (bits >> 8)] as number;
        out[base + bits] = ((y & 0xff) << 8) | (y >> 8);
      }
    }
    both[at] = out;
  }
  return out;
}

/** Whether this host stores 16-bit numbers low byte first. */
export const HOST_IS_LITTLE_ENDIAN = HOST_LITTLE_ENDIAN;

/**
 * The per-band deltas when the tables are, entry for entry, brighten's saturating add: every changed band's
 * table equals min(max(x + d, lo), hi) for all 65,536 inputs, for one whole d within ±65535 (checked
 * exhaustively, so brighten's SIMD kernels give exactly the tables' bytes). Such chains are e.g. `gain 1`,
 * `levels 0:65535`, or an add followed by ops that change nothing.
 * @param tables from {@link buildTables}
 * @param type the sample type they were built for
 * @param max uint16 only: the upper clamp they were built with [65535]
 * @returns one delta per band (0 for unchanged bands), or undefined when some table is anything else
 */
export function tablesAsAdd(tables: OpTables, type: SampleType, max?: number): number[] | undefined {
  const range = sampleRange(type);
  const lo = range.min;
  const hi = type === 'uint16' && max !== undefined ? max : range.max;
  const signed = type === 'int16';
  const deltas: number[] = [];
  for (let band = 0; band < tables.bands; band++) {
    if (!tables.changes[band]) {
      deltas.push(0);
      continue;
    }
    const table = tables.tables[band] as Uint16Array;
    // A candidate d from an input whose result is inside (lo, hi), if any; else try the inputs' ends.
    let d: number | undefined;
    for (let bits = 0; bits < 65536 && d === undefined; bits++) {
      const y = table[bits] as number;
      const value = signed && y >= 0x8000 ? y - 0x10000 : y;
      if (value > lo && value < hi) d = value - (signed && bits >= 0x8000 ? bits - 0x10000 : bits);
    }
    if (d === undefined || Math.abs(d) > 65535) return undefined;
    for (let bits = 0; bits < 65536; bits++) {
      const x = signed && bits >= 0x8000 ? bits - 0x10000 : bits;
      if ((table[bits] as number) !== (Math.min(Math.max(x + d, lo), hi) & 0xffff)) return undefined;
    }
    deltas.push(d);
  }
  return deltas;
}

/**
 * Whether the tables are, entry for entry, `invert` (hi + lo − x, clamped) on every changed band: checked on
 * all 65,536 inputs, so a kernel's SIMD invert gives exactly the tables' bytes.
 * @param tables from {@link buildTables}
 * @param type the sample type they were built for
 * @param max uint16 only: the upper clamp they were built with [65535]
 */
export function tablesAreInvert(tables: OpTables, type: SampleType, max?: number): boolean {
  const range = sampleRange(type);
  const lo = range.min;
  const hi = type === 'uint16' && max !== undefined ? max : range.max;
  const signed = type === 'int16';
  for (let band = 0; band < tables.bands; band++) {
    if (!tables.changes[band]) continue;
    const table = tables.tables[band] as Uint16Array;
    for (let bits = 0; bits < 65536; bits++) {
      const x = signed && bits >= 0x8000 ? bits - 0x10000 : bits;
      if ((table[bits] as number) !== (Math.min(Math.max(hi + lo - x, lo), hi) & 0xffff)) return false;
    }
  }
  return true;
}

/**
 * The deltas of a chain that is one whole-number add within brighten's range, which brighten's kernels (SIMD
 * saturating add) compute exactly; undefined for any other chain, which goes through the tables.
 */
export function addOnlyDeltas(ops: readonly CheckedOp[]): number[] | undefined {
  if (ops.length !== 1) return undefined;
  const op = ops[0] as CheckedOp;
  if (op.op !== 'add' || !op.value.every((v) => Number.isInteger(v) && Math.abs(v) <= 65535))
    return undefined;
  return [...op.value];
}
