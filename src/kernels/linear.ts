/**
 * Linear adjust chains (add, gain, levels, invert; no gamma) as exact f64 SIMD arithmetic: the program the
 * wasm-simd kernel (assembly/index.ts, linearSimd) and the native kernel (native/brighten_kernel.h,
 * LinearRange) run instead of the 65,536-entry tables. Both compute every sample with the IEEE operations of
 * ops.ts's applyChain in the same order (levels as ((x − B) × span) / (W − B) + lo, invert as (hi + lo) − x,
 * the clamp after every op, rounding half to even at the end), so their bytes equal the tables' bytes.
 *
 * Program layout (little-endian, one ArrayBuffer; the same bytes for wasm and native): per op a 16-byte header
 * (int32 code at +0, with SKIP_LOW / SKIP_HIGH set where that side of the op's clamp cannot act, int32 bytes to the next op at +4, float64 span = hi − lo at +8 for levels), then its
 * constants, each a pattern of {@link PATTERN} float64: entry s holds the constant of band s % bands.
 * add and gain have one pattern (N, F), levels two (B, then W − B computed here in float64 exactly as applyChain
 * computes it), invert none (the kernels splat hi + lo).
 */
import type { Bands } from '../pixels.js';
import type { CheckedOp } from './ops.js';

/** Entries of one constant pattern: a multiple of 24 (every band count divides it) and of 16 (AVX2 blocks). */
const PATTERN = 48;
const CODES = { add: 0, gain: 1, levels: 2, invert: 3 } as const;
const HEADER = 16;

/** Flags in an op's code word: the clamp's lower (max with lo) or upper (min with hi) side cannot act. */
const SKIP_LOW = 0x100;
const SKIP_HIGH = 0x200;

/** The results of one op, for one band, at the ends of its input range [low, high], smallest first. */
function mapEnds(op: CheckedOp, band: number, low: number, high: number, lo: number, hi: number): number[] {
  const f = (v: number): number => {
    switch (op.op) {
      case 'add':
        return v + (op.value[band] as number);
      case 'gain':
        return v * (op.value[band] as number);
      case 'levels': {
        const black = op.black[band] as number;
        return ((v - black) * (hi - lo)) / ((op.white[band] as number) - black) + lo;
      }
      default:
        return hi + lo - v;
    }
  };
  const x = f(low);
  const y = f(high);
  return x <= y ? [x, y] : [y, x];
}

/** A linear chain compiled for one layout. */
export interface LinearProgram {
  /** The program's bytes (8-byte aligned ArrayBuffer of its own). */
  readonly bytes: ArrayBuffer;
  readonly ops: number;
  readonly lo: number;
  readonly hi: number;
}

/**
 * Compiles a chain to the arithmetic program, or undefined when it is not linear (gamma) or some constant could
 * make an intermediate NaN (levels whose W − B overflows to Infinity): those stay on the tables.
 * @param ops checked ops (one value per band)
 * @param bands samples per pixel
 * @param lo the smallest result
 * @param hi the largest result
 */
export function linearProgram(
  ops: readonly CheckedOp[],
  bands: Bands,
  lo: number,
  hi: number,
): LinearProgram | undefined {
  let size = 0;
  for (const op of ops) {
    if (op.op === 'gamma') return undefined;
    if (op.op === 'levels') {
      for (let band = 0; band < bands; band++) {
        if (!Number.isFinite((op.white[band] as number) - (op.black[band] as number))) return undefined;
      }
    }
    size += HEADER + (op.op === 'invert' ? 0 : op.op === 'levels' ? 2 : 1) * PATTERN * 8;
  }
  const bytes = new ArrayBuffer(size);
  const view = new DataView(bytes);
  let at = 0;
  const pattern = (per: (band: number) => number) => {
    for (let s = 0; s < PATTERN; s++) view.setFloat64(at + 8 * s, per(s % bands), true);
    at += PATTERN * 8;
  };
  // The range every band's value can have before each op: every op is monotone in
  // float64 too (rounding is monotone), so its ends map to the ends of the result's range. A clamp side that
  // cannot act for any value in range is left out (flags in the code word), which is exact.
  // The input is any raw sample, above hi too (a PNM maxval below 65535 does not bound the stored bits).
  let low = lo;
  let high = lo < 0 ? 32767 : 65535;
  for (const op of ops) {
    const start = at;
    let a = low;
    let b = high;
    for (let band = 0; band < bands; band++) {
      const ends = mapEnds(op, band, low, high, lo, hi);
      a = Math.min(a, ends[0]);
      b = Math.max(b, ends[1]);
    }
    // a and b bound every band's result (the min and max over bands); the clamp then puts it in [lo, hi].
    const flags = (a >= lo ? SKIP_LOW : 0) | (b <= hi ? SKIP_HIGH : 0);
    low = Math.min(Math.max(a, lo), hi);
    high = Math.min(Math.max(b, lo), hi);
    view.setInt32(at, CODES[op.op as keyof typeof CODES] | flags, true);
    view.setFloat64(at + 8, hi - lo, true);
    at += HEADER;
    if (op.op === 'add' || op.op === 'gain') pattern((band) => op.value[band] as number);
    else if (op.op === 'levels') {
      pattern((band) => op.black[band] as number);
      pattern((band) => (op.white[band] as number) - (op.black[band] as number));
    }
    view.setInt32(start + 4, at - start, true);
  }
  return { bytes, ops: ops.length, lo, hi };
}
