/**
 * The float64 reference for the adjust ops (issue 15), written from the statement of the semantics and
 * independent of src/ (only the AdjustOp type comes from there): each op on one value in float64, clamped to
 * [lo, hi] after every op, then rounded half to even. The kernel, pipeline and CLI tests check against it.
 */
import type { AdjustOp } from '../../dist/kernels/index.js';

/** Round half to even (numpy.rint), from the floor and the exact fraction rather than Math.round. */
export function rint(x: number): number {
  const f = Math.floor(x);
  const frac = x - f;
  if (frac < 0.5) return f;
  if (frac > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * The chain on one sample of band `band`, one case per op as the issue states it, with its own clamp.
 * @param x0 the sample's value (signed for int16)
 * @returns the rounded result within [lo, hi] (negative for int16: mask with 0xffff for the stored bits)
 */
export function reference(
  ops: readonly AdjustOp[],
  band: number,
  x0: number,
  lo: number,
  hi: number,
): number {
  const pick = (v: number | readonly number[]) => (typeof v === 'number' ? v : (v[band] as number));
  let x = x0;
  for (const op of ops) {
    if (op.op === 'add') x += pick(op.value);
    else if (op.op === 'gain') x *= pick(op.value);
    else if (op.op === 'levels') {
      const b = pick(op.black);
      const w = pick(op.white);
      x = ((x - b) * (hi - lo)) / (w - b) + lo;
    } else if (op.op === 'gamma') x = lo + (hi - lo) * ((x - lo) / (hi - lo)) ** (1 / pick(op.value));
    else x = hi + lo - x;
    if (x < lo) x = lo;
    if (x > hi) x = hi;
  }
  return rint(x);
}

/** A chain as `[op, ...values]` steps (levels: black, white), as tests write it for the CLI. */
export type Step = [string, ...number[]];

/** The CLI flags of a chain of steps, in order. */
export function adjustFlags(chain: Step[]): string[] {
  return chain.flatMap(([op, ...v]) =>
    op === 'levels'
      ? ['--levels', `${v[0]}:${v[1]}`]
      : op === 'invert'
        ? ['--invert']
        : [`--${op}`, String(v[0])],
  );
}
