/**
 * The reference brighten kernel in plain TypeScript: typed arrays over the buffer, the sum computed exactly
 * in double precision and clamped. Every other kernel must produce the same bytes.
 */
import { checkBrightenArgs, type Kernel } from './types.js';

/**
 * True when the host stores 16-bit integers little-endian, as the image data is. Checked once: only then
 * can a Uint16Array/Int16Array read samples directly; otherwise every access goes through a DataView.
 */
const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// One loop per sample type and channel mode, so each stays monomorphic (one array type, no alpha test
// per pixel) and V8 keeps it tight. `samples` holds whole pixels: 4 samples each, alpha at index 3.

function brightenUint16(samples: Uint16Array, delta: number, alpha: boolean): void {
  const n = samples.length;
  if (alpha) {
    for (let i = 0; i < n; i++) {
      const v = samples[i] + delta;
      samples[i] = Math.min(Math.max(v, 0), 65535);
    }
    return;
  }
  for (let i = 0; i < n; i += 4) {
    const r = samples[i] + delta;
    const g = samples[i + 1] + delta;
    const b = samples[i + 2] + delta;
    samples[i] = Math.min(Math.max(r, 0), 65535);
    samples[i + 1] = Math.min(Math.max(g, 0), 65535);
    samples[i + 2] = Math.min(Math.max(b, 0), 65535);
  }
}

function brightenInt16(samples: Int16Array, delta: number, alpha: boolean): void {
  const n = samples.length;
  if (alpha) {
    for (let i = 0; i < n; i++) {
      const v = samples[i] + delta;
      samples[i] = Math.min(Math.max(v, -32768), 32767);
    }
    return;
  }
  for (let i = 0; i < n; i += 4) {
    const r = samples[i] + delta;
    const g = samples[i + 1] + delta;
    const b = samples[i + 2] + delta;
    samples[i] = Math.min(Math.max(r, -32768), 32767);
    samples[i + 1] = Math.min(Math.max(g, -32768), 32767);
    samples[i + 2] = Math.min(Math.max(b, -32768), 32767);
  }
}

/**
 * Odd offsets (a typed array needs an element-aligned offset) and big-endian hosts: a DataView reading
 * explicit little-endian samples.
 */
function brightenDataView(view: DataView, delta: number, signed: boolean, alpha: boolean): void {
  const lo = signed ? -32768 : 0;
  const hi = signed ? 32767 : 65535;
  const perPixel = alpha ? 8 : 6;
  const end = view.byteLength;
  for (let pixel = 0; pixel < end; pixel += 8) {
    for (let at = pixel; at < pixel + perPixel; at += 2) {
      const v = (signed ? view.getInt16(at, true) : view.getUint16(at, true)) + delta;
      // setUint16 stores the low 16 bits, so a clamped signed value is written correctly too.
      view.setUint16(at, Math.min(Math.max(v, lo), hi), true);
    }
  }
}

/**
 * Brightens [byteOffset, byteOffset + byteLength) of buffer with plain JavaScript.
 * @param buffer the bytes (ArrayBuffer or SharedArrayBuffer)
 * @param byteOffset first byte, any offset
 * @param byteLength a multiple of 8
 * @param params delta, sample type, channels
 * @throws {RawbrightError} see {@link Kernel.brighten}
 */
function brighten(
  buffer: ArrayBuffer,
  byteOffset: number,
  byteLength: number,
  params: Parameters<Kernel['brighten']>[3],
): void {
  const { delta, signed, alpha } = checkBrightenArgs(buffer, byteOffset, byteLength, params);
  if (delta === 0 || byteLength === 0) return;
  if (HOST_IS_LITTLE_ENDIAN && byteOffset % 2 === 0) {
    const count = byteLength / 2;
    if (signed) brightenInt16(new Int16Array(buffer, byteOffset, count), delta, alpha);
    else brightenUint16(new Uint16Array(buffer, byteOffset, count), delta, alpha);
  } else {
    brightenDataView(new DataView(buffer, byteOffset, byteLength), delta, signed, alpha);
  }
}

/**
 * Creates the JavaScript reference kernel.
 * @returns a kernel named `'js'`; it works on any ArrayBuffer
 */
export function createJsKernel(): Kernel {
  return Object.freeze({ name: 'js' as const, brighten });
}
