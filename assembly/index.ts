// rawbright brighten kernels (AssemblyScript -> WebAssembly).
//
// Data layout and byte order: a pixel is 8 bytes, four 16-bit samples R, G, B, A in that order, each
// sample little-endian (low byte first). WebAssembly memory is little-endian too, so `load<u16>` and
// the i16x8 lanes read samples directly: in a 16-byte vector loaded at `ptr + 16k`, lane j holds the
// sample at bytes 2j..2j+1, i.e. lanes 0-3 are pixel 0 (R, G, B, A) and lanes 4-7 are pixel 1, so the
// alpha samples are lanes 3 and 7. Lanes are counted from the start of the range, not from an aligned
// address, so any start address works (wasm loads and stores may be unaligned).
//
// Semantics: every sample x becomes min(max(x + delta, MIN), MAX) computed exactly, where
// [MIN, MAX] is [0, 65535] for unsigned samples and [-32768, 32767] for signed ones; the alpha
// sample is left alone unless `alpha` is true.
//
// Memory: these kernels never allocate (runtime "stub", nothing calls it) and have no static data,
// so the module writes nothing into the memory when it is instantiated. JavaScript owns the imported
// memory; everything from heapBase() up is free for the host (its arena included).
//
// The callers (src/kernels/wasm.ts) validate arguments: byteLength is a multiple of 8 and
// [ptr, ptr + byteLength) lies inside the memory; delta is within -65535..65535.

/** Where this module's own data ends (nothing below is used either). The host keeps its arena above it. */
export function heapBase(): usize {
  return __heap_base;
}

// One i16x8 vector with `d` in every lane, or in the colour lanes only (alpha lanes 3 and 7 get 0,
// the identity of every saturating add/subtract used here).
@inline
function laneVector(d: i32, alpha: bool): v128 {
  let v = i16x8.splat(<i16>d);
  if (!alpha) {
    v = i16x8.replace_lane(v, 3, 0);
    v = i16x8.replace_lane(v, 7, 0);
  }
  return v;
}

// The SIMD loops, one per operation: 64 bytes (4 vectors) per iteration, then single vectors, then
// one 8-byte pixel (lanes 0-3 of a vector: the same lane pattern as a full vector).
//
// They are written out rather than generated from one loop taking the operation as a constant: when
// that version was inlined, the optimiser (binaryen code folding) merged the copies back into a
// single loop with a run-time switch on the operation inside the hot loop. Each loop tests
// `end - p >= n` rather than `p + n <= end` so it cannot wrap for ranges ending near the top of memory.

/** uint16, delta > 0: one unsigned saturating add of delta. */
function loopAddU(ptr: usize, end: usize, d1: v128): void {
  let p = ptr;
  while (end - p >= 64) {
    const a = v128.load(p, 0, 1);
    const b = v128.load(p, 16, 1);
    const c = v128.load(p, 32, 1);
    const e = v128.load(p, 48, 1);
    v128.store(p, i16x8.add_sat_u(a, d1), 0, 1);
    v128.store(p, i16x8.add_sat_u(b, d1), 16, 1);
    v128.store(p, i16x8.add_sat_u(c, d1), 32, 1);
    v128.store(p, i16x8.add_sat_u(e, d1), 48, 1);
    p += 64;
  }
  while (end - p >= 16) {
    v128.store(p, i16x8.add_sat_u(v128.load(p, 0, 1), d1), 0, 1);
    p += 16;
  }
  if (end - p >= 8) v128.store64_lane(p, i16x8.add_sat_u(v128.load64_zero(p, 0, 1), d1), 0, 0, 1);
}

/** uint16, delta < 0: one unsigned saturating subtract of |delta|. */
function loopSubU(ptr: usize, end: usize, d1: v128): void {
  let p = ptr;
  while (end - p >= 64) {
    const a = v128.load(p, 0, 1);
    const b = v128.load(p, 16, 1);
    const c = v128.load(p, 32, 1);
    const e = v128.load(p, 48, 1);
    v128.store(p, i16x8.sub_sat_u(a, d1), 0, 1);
    v128.store(p, i16x8.sub_sat_u(b, d1), 16, 1);
    v128.store(p, i16x8.sub_sat_u(c, d1), 32, 1);
    v128.store(p, i16x8.sub_sat_u(e, d1), 48, 1);
    p += 64;
  }
  while (end - p >= 16) {
    v128.store(p, i16x8.sub_sat_u(v128.load(p, 0, 1), d1), 0, 1);
    p += 16;
  }
  if (end - p >= 8) v128.store64_lane(p, i16x8.sub_sat_u(v128.load64_zero(p, 0, 1), d1), 0, 0, 1);
}

/** int16, delta within -32768..32767: one signed saturating add. */
function loopAddS(ptr: usize, end: usize, d1: v128): void {
  let p = ptr;
  while (end - p >= 64) {
    const a = v128.load(p, 0, 1);
    const b = v128.load(p, 16, 1);
    const c = v128.load(p, 32, 1);
    const e = v128.load(p, 48, 1);
    v128.store(p, i16x8.add_sat_s(a, d1), 0, 1);
    v128.store(p, i16x8.add_sat_s(b, d1), 16, 1);
    v128.store(p, i16x8.add_sat_s(c, d1), 32, 1);
    v128.store(p, i16x8.add_sat_s(e, d1), 48, 1);
    p += 64;
  }
  while (end - p >= 16) {
    v128.store(p, i16x8.add_sat_s(v128.load(p, 0, 1), d1), 0, 1);
    p += 16;
  }
  if (end - p >= 8) v128.store64_lane(p, i16x8.add_sat_s(v128.load64_zero(p, 0, 1), d1), 0, 0, 1);
}

/** int16, |delta| beyond i16: three signed saturating adds of one sign (d1 + d2 + d3 = delta). */
function loopAddS3(ptr: usize, end: usize, d1: v128, d2: v128, d3: v128): void {
  let p = ptr;
  while (end - p >= 64) {
    const a = v128.load(p, 0, 1);
    const b = v128.load(p, 16, 1);
    const c = v128.load(p, 32, 1);
    const e = v128.load(p, 48, 1);
    v128.store(p, i16x8.add_sat_s(i16x8.add_sat_s(i16x8.add_sat_s(a, d1), d2), d3), 0, 1);
    v128.store(p, i16x8.add_sat_s(i16x8.add_sat_s(i16x8.add_sat_s(b, d1), d2), d3), 16, 1);
    v128.store(p, i16x8.add_sat_s(i16x8.add_sat_s(i16x8.add_sat_s(c, d1), d2), d3), 32, 1);
    v128.store(p, i16x8.add_sat_s(i16x8.add_sat_s(i16x8.add_sat_s(e, d1), d2), d3), 48, 1);
    p += 64;
  }
  while (end - p >= 16) {
    v128.store(p, i16x8.add_sat_s(i16x8.add_sat_s(i16x8.add_sat_s(v128.load(p, 0, 1), d1), d2), d3), 0, 1);
    p += 16;
  }
  if (end - p >= 8) {
    const x = v128.load64_zero(p, 0, 1);
    v128.store64_lane(p, i16x8.add_sat_s(i16x8.add_sat_s(i16x8.add_sat_s(x, d1), d2), d3), 0, 0, 1);
  }
}

/**
 * SIMD kernel: brightens [ptr, ptr + byteLength) in place.
 * @param ptr first byte (any address)
 * @param byteLength a multiple of 8
 * @param delta -65535..65535
 * @param signed samples are int16 (else uint16)
 * @param alpha brighten alpha too (else colour samples only)
 */
export function brightenSimd(ptr: usize, byteLength: usize, delta: i32, signed: bool, alpha: bool): void {
  if (delta == 0 || byteLength == 0) return;
  const end = ptr + byteLength;
  if (!signed) {
    // |delta| <= 65535 fits an unsigned lane: one saturating add or subtract is exact.
    if (delta > 0) loopAddU(ptr, end, laneVector(delta, alpha));
    else loopSubU(ptr, end, laneVector(-delta, alpha));
    return;
  }
  if (delta >= -32768 && delta <= 32767) {
    loopAddS(ptr, end, laneVector(delta, alpha));
    return;
  }
  // Split delta into d1 + d2 + d3, all of one sign and each within i16. Saturating adds of one sign
  // compose exactly: once a lane saturates, further same-sign adds keep it there, which is also
  // where the exact sum would be clamped to.
  // |delta| <= 65535 needs at most three: 65535 = 32767 + 32767 + 1, -65535 = -32768 - 32767 + 0.
  const d1 = delta > 0 ? 32767 : -32768;
  const d2 = delta > 0 ? min(delta - d1, 32767) : max(delta - d1, -32768);
  const d3 = delta - d1 - d2;
  loopAddS3(ptr, end, laneVector(d1, alpha), laneVector(d2, alpha), laneVector(d3, alpha));
}

// Exact clamp of a full-precision i32 sum.
@inline
function clamp(x: i32, lo: i32, hi: i32): i32 {
  return min(max(x, lo), hi);
}

/**
 * Scalar kernel (no SIMD instructions): same contract as {@link brightenSimd}.
 * The sum x + delta is computed in i32, so no splitting is needed.
 */
export function brightenScalar(ptr: usize, byteLength: usize, delta: i32, signed: bool, alpha: bool): void {
  if (delta == 0 || byteLength == 0) return;
  const end = ptr + byteLength;
  let p = ptr;
  if (signed) {
    if (alpha) {
      while (p != end) {
        store<i16>(p, clamp(<i32>load<i16>(p, 0, 1) + delta, -32768, 32767), 0, 1);
        store<i16>(p, clamp(<i32>load<i16>(p, 2, 1) + delta, -32768, 32767), 2, 1);
        store<i16>(p, clamp(<i32>load<i16>(p, 4, 1) + delta, -32768, 32767), 4, 1);
        store<i16>(p, clamp(<i32>load<i16>(p, 6, 1) + delta, -32768, 32767), 6, 1);
        p += 8;
      }
    } else {
      while (p != end) {
        store<i16>(p, clamp(<i32>load<i16>(p, 0, 1) + delta, -32768, 32767), 0, 1);
        store<i16>(p, clamp(<i32>load<i16>(p, 2, 1) + delta, -32768, 32767), 2, 1);
        store<i16>(p, clamp(<i32>load<i16>(p, 4, 1) + delta, -32768, 32767), 4, 1);
        p += 8;
      }
    }
  } else {
    if (alpha) {
      while (p != end) {
        store<u16>(p, clamp(<i32>load<u16>(p, 0, 1) + delta, 0, 65535), 0, 1);
        store<u16>(p, clamp(<i32>load<u16>(p, 2, 1) + delta, 0, 65535), 2, 1);
        store<u16>(p, clamp(<i32>load<u16>(p, 4, 1) + delta, 0, 65535), 4, 1);
        store<u16>(p, clamp(<i32>load<u16>(p, 6, 1) + delta, 0, 65535), 6, 1);
        p += 8;
      }
    } else {
      while (p != end) {
        store<u16>(p, clamp(<i32>load<u16>(p, 0, 1) + delta, 0, 65535), 0, 1);
        store<u16>(p, clamp(<i32>load<u16>(p, 2, 1) + delta, 0, 65535), 2, 1);
        store<u16>(p, clamp(<i32>load<u16>(p, 4, 1) + delta, 0, 65535), 4, 1);
        p += 8;
      }
    }
  }
}
