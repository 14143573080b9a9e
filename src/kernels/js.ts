/**
 * The reference brighten kernel in plain TypeScript: a DataView over the range, each changed sample read in its
 * byte order, the sum computed exactly in double precision, clamped, and written back in the same order. Every
 * other kernel must produce the same bytes.
 */
import { applyTables } from './ops.js';
import { type CheckedParams, checkBrightenArgs, type Kernel, type TableKernel } from './types.js';

/**
 * One sample at `at`: read unsigned in its byte order, made signed by subtracting 65536 when signBit (0x8000 for
 * int16, 0 for uint16) is set in it, the exact sum clamped, and the low 16 bits written back (setUint16 stores
 * the low 16 bits, so a clamped negative int16 is written correctly too).
 */
function sample(
  view: DataView,
  at: number,
  delta: number,
  low: number,
  high: number,
  signBit: number,
  little: boolean,
): void {
  const raw = view.getUint16(at, little);
  const x = raw - ((raw & signBit) << 1);
  view.setUint16(at, Math.min(Math.max(x + delta, low), high), little);
}

/**
 * The loop. The changed bands are always the first `changed` of each pixel (alpha, when it stays, is the last
 * band), so unchanged samples are never read or written, and they all clamp at the same high. One loop per
 * changed-band count keeps each loop body straight-line code, which V8 compiles several times faster than an
 * inner loop over bands (a top-level `sample`, not a closure, so every call shares its optimised code).
 */
function brightenView(view: DataView, checked: CheckedParams): void {
  const { bands, deltas, low } = checked;
  const little = !checked.bigEndian;
  const changed = checked.alpha || (bands !== 2 && bands !== 4) ? bands : bands - 1;
  const high = checked.max;
  const stride = 2 * bands;
  const end = view.byteLength;
  const [d0, d1 = 0, d2 = 0, d3 = 0] = deltas;
  const sb = checked.signed ? 0x8000 : 0;
  switch (changed) {
    case 1:
      for (let at = 0; at < end; at += stride) sample(view, at, d0, low, high, sb, little);
      break;
    case 2:
      for (let at = 0; at < end; at += stride) {
        sample(view, at, d0, low, high, sb, little);
        sample(view, at + 2, d1, low, high, sb, little);
      }
      break;
    case 3:
      for (let at = 0; at < end; at += stride) {
        sample(view, at, d0, low, high, sb, little);
        sample(view, at + 2, d1, low, high, sb, little);
        sample(view, at + 4, d2, low, high, sb, little);
      }
      break;
    default:
      for (let at = 0; at < end; at += stride) {
        sample(view, at, d0, low, high, sb, little);
        sample(view, at + 2, d1, low, high, sb, little);
        sample(view, at + 4, d2, low, high, sb, little);
        sample(view, at + 6, d3, low, high, sb, little);
      }
  }
}

/**
 * Brightens [byteOffset, byteOffset + byteLength) of buffer with plain JavaScript.
 * @param buffer the bytes (ArrayBuffer or SharedArrayBuffer)
 * @param byteOffset first byte, any offset
 * @param byteLength a multiple of 2 × bands
 * @param params delta, sample type, layout
 * @throws {RawbrightError} see {@link Kernel.brighten}
 */
function brighten(
  buffer: ArrayBuffer,
  byteOffset: number,
  byteLength: number,
  params: Parameters<Kernel['brighten']>[3],
): void {
  const checked = checkBrightenArgs(buffer, byteOffset, byteLength, params);
  if (checked.unchanged || byteLength === 0) return;
  brightenView(new DataView(buffer, byteOffset, byteLength), checked);
}

/**
 * Creates the JavaScript reference kernel.
 * @returns a kernel named `'js'`; it works on any ArrayBuffer
 */
export function createJsKernel(): TableKernel {
  return Object.freeze({
    name: 'js' as const,
    brighten,
    applyTables: (buffer, byteOffset, byteLength, tables, bigEndian) =>
      applyTables(new DataView(buffer, byteOffset, byteLength), tables, bigEndian),
  } satisfies TableKernel);
}
