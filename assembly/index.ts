// rawbright brighten kernels (AssemblyScript -> WebAssembly).
//
// Data layout and byte order: a pixel is `bands` 16-bit samples (1..4), band 0 first; with 2 and 4 bands the
// last band is alpha. Each sample is little-endian (low byte first) unless `bigEndian`, then it is
// byte-swapped on load and store. WebAssembly memory is little-endian, so `load<u16>` and the i16x8 lanes read
// little-endian samples directly: in a 16-byte vector loaded at `ptr + 16k`, lane j holds sample 8k + j of
// the range, whose band is (8k + j) % bands. Lanes count from the start of the range, not from an aligned
// address, so any start address works (wasm loads and stores may be unaligned).
//
// Semantics: every changed sample x of band b becomes min(max(x + delta[b], lo), hi) computed exactly, where
// [lo, hi] is [0, max] for unsigned samples and [-32768, 32767] for signed ones. The changed samples are every
// band's except alpha's, unless `alpha`; unchanged samples keep their bytes.
//
// Memory: these kernels never allocate (runtime "stub", nothing calls it) and have no static data, so the
// module writes nothing into the memory when it is instantiated. JavaScript owns the imported memory;
// everything from heapBase() up is free for the host (its arena included).
//
// The callers (src/kernels/wasm.ts) validate arguments: bands is 1..4, byteLength a multiple of 2 * bands,
// [ptr, ptr + byteLength) lies inside the memory, each delta is within -65535..65535, max within 1..65535.

/** Where this module's own data ends (nothing below is used either). The host keeps its arena above it. */
export function heapBase(): usize {
  return __heap_base;
}

// ---- Per-band parameters ----------------------------------------------------------------------------------

// One of four per-band values, by band (the values live in locals: the module has no memory of its own).
@inline
function pick(band: i32, v0: i32, v1: i32, v2: i32, v3: i32): i32 {
  return band == 0 ? v0 : band == 1 ? v1 : band == 2 ? v2 : v3;
}

// Whether band b changes: every band but alpha (the last of 2 and 4), and alpha too when asked.
@inline
function changes(band: i32, bands: i32, alpha: bool): bool {
  return alpha || !((bands == 2 || bands == 4) && band == bands - 1);
}

// The part of a delta (-65535..65535) that one saturating i16 add can carry: d clamped to i16. Applied three
// times to what is left (see split), any delta is exact.
@inline
function part(d: i32): i32 {
  return d > 0 ? min(d, 32767) : max(d, -32768);
}

// ---- The SIMD kernel --------------------------------------------------------------------------------------

// A vector whose lane j holds the value of the band of sample 8 * phase + j: the lane pattern of the vector
// `phase` vectors from the start of the range. It repeats every lcm(bands, 8) samples: one vector for bands 1,
// 2 and 4 (all phases equal), three for bands 3.
@inline
function laneVector(phase: i32, bands: i32, v0: i32, v1: i32, v2: i32, v3: i32): v128 {
  const first = phase * 8;
  let v = i16x8.splat(0);
  v = i16x8.replace_lane(v, 0, <i16>pick((first + 0) % bands, v0, v1, v2, v3));
  v = i16x8.replace_lane(v, 1, <i16>pick((first + 1) % bands, v0, v1, v2, v3));
  v = i16x8.replace_lane(v, 2, <i16>pick((first + 2) % bands, v0, v1, v2, v3));
  v = i16x8.replace_lane(v, 3, <i16>pick((first + 3) % bands, v0, v1, v2, v3));
  v = i16x8.replace_lane(v, 4, <i16>pick((first + 4) % bands, v0, v1, v2, v3));
  v = i16x8.replace_lane(v, 5, <i16>pick((first + 5) % bands, v0, v1, v2, v3));
  v = i16x8.replace_lane(v, 6, <i16>pick((first + 6) % bands, v0, v1, v2, v3));
  v = i16x8.replace_lane(v, 7, <i16>pick((first + 7) % bands, v0, v1, v2, v3));
  return v;
}

// How each lane changes, chosen once per call. Lanes of unchanged bands get the identity (add 0, min 65535).
const ADD_U: i32 = 0; // uint16, every delta >= 0, max 65535: add_sat_u(x, a)
const SUB_U: i32 = 1; // uint16, every delta <= 0, max 65535: sub_sat_u(x, a) with a = |delta|
const CLAMP_U: i32 = 2; // uint16, mixed signs or max < 65535: min_u(sub_sat_u(add_sat_u(x, a), b), c)
const ADD_S: i32 = 3; // int16, every delta within i16: add_sat_s(x, a)
const ADD_S3: i32 = 4; // int16, some |delta| beyond i16: three same-sign saturating adds per lane, a + b + c

// Swaps the two bytes of every 16-bit lane (big-endian samples to lane order and back). A swizzle with a
// constant index vector, because V8 turns it into one pshufb; the equivalent i8x16.shuffle became four
// instructions (copy, two shifts, or) per vector and made big-endian 0.7x little-endian.
@inline
function swapBytes(x: v128): v128 {
  return i8x16.swizzle(x, i8x16(1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14));
}

@inline
function apply(x: v128, a: v128, b: v128, c: v128, op: i32, big: bool): v128 {
  let v = big ? swapBytes(x) : x;
  if (op == ADD_U) v = i16x8.add_sat_u(v, a);
  else if (op == SUB_U) v = i16x8.sub_sat_u(v, a);
  else if (op == CLAMP_U) v = i16x8.min_u(i16x8.sub_sat_u(i16x8.add_sat_u(v, a), b), c);
  else if (op == ADD_S) v = i16x8.add_sat_s(v, a);
  else v = i16x8.add_sat_s(i16x8.add_sat_s(i16x8.add_sat_s(v, a), b), c);
  return big ? swapBytes(v) : v;
}

// The vector loop: 96 bytes (six vectors, two turns of the three lane phases) per iteration, then single
// vectors rotating through the phases. Returns where it stopped (< 16 bytes before end, at a whole vector
// count from ptr); the caller finishes the tail sample by sample. Tests `end - p >= n` rather than
// `p + n <= end` so it cannot wrap for ranges ending near the top of memory.
@inline
function vectorLoop(
  ptr: usize, end: usize, op: i32, big: bool,
  a0: v128, a1: v128, a2: v128, b0: v128, b1: v128, b2: v128, c0: v128, c1: v128, c2: v128,
): usize {
  let p = ptr;
  while (end - p >= 96) {
    const x0 = v128.load(p, 0, 1);
    const x1 = v128.load(p, 16, 1);
    const x2 = v128.load(p, 32, 1);
    const x3 = v128.load(p, 48, 1);
    const x4 = v128.load(p, 64, 1);
    const x5 = v128.load(p, 80, 1);
    v128.store(p, apply(x0, a0, b0, c0, op, big), 0, 1);
    v128.store(p, apply(x1, a1, b1, c1, op, big), 16, 1);
    v128.store(p, apply(x2, a2, b2, c2, op, big), 32, 1);
    v128.store(p, apply(x3, a0, b0, c0, op, big), 48, 1);
    v128.store(p, apply(x4, a1, b1, c1, op, big), 64, 1);
    v128.store(p, apply(x5, a2, b2, c2, op, big), 80, 1);
    p += 96;
  }
  let ta = a0, tb = b0, tc = c0;
  while (end - p >= 16) {
    v128.store(p, apply(v128.load(p, 0, 1), a0, b0, c0, op, big), 0, 1);
    ta = a0; a0 = a1; a1 = a2; a2 = ta;
    tb = b0; b0 = b1; b1 = b2; b2 = tb;
    tc = c0; c0 = c1; c1 = c2; c2 = tc;
    p += 16;
  }
  return p;
}

// One loop per operation and byte order, each a separate function with its constants folded in: the hot loop
// never tests op or byte order. (A single loop inlined with the op as a constant was merged back by the
// optimiser, binaryen code folding, into one loop with a run-time switch inside.) They are exported only so
// that binaryen does not inline them (it inlines every function with one caller): inlined, all ten landed in
// brightenSimd, whose size made V8 spill the loop's registers; on data in cache that cost ~25%. The host
// (src/kernels/wasm.ts) never calls them.
export function loopAddU(p: usize, e: usize, a0: v128, a1: v128, a2: v128, b0: v128, b1: v128, b2: v128, c0: v128, c1: v128, c2: v128): usize {
  return vectorLoop(p, e, ADD_U, false, a0, a1, a2, b0, b1, b2, c0, c1, c2);
}
export function loopSubU(p: usize, e: usize, a0: v128, a1: v128, a2: v128, b0: v128, b1: v128, b2: v128, c0: v128, c1: v128, c2: v128): usize {
  return vectorLoop(p, e, SUB_U, false, a0, a1, a2, b0, b1, b2, c0, c1, c2);
}
export function loopClampU(p: usize, e: usize, a0: v128, a1: v128, a2: v128, b0: v128, b1: v128, b2: v128, c0: v128, c1: v128, c2: v128): usize {
  return vectorLoop(p, e, CLAMP_U, false, a0, a1, a2, b0, b1, b2, c0, c1, c2);
}
export function loopAddS(p: usize, e: usize, a0: v128, a1: v128, a2: v128, b0: v128, b1: v128, b2: v128, c0: v128, c1: v128, c2: v128): usize {
  return vectorLoop(p, e, ADD_S, false, a0, a1, a2, b0, b1, b2, c0, c1, c2);
}
export function loopAddS3(p: usize, e: usize, a0: v128, a1: v128, a2: v128, b0: v128, b1: v128, b2: v128, c0: v128, c1: v128, c2: v128): usize {
  return vectorLoop(p, e, ADD_S3, false, a0, a1, a2, b0, b1, b2, c0, c1, c2);
}
export function loopAddUBig(p: usize, e: usize, a0: v128, a1: v128, a2: v128, b0: v128, b1: v128, b2: v128, c0: v128, c1: v128, c2: v128): usize {
  return vectorLoop(p, e, ADD_U, true, a0, a1, a2, b0, b1, b2, c0, c1, c2);
}
export function loopSubUBig(p: usize, e: usize, a0: v128, a1: v128, a2: v128, b0: v128, b1: v128, b2: v128, c0: v128, c1: v128, c2: v128): usize {
  return vectorLoop(p, e, SUB_U, true, a0, a1, a2, b0, b1, b2, c0, c1, c2);
}
export function loopClampUBig(p: usize, e: usize, a0: v128, a1: v128, a2: v128, b0: v128, b1: v128, b2: v128, c0: v128, c1: v128, c2: v128): usize {
  return vectorLoop(p, e, CLAMP_U, true, a0, a1, a2, b0, b1, b2, c0, c1, c2);
}
export function loopAddSBig(p: usize, e: usize, a0: v128, a1: v128, a2: v128, b0: v128, b1: v128, b2: v128, c0: v128, c1: v128, c2: v128): usize {
  return vectorLoop(p, e, ADD_S, true, a0, a1, a2, b0, b1, b2, c0, c1, c2);
}
export function loopAddS3Big(p: usize, e: usize, a0: v128, a1: v128, a2: v128, b0: v128, b1: v128, b2: v128, c0: v128, c1: v128, c2: v128): usize {
  return vectorLoop(p, e, ADD_S3, true, a0, a1, a2, b0, b1, b2, c0, c1, c2);
}

// ---- Scalar pieces (the scalar kernel, and the SIMD kernel's last < 16 bytes) ------------------------------

// One sample at p: read in its byte order, signed or not (signBit 0x8000 makes a raw value with its top bit
// set negative: raw - 65536), the exact sum clamped, and the low 16 bits written back in the same order.
@inline
function sampleAt(p: usize, d: i32, lo: i32, hi: i32, signBit: i32, big: bool): void {
  let raw = <i32>load<u16>(p, 0, 1);
  if (big) raw = <i32>bswap<u16>(<u16>raw);
  const y = min(max(raw - ((raw & signBit) << 1) + d, lo), hi);
  store<u16>(p, big ? bswap<u16>(<u16>y) : <u16>y, 0, 1);
}

// Samples [p, end) one by one, band by band, starting at band `band` (the tail after the vectors).
function tail(
  p: usize, end: usize, band: i32, bands: i32,
  d0: i32, d1: i32, d2: i32, d3: i32, h0: i32, h1: i32, h2: i32, h3: i32, lo: i32, signBit: i32, big: bool,
): void {
  while (p != end) {
    const d = pick(band, d0, d1, d2, d3);
    const h = pick(band, h0, h1, h2, h3);
    if (big) sampleAt(p, d, lo, h, signBit, true);
    else sampleAt(p, d, lo, h, signBit, false);
    p += 2;
    band = band + 1 == bands ? 0 : band + 1;
  }
}

// The scalar loop: whole pixels `stride` bytes apart, the first `n` samples of each changed (alpha, when it
// stays, is the last band, so the changed bands are always a prefix).
@inline
function pixelLoop(
  p: usize, end: usize, stride: usize, n: i32, big: bool,
  d0: i32, d1: i32, d2: i32, d3: i32, lo: i32, hi: i32, signBit: i32,
): void {
  while (p != end) {
    sampleAt(p, d0, lo, hi, signBit, big);
    if (n > 1) sampleAt(p + 2, d1, lo, hi, signBit, big);
    if (n > 2) sampleAt(p + 4, d2, lo, hi, signBit, big);
    if (n > 3) sampleAt(p + 6, d3, lo, hi, signBit, big);
    p += stride;
  }
}

// One scalar loop per changed-band count and byte order, for the same reason as the vector loops.
function pixels1(p: usize, e: usize, s: usize, d0: i32, d1: i32, d2: i32, d3: i32, lo: i32, hi: i32, sb: i32): void {
  pixelLoop(p, e, s, 1, false, d0, d1, d2, d3, lo, hi, sb);
}
function pixels2(p: usize, e: usize, s: usize, d0: i32, d1: i32, d2: i32, d3: i32, lo: i32, hi: i32, sb: i32): void {
  pixelLoop(p, e, s, 2, false, d0, d1, d2, d3, lo, hi, sb);
}
function pixels3(p: usize, e: usize, s: usize, d0: i32, d1: i32, d2: i32, d3: i32, lo: i32, hi: i32, sb: i32): void {
  pixelLoop(p, e, s, 3, false, d0, d1, d2, d3, lo, hi, sb);
}
function pixels4(p: usize, e: usize, s: usize, d0: i32, d1: i32, d2: i32, d3: i32, lo: i32, hi: i32, sb: i32): void {
  pixelLoop(p, e, s, 4, false, d0, d1, d2, d3, lo, hi, sb);
}
function pixels1Big(p: usize, e: usize, s: usize, d0: i32, d1: i32, d2: i32, d3: i32, lo: i32, hi: i32, sb: i32): void {
  pixelLoop(p, e, s, 1, true, d0, d1, d2, d3, lo, hi, sb);
}
function pixels2Big(p: usize, e: usize, s: usize, d0: i32, d1: i32, d2: i32, d3: i32, lo: i32, hi: i32, sb: i32): void {
  pixelLoop(p, e, s, 2, true, d0, d1, d2, d3, lo, hi, sb);
}
function pixels3Big(p: usize, e: usize, s: usize, d0: i32, d1: i32, d2: i32, d3: i32, lo: i32, hi: i32, sb: i32): void {
  pixelLoop(p, e, s, 3, true, d0, d1, d2, d3, lo, hi, sb);
}
function pixels4Big(p: usize, e: usize, s: usize, d0: i32, d1: i32, d2: i32, d3: i32, lo: i32, hi: i32, sb: i32): void {
  pixelLoop(p, e, s, 4, true, d0, d1, d2, d3, lo, hi, sb);
}

// ---- The exported kernels ---------------------------------------------------------------------------------

// The SIMD kernel's plan for one set of parameters (prepareSimd): which vector loop, its lane vectors, and
// what the scalar tail needs. Module globals so the journaled driver (brightenJournaled) can run the same loop
// chunk by chunk without redoing the setup (about 40 lane replacements) for every chunk.
const LOOP_ADD_U: i32 = 0, LOOP_SUB_U: i32 = 1, LOOP_CLAMP_U: i32 = 2, LOOP_ADD_S: i32 = 3, LOOP_ADD_S3: i32 = 4;
let planLoop: i32 = 0;
let planBig: bool = false;
let planA0: v128 = i64x2(0, 0), planA1: v128 = i64x2(0, 0), planA2: v128 = i64x2(0, 0);
let planB0: v128 = i64x2(0, 0), planB1: v128 = i64x2(0, 0), planB2: v128 = i64x2(0, 0);
let planC0: v128 = i64x2(0, 0), planC1: v128 = i64x2(0, 0), planC2: v128 = i64x2(0, 0);
let planBands: i32 = 1;
let planD0: i32 = 0, planD1: i32 = 0, planD2: i32 = 0, planD3: i32 = 0;
let planH0: i32 = 0, planH1: i32 = 0, planH2: i32 = 0, planH3: i32 = 0;
let planLo: i32 = 0, planSignBit: i32 = 0;

// Sets the plan for these parameters; false when they change nothing (every delta 0, no lower max).
function prepareSimd(
  bands: i32, delta0: i32, delta1: i32, delta2: i32, delta3: i32, signed: bool, alpha: bool, bigEndian: bool,
  maxValue: i32,
): bool {
  // Per band: the delta (0 for an unchanged band) and the largest result (the type's own for unchanged ones).
  const typeMax = signed ? 32767 : 65535;
  const high = signed ? 32767 : maxValue;
  const c0 = changes(0, bands, alpha), c1 = changes(1, bands, alpha);
  const c2 = changes(2, bands, alpha), c3 = changes(3, bands, alpha);
  const d0 = c0 ? delta0 : 0, d1 = c1 ? delta1 : 0, d2 = c2 ? delta2 : 0, d3 = c3 ? delta3 : 0;
  const h0 = c0 ? high : typeMax, h1 = c1 ? high : typeMax, h2 = c2 ? high : typeMax, h3 = c3 ? high : typeMax;
  if (high == typeMax && d0 == 0 && d1 == 0 && d2 == 0 && d3 == 0) return false;
  planBands = bands; planBig = bigEndian;
  planD0 = d0; planD1 = d1; planD2 = d2; planD3 = d3;
  planH0 = h0; planH1 = h1; planH2 = h2; planH3 = h3;
  planLo = signed ? -32768 : 0;
  planSignBit = signed ? 0x8000 : 0;
  if (!signed) {
    const anyUp = d0 > 0 || d1 > 0 || d2 > 0 || d3 > 0;
    const anyDown = d0 < 0 || d1 < 0 || d2 < 0 || d3 < 0;
    // Up and down amounts per lane (one of them 0), each fits an unsigned lane: |delta| <= 65535.
    const u0 = max(d0, 0), u1 = max(d1, 0), u2 = max(d2, 0), u3 = max(d3, 0);
    const n0 = max(-d0, 0), n1 = max(-d1, 0), n2 = max(-d2, 0), n3 = max(-d3, 0);
    const up0 = laneVector(0, bands, u0, u1, u2, u3), up1 = laneVector(1, bands, u0, u1, u2, u3);
    const up2 = laneVector(2, bands, u0, u1, u2, u3);
    const dn0 = laneVector(0, bands, n0, n1, n2, n3), dn1 = laneVector(1, bands, n0, n1, n2, n3);
    const dn2 = laneVector(2, bands, n0, n1, n2, n3);
    if (high == 65535 && !anyDown) {
      planLoop = LOOP_ADD_U;
      planA0 = up0; planA1 = up1; planA2 = up2;
    } else if (high == 65535 && !anyUp) {
      planLoop = LOOP_SUB_U;
      planA0 = dn0; planA1 = dn1; planA2 = dn2;
    } else {
      planLoop = LOOP_CLAMP_U;
      planA0 = up0; planA1 = up1; planA2 = up2;
      planB0 = dn0; planB1 = dn1; planB2 = dn2;
      planC0 = laneVector(0, bands, h0, h1, h2, h3); planC1 = laneVector(1, bands, h0, h1, h2, h3);
      planC2 = laneVector(2, bands, h0, h1, h2, h3);
    }
  } else {
    // Split each delta into a + b + c, all of its sign and each within i16. Saturating adds of one sign
    // compose exactly: once a lane saturates, further same-sign adds keep it there, which is also where the
    // exact sum clamps. |delta| <= 65535 needs at most three: 65535 = 32767 + 32767 + 1.
    const a0 = part(d0), a1 = part(d1), a2 = part(d2), a3 = part(d3);
    const b0 = part(d0 - a0), b1 = part(d1 - a1), b2 = part(d2 - a2), b3 = part(d3 - a3);
    const x0 = d0 - a0 - b0, x1 = d1 - a1 - b1, x2 = d2 - a2 - b2, x3 = d3 - a3 - b3;
    planA0 = laneVector(0, bands, a0, a1, a2, a3); planA1 = laneVector(1, bands, a0, a1, a2, a3);
    planA2 = laneVector(2, bands, a0, a1, a2, a3);
    if (b0 == 0 && b1 == 0 && b2 == 0 && b3 == 0) {
      planLoop = LOOP_ADD_S;
    } else {
      planLoop = LOOP_ADD_S3;
      planB0 = laneVector(0, bands, b0, b1, b2, b3); planB1 = laneVector(1, bands, b0, b1, b2, b3);
      planB2 = laneVector(2, bands, b0, b1, b2, b3);
      planC0 = laneVector(0, bands, x0, x1, x2, x3); planC1 = laneVector(1, bands, x0, x1, x2, x3);
      planC2 = laneVector(2, bands, x0, x1, x2, x3);
    }
  }
  return true;
}

// Runs the planned loop over [ptr, end), a range that starts on band 0, then its last < 16 bytes.
function runSimd(ptr: usize, end: usize): void {
  const a0 = planA0, a1 = planA1, a2 = planA2;
  let p: usize;
  if (planLoop == LOOP_ADD_U) {
    p = planBig ? loopAddUBig(ptr, end, a0, a1, a2, a0, a1, a2, a0, a1, a2) : loopAddU(ptr, end, a0, a1, a2, a0, a1, a2, a0, a1, a2);
  } else if (planLoop == LOOP_SUB_U) {
    p = planBig ? loopSubUBig(ptr, end, a0, a1, a2, a0, a1, a2, a0, a1, a2) : loopSubU(ptr, end, a0, a1, a2, a0, a1, a2, a0, a1, a2);
  } else if (planLoop == LOOP_CLAMP_U) {
    p = planBig
      ? loopClampUBig(ptr, end, a0, a1, a2, planB0, planB1, planB2, planC0, planC1, planC2)
      : loopClampU(ptr, end, a0, a1, a2, planB0, planB1, planB2, planC0, planC1, planC2);
  } else if (planLoop == LOOP_ADD_S) {
    p = planBig ? loopAddSBig(ptr, end, a0, a1, a2, a0, a1, a2, a0, a1, a2) : loopAddS(ptr, end, a0, a1, a2, a0, a1, a2, a0, a1, a2);
  } else {
    p = planBig
      ? loopAddS3Big(ptr, end, a0, a1, a2, planB0, planB1, planB2, planC0, planC1, planC2)
      : loopAddS3(ptr, end, a0, a1, a2, planB0, planB1, planB2, planC0, planC1, planC2);
  }
  if (p == end) return;
  // The last < 16 bytes: p is a whole number of vectors (8 samples each) from ptr.
  const band = <i32>(((p - ptr) >> 1) % <usize>planBands);
  tail(p, end, band, planBands, planD0, planD1, planD2, planD3, planH0, planH1, planH2, planH3, planLo, planSignBit, planBig);
}

/**
 * SIMD kernel: brightens [ptr, ptr + byteLength) in place.
 * @param ptr first byte (any address), the start of a pixel
 * @param byteLength a multiple of 2 * bands
 * @param bands samples per pixel, 1..4
 * @param delta0 the delta of band 0 (-65535..65535); delta1..3 likewise (unused for bands that do not exist)
 * @param signed samples are int16 (else uint16)
 * @param alpha change the alpha band too (bands 2 and 4; ignored otherwise)
 * @param bigEndian samples are big-endian (else little-endian)
 * @param maxValue uint16: the largest result, 1..65535 (ignored for int16)
 */
export function brightenSimd(
  ptr: usize, byteLength: usize, bands: i32, delta0: i32, delta1: i32, delta2: i32, delta3: i32,
  signed: bool, alpha: bool, bigEndian: bool, maxValue: i32,
): void {
  if (byteLength == 0) return;
  if (!prepareSimd(bands, delta0, delta1, delta2, delta3, signed, alpha, bigEndian, maxValue)) return;
  runSimd(ptr, ptr + byteLength);
}

/**
 * Scalar kernel (no SIMD instructions): same contract as {@link brightenSimd}.
 * The sum x + delta is computed in i32, so no splitting is needed.
 */
export function brightenScalar(
  ptr: usize, byteLength: usize, bands: i32, delta0: i32, delta1: i32, delta2: i32, delta3: i32,
  signed: bool, alpha: bool, bigEndian: bool, maxValue: i32,
): void {
  const high = signed ? 32767 : maxValue;
  const typeMax = signed ? 32767 : 65535;
  // The changed bands are a prefix of each pixel: all of them, or all but alpha.
  const n = changes(bands - 1, bands, alpha) ? bands : bands - 1;
  const d0 = delta0, d1 = n > 1 ? delta1 : 0, d2 = n > 2 ? delta2 : 0, d3 = n > 3 ? delta3 : 0;
  if (byteLength == 0 || (high == typeMax && d0 == 0 && d1 == 0 && d2 == 0 && d3 == 0)) return;
  const end = ptr + byteLength;
  const stride = <usize>(2 * bands);
  const lo = signed ? -32768 : 0;
  const sb = signed ? 0x8000 : 0;
  if (bigEndian) {
    if (n == 1) pixels1Big(ptr, end, stride, d0, d1, d2, d3, lo, high, sb);
    else if (n == 2) pixels2Big(ptr, end, stride, d0, d1, d2, d3, lo, high, sb);
    else if (n == 3) pixels3Big(ptr, end, stride, d0, d1, d2, d3, lo, high, sb);
    else pixels4Big(ptr, end, stride, d0, d1, d2, d3, lo, high, sb);
  } else {
    if (n == 1) pixels1(ptr, end, stride, d0, d1, d2, d3, lo, high, sb);
    else if (n == 2) pixels2(ptr, end, stride, d0, d1, d2, d3, lo, high, sb);
    else if (n == 3) pixels3(ptr, end, stride, d0, d1, d2, d3, lo, high, sb);
    else pixels4(ptr, end, stride, d0, d1, d2, d3, lo, high, sb);
  }
}

// ---- The adjust tables (issue 15) -------------------------------------------------------------------------

// The tables lie at fixed addresses, so every lookup is one load with the table's address as its constant
// offset (no add per sample): slot k (0..3) is 65,536 u16 at TABLES + k * 131072, the table of changed band k,
// or slot 0 alone when every changed band has the same table ("shared": one 128 KiB table instead of up to
// four keeps the lookups in the CPU's L2 cache, 4.4-4.7 GB/s on 64 MiB against 3.5-3.6 with three, measured
// per CPU second on the 2-core machine). A table is indexed by the sample's two bytes as they lie in memory,
// read little-endian (the host byte-swaps the tables of big-endian samples, index and entry alike, so one loop
// serves both byte orders, without a branch per sample). The host checks tablesAt() >= heapBase(). Below the
// tables, [CRC_TABLE, TABLES) holds the journal's CRC-32 table (see the journal section at the end).
const TABLES: usize = 2048;
const SLOT1: usize = TABLES + 131072;
const SLOT2: usize = TABLES + 262144;
const SLOT3: usize = TABLES + 393216;

/** Where the table slots start (the host writes the tables there). */
export function tablesAt(): usize {
  return TABLES;
}

// Entry `twice` / 2 of table slot `slot` (a constant once inlined, so the branches fold away).
@inline
function entry(twice: u32, slot: i32): u32 {
  if (slot == 0) return <u32>load<u16>(<usize>twice, TABLES, 2);
  if (slot == 1) return <u32>load<u16>(<usize>twice, SLOT1, 2);
  if (slot == 2) return <u32>load<u16>(<usize>twice, SLOT2, 2);
  return <u32>load<u16>(<usize>twice, SLOT3, 2);
}

// Two samples read as one u32 (first sample in the low half), each through its slot, as one u32 again:
// (w << 1) & 0x1fffe and (w >> 15) & 0x1fffe are the two samples' byte offsets into a table.
@inline
function pairOf(w: u32, slotA: i32, slotB: i32): u32 {
  return entry((w << 1) & 0x1fffe, slotA) | (entry((w >> 15) & 0x1fffe, slotB) << 16);
}

// The sample stream: every sample changes, all through slot 0 (bands 1, or every band sharing one table).
// 16 bytes per turn, as four u32 loads, eight lookups and four u32 stores (one wide load or store per two
// samples: wasm SIMD has no gather, and v128 loads with lane extraction measured slower, 3.4-3.8 GB/s against
// 4.6); all loads of a turn before its stores. Then the last < 16 bytes sample by sample. `end - p >= k`
// rather than `p + k <= end`, so it cannot wrap for ranges ending near the top of memory.
function lookupStream(p: usize, end: usize): void {
  while (end - p >= 16) {
    const a = load<u32>(p, 0, 1), b = load<u32>(p, 4, 1), c = load<u32>(p, 8, 1), d = load<u32>(p, 12, 1);
    const ya = pairOf(a, 0, 0), yb = pairOf(b, 0, 0), yc = pairOf(c, 0, 0), yd = pairOf(d, 0, 0);
    store<u32>(p, ya, 0, 1);
    store<u32>(p, yb, 4, 1);
    store<u32>(p, yc, 8, 1);
    store<u32>(p, yd, 12, 1);
    p += 16;
  }
  while (p != end) {
    store<u16>(p, <u16>entry(<u32>load<u16>(p, 0, 1) << 1, 0), 0, 1);
    p += 2;
  }
}

// One pixel at q: its first n samples (the changed bands, a prefix) through slots 0..n-1, or all through slot 0
// when `shared`: n 1 as one u16, 2 as one u32, 3 as a u32 and a u16, 4 as two u32 (alpha, when it stays, is
// never read or written). lowPart and highPart load and look up, pixelStore writes, so that a loop can do
// every load of a turn before its stores.
@inline
function lowPart(q: usize, n: i32, shared: bool): u32 {
  if (n == 1) return entry(<u32>load<u16>(q, 0, 1) << 1, 0);
  return pairOf(load<u32>(q, 0, 1), 0, shared ? 0 : 1);
}
@inline
function highPart(q: usize, n: i32, shared: bool): u32 {
  if (n == 3) return entry(<u32>load<u16>(q, 4, 1) << 1, shared ? 0 : 2);
  if (n == 4) return pairOf(load<u32>(q, 4, 1), shared ? 0 : 2, shared ? 0 : 3);
  return 0;
}
@inline
function pixelStore(q: usize, n: i32, low: u32, high: u32): void {
  if (n == 1) store<u16>(q, <u16>low, 0, 1);
  else store<u32>(q, low, 0, 1);
  if (n == 3) store<u16>(q, <u16>high, 4, 1);
  if (n == 4) store<u32>(q, high, 4, 1);
}

// Whole pixels `stride` bytes apart, two per turn (loads of both before the stores), then the last one.
@inline
function tablePixels(p: usize, end: usize, stride: usize, n: i32, shared: bool): void {
  const two = stride << 1;
  while (end - p >= two) {
    const l0 = lowPart(p, n, shared), h0 = highPart(p, n, shared);
    const l1 = lowPart(p + stride, n, shared), h1 = highPart(p + stride, n, shared);
    pixelStore(p, n, l0, h0);
    pixelStore(p + stride, n, l1, h1);
    p += two;
  }
  if (p != end) pixelStore(p, n, lowPart(p, n, shared), highPart(p, n, shared));
}

// One loop per layout the host can ask for (bands, changed bands, shared or not), each with its stride and
// slots as constants. Exported only so that binaryen keeps them apart (see loopAddU); the host never calls them.
export function lookup2a(p: usize, e: usize): void { tablePixels(p, e, 4, 1, true); } // 2 bands, alpha kept
export function lookup2(p: usize, e: usize): void { tablePixels(p, e, 4, 2, false); } // 2 bands, two tables
export function lookup3(p: usize, e: usize): void { tablePixels(p, e, 6, 3, false); } // 3 bands, three tables
export function lookup4a(p: usize, e: usize): void { tablePixels(p, e, 8, 3, true); } // 4 bands, alpha kept, shared
export function lookup4aSlots(p: usize, e: usize): void { tablePixels(p, e, 8, 3, false); } // alpha kept, three tables
export function lookup4(p: usize, e: usize): void { tablePixels(p, e, 8, 4, false); } // 4 bands, four tables

/**
 * Table kernel (both wasm kernels): every changed sample of [ptr, ptr + byteLength) becomes its band's table
 * entry, in place. Scalar loads: a 65,536-entry table is a gather, which wasm SIMD lacks.
 * @param ptr first byte (any address), the start of a pixel
 * @param byteLength a multiple of 2 * bands
 * @param bands samples per pixel, 1..4
 * @param changed how many bands change, 1..bands (all, or all but alpha)
 * @param shared every changed band has the same table, in slot 0 (else `changed` tables in slots 0..changed-1);
 *   the tables lie at {@link tablesAt} in the samples' byte order and must not overlap the range
 */
export function lookupTables(ptr: usize, byteLength: usize, bands: i32, changed: i32, shared: bool): void {
  if (byteLength == 0) return;
  const end = ptr + byteLength;
  if (changed == bands && (shared || bands == 1)) lookupStream(ptr, end);
  else if (bands == 2) {
    if (changed == 1) lookup2a(ptr, end);
    else lookup2(ptr, end);
  } else if (bands == 3) lookup3(ptr, end);
  else if (changed == 3) {
    if (shared) lookup4a(ptr, end);
    else lookup4aSlots(ptr, end);
  } else lookup4(ptr, end);
}

// ---- invert as SIMD arithmetic (wasm-simd) ----------------------------------------------------------------

// hi + lo - x, clamped, exactly: int16 (lo -32768, hi 32767) gives -1 - x = NOT x, always in range; uint16
// (lo 0, hi max) gives max - x clamped at 0 = sub_sat_u(max, x). Lanes of unchanged bands keep x (bitselect).
@inline
function invertVector(x: v128, top: v128, mask: v128, signed: bool, big: bool): v128 {
  const v = big ? swapBytes(x) : x;
  const r = signed ? v128.not(v) : i16x8.sub_sat_u(top, v);
  const out = v128.bitselect(r, v, mask);
  return big ? swapBytes(out) : out;
}

/**
 * SIMD invert: every changed sample x of [ptr, ptr + byteLength) becomes hi + lo - x (see above), in place.
 * Same arguments as {@link brightenSimd}, without deltas.
 */
export function invertSimd(
  ptr: usize, byteLength: usize, bands: i32, signed: bool, alpha: bool, bigEndian: bool, maxValue: i32,
): void {
  if (byteLength == 0) return;
  const end = ptr + byteLength;
  const m0 = changes(0, bands, alpha) ? -1 : 0, m1 = changes(1, bands, alpha) ? -1 : 0;
  const m2 = changes(2, bands, alpha) ? -1 : 0, m3 = changes(3, bands, alpha) ? -1 : 0;
  let k0 = laneVector(0, bands, m0, m1, m2, m3), k1 = laneVector(1, bands, m0, m1, m2, m3);
  let k2 = laneVector(2, bands, m0, m1, m2, m3);
  const top = i16x8.splat(<i16>maxValue);
  let p = ptr;
  if (signed) {
    if (bigEndian) {
      while (end - p >= 16) {
        v128.store(p, invertVector(v128.load(p, 0, 1), top, k0, true, true), 0, 1);
        const t = k0; k0 = k1; k1 = k2; k2 = t;
        p += 16;
      }
    } else {
      while (end - p >= 16) {
        v128.store(p, invertVector(v128.load(p, 0, 1), top, k0, true, false), 0, 1);
        const t = k0; k0 = k1; k1 = k2; k2 = t;
        p += 16;
      }
    }
  } else if (bigEndian) {
    while (end - p >= 16) {
      v128.store(p, invertVector(v128.load(p, 0, 1), top, k0, false, true), 0, 1);
      const t = k0; k0 = k1; k1 = k2; k2 = t;
      p += 16;
    }
  } else {
    while (end - p >= 16) {
      v128.store(p, invertVector(v128.load(p, 0, 1), top, k0, false, false), 0, 1);
      const t = k0; k0 = k1; k1 = k2; k2 = t;
      p += 16;
    }
  }
  // The last < 16 bytes, sample by sample from the band the vectors stopped at.
  let band = <i32>(((p - ptr) >> 1) % <usize>bands);
  while (p != end) {
    if (changes(band, bands, alpha)) {
      let raw = <i32>load<u16>(p, 0, 1);
      if (bigEndian) raw = <i32>bswap<u16>(<u16>raw);
      const y = signed ? ~raw : max(maxValue - raw, 0);
      store<u16>(p, bigEndian ? bswap<u16>(<u16>y) : <u16>y, 0, 1);
    }
    p += 2;
    band = band + 1 == bands ? 0 : band + 1;
  }
}

// ---- Linear chains as exact f64 SIMD arithmetic (wasm-simd) -----------------------------------------------

// A chain of add, gain, levels and invert (no gamma) computed per sample in f64 with exactly the IEEE
// operations of the float64 reference (src/kernels/ops.ts, applyChain), in the same order, so the bytes equal
// the tables' bytes:
//   add N     v + N
//   gain F    v * F
//   levels    ((v - B) * span) / D + lo, with span = hi - lo and D = W - B computed in f64 by the host
//   invert    S - v, with S = hi + lo (exact: both are small integers)
// then after every op the clamp min(max(v, lo), hi). The clamp uses f64x2.pmax / pmin (one maxpd / minpd on
// x64; f64x2.max / min are several instructions each, for NaN and signed-zero rules): pmax(v, lo) is
// `v < lo ? lo : v`, so a NaN v stays NaN as with Math.max, and only the sign of a zero can differ, which no
// later op and no rounding turns into a different integer. After the last op v + 1.5 * 2^52 rounds v to an
// integer, ties to even (the default IEEE rounding, as numpy.rint and f64x2.nearest), and leaves it in the low
// 32 bits of the f64's bits: one add instead of nearest + trunc_sat. The low 32 bits of each pair are gathered
// (i32x4.shuffle) and narrowed to 16 bits (narrow_i32x4_u for uint16, _s for int16: the values are in range,
// so the saturation never acts). No NaN can arise: the host sends levels whose W - B overflows to the tables,
// and every other intermediate is finite or ±Inf, which the clamp ends.
//
// The program (built by src/kernels/linear.ts) lies in wasm memory, 16-byte aligned; per op a 16-byte header
// (i32 code at +0 with flags 0x100 / 0x200 where the clamp's low / high side cannot act, i32 bytes to the next
// op at +4, f64 span at +8 for levels) and then its per-band constants,
// each a pattern of 48 f64: entry s is the constant of sample s's band (s counted from the start of the range),
// so the 8 samples of the k-th vector read entries (8k mod 24) .. (8k mod 24) + 7 (24 is a multiple of every
// band count; 48 entries leave room for the native kernel's wider blocks).
const LIN_ADD: i32 = 0;
const LIN_GAIN: i32 = 1;
const LIN_LEVELS: i32 = 2;
const LIN_INVERT: i32 = 3;
const PATTERN_BYTES: usize = 48 * 8;
// 1.5 * 2^52: v + ROUNDER is an integer with the same low 32 bits as rint(v), for |v| < 2^31.
const ROUNDER: f64 = 6755399441055744.0;

// Eight samples of one vector through the program: x in lane order (already byte-swapped), `rot` the byte
// offset of its first sample in each 48-entry pattern (0, 64 or 128). Returns the new samples (in lane order;
// unchanged bands keep x's lanes, by `mask`).
@inline
function linearVector(
  x: v128, prog: usize, nops: i32, rot: usize, signed: bool, lo: v128, hi: v128, sum: v128, mask: v128,
): v128 {
  const w0 = signed ? i32x4.extend_low_i16x8_s(x) : i32x4.extend_low_i16x8_u(x);
  const w1 = signed ? i32x4.extend_high_i16x8_s(x) : i32x4.extend_high_i16x8_u(x);
  // Every value fits i32 as it is (zero- or sign-extended), so the signed conversion serves both types.
  let a0 = f64x2.convert_low_i32x4_s(w0);
  let a1 = f64x2.convert_low_i32x4_s(i32x4.shuffle(w0, w0, 2, 3, 2, 3));
  let a2 = f64x2.convert_low_i32x4_s(w1);
  let a3 = f64x2.convert_low_i32x4_s(i32x4.shuffle(w1, w1, 2, 3, 2, 3));
  let q = prog;
  for (let k = 0; k < nops; k++) {
    const word = load<i32>(q);
    const code = word & 0xff;
    const c = q + 16 + rot;
    if (code == LIN_ADD) {
      a0 = f64x2.add(a0, v128.load(c, 0));
      a1 = f64x2.add(a1, v128.load(c, 16));
      a2 = f64x2.add(a2, v128.load(c, 32));
      a3 = f64x2.add(a3, v128.load(c, 48));
    } else if (code == LIN_GAIN) {
      a0 = f64x2.mul(a0, v128.load(c, 0));
      a1 = f64x2.mul(a1, v128.load(c, 16));
      a2 = f64x2.mul(a2, v128.load(c, 32));
      a3 = f64x2.mul(a3, v128.load(c, 48));
    } else if (code == LIN_LEVELS) {
      const span = f64x2.splat(load<f64>(q, 8));
      const d = c + PATTERN_BYTES;
      a0 = f64x2.add(f64x2.div(f64x2.mul(f64x2.sub(a0, v128.load(c, 0)), span), v128.load(d, 0)), lo);
      a1 = f64x2.add(f64x2.div(f64x2.mul(f64x2.sub(a1, v128.load(c, 16)), span), v128.load(d, 16)), lo);
      a2 = f64x2.add(f64x2.div(f64x2.mul(f64x2.sub(a2, v128.load(c, 32)), span), v128.load(d, 32)), lo);
      a3 = f64x2.add(f64x2.div(f64x2.mul(f64x2.sub(a3, v128.load(c, 48)), span), v128.load(d, 48)), lo);
    } else {
      a0 = f64x2.sub(sum, a0);
      a1 = f64x2.sub(sum, a1);
      a2 = f64x2.sub(sum, a2);
      a3 = f64x2.sub(sum, a3);
    }
    // The host leaves out a clamp side that cannot act for any value (SKIP_LOW, SKIP_HIGH: exact).
    if (!(word & 0x100)) {
      a0 = f64x2.pmax(a0, lo);
      a1 = f64x2.pmax(a1, lo);
      a2 = f64x2.pmax(a2, lo);
      a3 = f64x2.pmax(a3, lo);
    }
    if (!(word & 0x200)) {
      a0 = f64x2.pmin(a0, hi);
      a1 = f64x2.pmin(a1, hi);
      a2 = f64x2.pmin(a2, hi);
      a3 = f64x2.pmin(a3, hi);
    }
    q += <usize>load<i32>(q, 4);
  }
  const r = f64x2.splat(ROUNDER);
  a0 = f64x2.add(a0, r);
  a1 = f64x2.add(a1, r);
  a2 = f64x2.add(a2, r);
  a3 = f64x2.add(a3, r);
  const i0 = i32x4.shuffle(a0, a1, 0, 2, 4, 6);
  const i1 = i32x4.shuffle(a2, a3, 0, 2, 4, 6);
  const y = signed ? i16x8.narrow_i32x4_s(i0, i1) : i16x8.narrow_i32x4_u(i0, i1);
  return v128.bitselect(y, x, mask);
}

@inline
function linearLoop(
  ptr: usize, end: usize, prog: usize, nops: i32, scratch: usize, signed: bool, big: bool,
  lo: f64, hi: f64, mask: v128,
): void {
  const vlo = f64x2.splat(lo), vhi = f64x2.splat(hi), sum = f64x2.splat(hi + lo);
  let p = ptr;
  let rot: usize = 0;
  while (end - p >= 16) {
    const x = v128.load(p, 0, 1);
    const y = linearVector(big ? swapBytes(x) : x, prog, nops, rot, signed, vlo, vhi, sum, mask);
    v128.store(p, big ? swapBytes(y) : y, 0, 1);
    rot = rot == 128 ? 0 : rot + 64;
    p += 16;
  }
  // The last < 16 bytes: through the same vector code on a 16-byte scratch copy (the lanes past the end compute
  // on stale bytes and are not copied back), so the tail is exactly the vectors' arithmetic.
  const left = end - p;
  if (left == 0) return;
  for (let i: usize = 0; i < left; i++) store<u8>(scratch + i, load<u8>(p + i));
  const x = v128.load(scratch);
  const y = linearVector(big ? swapBytes(x) : x, prog, nops, rot, signed, vlo, vhi, sum, mask);
  v128.store(scratch, big ? swapBytes(y) : y);
  for (let i: usize = 0; i < left; i++) store<u8>(p + i, load<u8>(scratch + i));
}

// One loop per type and byte order, exported so that binaryen keeps them apart (see loopAddU).
export function linearU(p: usize, e: usize, prog: usize, n: i32, s: usize, lo: f64, hi: f64, m: v128): void {
  linearLoop(p, e, prog, n, s, false, false, lo, hi, m);
}
export function linearS(p: usize, e: usize, prog: usize, n: i32, s: usize, lo: f64, hi: f64, m: v128): void {
  linearLoop(p, e, prog, n, s, true, false, lo, hi, m);
}
export function linearUBig(p: usize, e: usize, prog: usize, n: i32, s: usize, lo: f64, hi: f64, m: v128): void {
  linearLoop(p, e, prog, n, s, false, true, lo, hi, m);
}
export function linearSBig(p: usize, e: usize, prog: usize, n: i32, s: usize, lo: f64, hi: f64, m: v128): void {
  linearLoop(p, e, prog, n, s, true, true, lo, hi, m);
}

/**
 * Linear chain kernel (wasm-simd): every changed sample of [ptr, ptr + byteLength) through the program at
 * `prog` (see above), in place.
 * @param ptr first byte (any address), the start of a pixel
 * @param byteLength a multiple of 2 * bands
 * @param bands samples per pixel, 1..4
 * @param changed how many bands change (all, or all but alpha: a prefix of the pixel)
 * @param prog the program, 16-byte aligned, `nops` ops (1..256); it must not overlap the range
 * @param scratch 16 bytes of scratch memory (16-byte aligned) outside the range and the program
 * @param signed samples are int16 (else uint16)
 * @param bigEndian samples are big-endian
 * @param lo the smallest result (0 or -32768)
 * @param hi the largest result (max for uint16, 32767 for int16)
 */
export function linearSimd(
  ptr: usize, byteLength: usize, bands: i32, changed: i32, prog: usize, nops: i32, scratch: usize,
  signed: bool, bigEndian: bool, lo: f64, hi: f64,
): void {
  if (byteLength == 0) return;
  // Lane j of a vector holds a sample of band j % bands (bands 1, 2 and 4 divide 8; bands 3 has no alpha, so
  // every lane changes and the pattern does not matter).
  let mask = i16x8.splat(0);
  mask = i16x8.replace_lane(mask, 0, 0 % bands < changed ? -1 : 0);
  mask = i16x8.replace_lane(mask, 1, 1 % bands < changed ? -1 : 0);
  mask = i16x8.replace_lane(mask, 2, 2 % bands < changed ? -1 : 0);
  mask = i16x8.replace_lane(mask, 3, 3 % bands < changed ? -1 : 0);
  mask = i16x8.replace_lane(mask, 4, 4 % bands < changed ? -1 : 0);
  mask = i16x8.replace_lane(mask, 5, 5 % bands < changed ? -1 : 0);
  mask = i16x8.replace_lane(mask, 6, 6 % bands < changed ? -1 : 0);
  mask = i16x8.replace_lane(mask, 7, 7 % bands < changed ? -1 : 0);
  const end = ptr + byteLength;
  if (signed) {
    if (bigEndian) linearSBig(ptr, end, prog, nops, scratch, lo, hi, mask);
    else linearS(ptr, end, prog, nops, scratch, lo, hi, mask);
  } else if (bigEndian) linearUBig(ptr, end, prog, nops, scratch, lo, hi, mask);
  else linearU(ptr, end, prog, nops, scratch, lo, hi, mask);
}

// ---- The journaled run (src/brighten/journal.ts, check "blocks") -------------------------------------------
//
// An in-place run with an undo journal must be able to put back, after a kill at any instant, every byte it
// changed of the chunk in hand. Saving a chunk to the ring and then changing it costs a second pass over it;
// done from JavaScript per 1 MiB chunk (larger than this CPU's 512 KiB L2) that pass read the chunk back from
// L3, and even on chunks in L1 the wasm kernel's own pass did not hide under the memory stream: ~0.8x a run
// without a journal. Here the kernel saves and changes in one pass, block by block (BLOCK bytes):
//   1. the block's original bytes go to the ring (at the same offset in the ring as in the chunk), and the
//      running sums of the chunk's ring bytes are updated (Fletcher's two sums per u32 lane, as laneSums);
//   2. the sums of blocks [0, c] go to sums buffer (c + 1) % 2, then the block count word says c + 1 blocks
//      of chunk `number` are saved (the count of the other buffer stays valid until then);
//   3. the block is changed.
// Stores reach the page cache in program order, so after a kill the count word names blocks whose ring bytes
// are there and summed, and no byte past them has changed: a resume puts back exactly those blocks, after
// checking their sums. Per chunk, before its blocks: the count word (number, 0), then the slot record "chunk
// `number` in flight"; after them: the progress word (the sum of the chunk's first SAMPLE_BYTES as changed),
// then the record "done". The slot (a header page, then the ring) is the journal's own pages, mapped into this
// memory by the host. Every word is computed exactly as journal.ts computes it.

const CRC_TABLE: usize = 1024;
let crcReady = false;

// The 256-entry CRC-32 table (the zlib polynomial), written below the adjust tables on first use.
function crcTable(): void {
  for (let n: u32 = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    store<u32>(CRC_TABLE + (<usize>n << 2), c);
  }
  crcReady = true;
}

@inline
function crcByte(c: u32, b: u32): u32 {
  return load<u32>(CRC_TABLE + (<usize>((c ^ b) & 0xff) << 2)) ^ (c >>> 8);
}

// The CRC-32 update over one little-endian 32-bit word (crc32OfWords in src/file/checksum.ts).
@inline
function crcWord(c: u32, w: u32): u32 {
  c = crcByte(c, w);
  c = crcByte(c, w >>> 8);
  c = crcByte(c, w >>> 16);
  return crcByte(c, w >>> 24);
}

// Murmur3's finaliser: folds the sums into a checksum.
@inline
function fmix(x: u32): u32 {
  x ^= x >>> 16;
  x *= 0x85ebca6b;
  x ^= x >>> 13;
  x *= 0xc2b2ae35;
  return x ^ (x >>> 16);
}

// The last r (< 16) bytes at p as one vector, zero-padded (little-endian words).
function tailVector(p: usize, r: usize): v128 {
  let w0: u32 = 0, w1: u32 = 0, w2: u32 = 0, w3: u32 = 0;
  for (let j: usize = 0; j < r; j++) {
    const b = <u32>load<u8>(p + j) << (<u32>(j & 3) << 3);
    const lane = j >> 2;
    if (lane == 0) w0 |= b;
    else if (lane == 1) w1 |= b;
    else if (lane == 2) w2 |= b;
    else w3 |= b;
  }
  return i32x4(w0, w1, w2, w3);
}

/**
 * ringSum: a checksum of n bytes at p, the journal's progress sample (src/file/checksum.ts, ringSum, computes
 * the same): their lane sums (see laneSums there), then the byte count and the eight sums folded by a mixer.
 */
export function ringSum(p: usize, n: usize): u32 {
  let s1 = i32x4.splat(0), s2 = i32x4.splat(0);
  const end = p + n;
  let q = p;
  while (end - q >= 16) {
    s1 = i32x4.add(s1, v128.load(q, 0, 1));
    s2 = i32x4.add(s2, s1);
    q += 16;
  }
  if (q != end) {
    s1 = i32x4.add(s1, tailVector(q, end - q));
    s2 = i32x4.add(s2, s1);
  }
  let h = <u32>n;
  h = fmix(h ^ i32x4.extract_lane(s1, 0)); h = fmix(h ^ i32x4.extract_lane(s2, 0));
  h = fmix(h ^ i32x4.extract_lane(s1, 1)); h = fmix(h ^ i32x4.extract_lane(s2, 1));
  h = fmix(h ^ i32x4.extract_lane(s1, 2)); h = fmix(h ^ i32x4.extract_lane(s2, 2));
  h = fmix(h ^ i32x4.extract_lane(s1, 3)); h = fmix(h ^ i32x4.extract_lane(s2, 3));
  return h;
}

// Slot layout (journal.ts): the record word at 8, the progress word at 24, the block count word at 32, the two
// sums buffers (s1 then s2, 32 bytes) at 64 and 96, the ring one page in. A state is 2·chunk + 1 while the
// chunk is in flight, 2·chunk once done.
const RECORD_AT: usize = 8;
const PROGRESS_AT: usize = 24;
const COUNT_AT: usize = 32;
const SUMS_AT: usize = 64;
const RING_AT: usize = 4096;
/** The unit of saving: 96 bytes, six vectors, two turns of the lane phases; whole pixels of every layout. */
const BLOCK: usize = 96;
/** Bytes of a chunk's start its progress word samples. */
const SAMPLE_BYTES: usize = 256;

// The record "chunk `number` in flight": the state, and above it CRC-32 of (state, 0).
@inline
function flightRecord(number: u32): u64 {
  const state = 2 * number + 1;
  return (<u64>~crcWord(crcWord(0xffffffff, state), 0) << 32) | <u64>state;
}

// The record "chunk `number` done": the state, and above it CRC-32 of the state.
@inline
function doneRecord(number: u32): u64 {
  const state = 2 * number;
  return (<u64>~crcWord(0xffffffff, state) << 32) | <u64>state;
}

// The progress word of chunk `number` with sample `sample`: CRC-32("PROG", number, sample) above the sample.
@inline
function progressWord(number: u32, sample: u32): u64 {
  return (<u64>~crcWord(crcWord(crcWord(0xffffffff, 0x50524f47), number), sample) << 32) | <u64>sample;
}

// Steps 2 of a block: the sums of `count` saved blocks, then the count itself.
@inline
function commitBlocks(slot: usize, number: u32, count: u32, s1: v128, s2: v128): void {
  const buffer = slot + SUMS_AT + (<usize>(count & 1) << 5);
  v128.store(buffer, s1, 0, 1);
  v128.store(buffer, s2, 16, 1);
  store<u64>(slot + COUNT_AT, (<u64>number << 32) | <u64>count);
}

// The running sums while a chunk is saved (its blocks' loops carry them from block to block).
let sumS1: v128 = i64x2(0, 0);
let sumS2: v128 = i64x2(0, 0);

// Step 1 of a block of n bytes (any even count up to BLOCK): to the ring, summed into sumS1/sumS2.
function saveBlock(p: usize, r: usize, n: usize): void {
  let s1 = sumS1, s2 = sumS2;
  let q: usize = 0;
  while (n - q >= 16) {
    const x = v128.load(p + q, 0, 1);
    v128.store(r + q, x, 0, 1);
    s1 = i32x4.add(s1, x);
    s2 = i32x4.add(s2, s1);
    q += 16;
  }
  if (q != n) {
    memory.copy(r + q, p + q, n - q);
    s1 = i32x4.add(s1, tailVector(p + q, n - q));
    s2 = i32x4.add(s2, s1);
  }
  sumS1 = s1;
  sumS2 = s2;
}

// The whole blocks of one chunk, [p, end) with end - p a multiple of BLOCK, saved and changed block by block
// (the three steps above) with the vector loop's op: one function per op and byte order, as loopAddU and the
// others, and for the same reason. The running sums come and go through sumS1/sumS2.
@inline
function blockLoop(
  ptr: usize, end: usize, ring: usize, slot: usize, number: u32, count: u32, op: i32, big: bool,
  a0: v128, a1: v128, a2: v128, b0: v128, b1: v128, b2: v128, c0: v128, c1: v128, c2: v128,
): void {
  let s1 = sumS1, s2 = sumS2;
  let p = ptr, r = ring;
  while (p != end) {
    const x0 = v128.load(p, 0, 1);
    const x1 = v128.load(p, 16, 1);
    const x2 = v128.load(p, 32, 1);
    const x3 = v128.load(p, 48, 1);
    const x4 = v128.load(p, 64, 1);
    const x5 = v128.load(p, 80, 1);
    v128.store(r, x0, 0, 1);
    v128.store(r, x1, 16, 1);
    v128.store(r, x2, 32, 1);
    v128.store(r, x3, 48, 1);
    v128.store(r, x4, 64, 1);
    v128.store(r, x5, 80, 1);
    s1 = i32x4.add(s1, x0); s2 = i32x4.add(s2, s1);
    s1 = i32x4.add(s1, x1); s2 = i32x4.add(s2, s1);
    s1 = i32x4.add(s1, x2); s2 = i32x4.add(s2, s1);
    s1 = i32x4.add(s1, x3); s2 = i32x4.add(s2, s1);
    s1 = i32x4.add(s1, x4); s2 = i32x4.add(s2, s1);
    s1 = i32x4.add(s1, x5); s2 = i32x4.add(s2, s1);
    count++;
    commitBlocks(slot, number, count, s1, s2);
    // The block again from L1 (the loaded vectors are not kept: fewer live registers, no spills).
    v128.store(p, apply(v128.load(p, 0, 1), a0, b0, c0, op, big), 0, 1);
    v128.store(p, apply(v128.load(p, 16, 1), a1, b1, c1, op, big), 16, 1);
    v128.store(p, apply(v128.load(p, 32, 1), a2, b2, c2, op, big), 32, 1);
    v128.store(p, apply(v128.load(p, 48, 1), a0, b0, c0, op, big), 48, 1);
    v128.store(p, apply(v128.load(p, 64, 1), a1, b1, c1, op, big), 64, 1);
    v128.store(p, apply(v128.load(p, 80, 1), a2, b2, c2, op, big), 80, 1);
    p += BLOCK;
    r += BLOCK;
  }
  sumS1 = s1;
  sumS2 = s2;
}

export function blocksAddU(p: usize, e: usize, r: usize, s: usize, n: u32, k: u32, a0: v128, a1: v128, a2: v128, b0: v128, b1: v128, b2: v128, c0: v128, c1: v128, c2: v128): void {
  blockLoop(p, e, r, s, n, k, ADD_U, false, a0, a1, a2, b0, b1, b2, c0, c1, c2);
}
export function blocksSubU(p: usize, e: usize, r: usize, s: usize, n: u32, k: u32, a0: v128, a1: v128, a2: v128, b0: v128, b1: v128, b2: v128, c0: v128, c1: v128, c2: v128): void {
  blockLoop(p, e, r, s, n, k, SUB_U, false, a0, a1, a2, b0, b1, b2, c0, c1, c2);
}
export function blocksClampU(p: usize, e: usize, r: usize, s: usize, n: u32, k: u32, a0: v128, a1: v128, a2: v128, b0: v128, b1: v128, b2: v128, c0: v128, c1: v128, c2: v128): void {
  blockLoop(p, e, r, s, n, k, CLAMP_U, false, a0, a1, a2, b0, b1, b2, c0, c1, c2);
}
export function blocksAddS(p: usize, e: usize, r: usize, s: usize, n: u32, k: u32, a0: v128, a1: v128, a2: v128, b0: v128, b1: v128, b2: v128, c0: v128, c1: v128, c2: v128): void {
  blockLoop(p, e, r, s, n, k, ADD_S, false, a0, a1, a2, b0, b1, b2, c0, c1, c2);
}
export function blocksAddS3(p: usize, e: usize, r: usize, s: usize, n: u32, k: u32, a0: v128, a1: v128, a2: v128, b0: v128, b1: v128, b2: v128, c0: v128, c1: v128, c2: v128): void {
  blockLoop(p, e, r, s, n, k, ADD_S3, false, a0, a1, a2, b0, b1, b2, c0, c1, c2);
}
export function blocksAddUBig(p: usize, e: usize, r: usize, s: usize, n: u32, k: u32, a0: v128, a1: v128, a2: v128, b0: v128, b1: v128, b2: v128, c0: v128, c1: v128, c2: v128): void {
  blockLoop(p, e, r, s, n, k, ADD_U, true, a0, a1, a2, b0, b1, b2, c0, c1, c2);
}
export function blocksSubUBig(p: usize, e: usize, r: usize, s: usize, n: u32, k: u32, a0: v128, a1: v128, a2: v128, b0: v128, b1: v128, b2: v128, c0: v128, c1: v128, c2: v128): void {
  blockLoop(p, e, r, s, n, k, SUB_U, true, a0, a1, a2, b0, b1, b2, c0, c1, c2);
}
export function blocksClampUBig(p: usize, e: usize, r: usize, s: usize, n: u32, k: u32, a0: v128, a1: v128, a2: v128, b0: v128, b1: v128, b2: v128, c0: v128, c1: v128, c2: v128): void {
  blockLoop(p, e, r, s, n, k, CLAMP_U, true, a0, a1, a2, b0, b1, b2, c0, c1, c2);
}
export function blocksAddSBig(p: usize, e: usize, r: usize, s: usize, n: u32, k: u32, a0: v128, a1: v128, a2: v128, b0: v128, b1: v128, b2: v128, c0: v128, c1: v128, c2: v128): void {
  blockLoop(p, e, r, s, n, k, ADD_S, true, a0, a1, a2, b0, b1, b2, c0, c1, c2);
}
export function blocksAddS3Big(p: usize, e: usize, r: usize, s: usize, n: u32, k: u32, a0: v128, a1: v128, a2: v128, b0: v128, b1: v128, b2: v128, c0: v128, c1: v128, c2: v128): void {
  blockLoop(p, e, r, s, n, k, ADD_S3, true, a0, a1, a2, b0, b1, b2, c0, c1, c2);
}

// The planned op's block loop (prepareSimd's plan) over the whole blocks [p, e) of a chunk.
function runBlocks(p: usize, e: usize, ring: usize, slot: usize, number: u32, count: u32): void {
  const a0 = planA0, a1 = planA1, a2 = planA2, b0 = planB0, b1 = planB1, b2 = planB2;
  const c0 = planC0, c1 = planC1, c2 = planC2;
  if (planLoop == LOOP_ADD_U) {
    if (planBig) blocksAddUBig(p, e, ring, slot, number, count, a0, a1, a2, a0, a1, a2, a0, a1, a2);
    else blocksAddU(p, e, ring, slot, number, count, a0, a1, a2, a0, a1, a2, a0, a1, a2);
  } else if (planLoop == LOOP_SUB_U) {
    if (planBig) blocksSubUBig(p, e, ring, slot, number, count, a0, a1, a2, a0, a1, a2, a0, a1, a2);
    else blocksSubU(p, e, ring, slot, number, count, a0, a1, a2, a0, a1, a2, a0, a1, a2);
  } else if (planLoop == LOOP_CLAMP_U) {
    if (planBig) blocksClampUBig(p, e, ring, slot, number, count, a0, a1, a2, b0, b1, b2, c0, c1, c2);
    else blocksClampU(p, e, ring, slot, number, count, a0, a1, a2, b0, b1, b2, c0, c1, c2);
  } else if (planLoop == LOOP_ADD_S) {
    if (planBig) blocksAddSBig(p, e, ring, slot, number, count, a0, a1, a2, a0, a1, a2, a0, a1, a2);
    else blocksAddS(p, e, ring, slot, number, count, a0, a1, a2, a0, a1, a2, a0, a1, a2);
  } else {
    if (planBig) blocksAddS3Big(p, e, ring, slot, number, count, a0, a1, a2, b0, b1, b2, c0, c1, c2);
    else blocksAddS3(p, e, ring, slot, number, count, a0, a1, a2, b0, b1, b2, c0, c1, c2);
  }
}

/**
 * Brightens [ptr, ptr + byteLength) in place, as brightenSimd does, chunk by chunk under the journal protocol
 * above, recording into the slot at `slot` (its header page; the ring follows). Chunk k of the range is chunk
 * number first + k; each is `chunk` bytes (a multiple of BLOCK), the last one what is left.
 * @param budget how many protocol steps to take before stopping, as a kill would (tests); -1 for all. The
 *   steps of a chunk: its count word and record "in flight"; per block, its ring bytes, its sums and count, its
 *   change; the progress word; the record "done".
 * @returns the steps left of the budget (0 when it ran out, so the run stopped there), or -1
 */
export function brightenJournaled(
  ptr: usize, byteLength: usize, bands: i32, delta0: i32, delta1: i32, delta2: i32, delta3: i32,
  signed: bool, alpha: bool, bigEndian: bool, maxValue: i32,
  slot: usize, chunk: usize, first: u32, budget: i32,
): i32 {
  if (!crcReady) crcTable();
  const changes = prepareSimd(bands, delta0, delta1, delta2, delta3, signed, alpha, bigEndian, maxValue);
  const ring = slot + RING_AT;
  const end = ptr + byteLength;
  let number = first;
  let p = ptr;
  while (p != end) {
    const n = min(chunk, end - p);
    const whole = n - n % BLOCK;
    const blocks = <i32>((n + BLOCK - 1) / BLOCK);
    if (budget < 0 || budget >= 3 * blocks + 3) {
      // The whole chunk at once (every run: the budget is -1 there).
      store<u64>(slot + COUNT_AT, <u64>number << 32);
      store<u64>(slot + RECORD_AT, flightRecord(number));
      sumS1 = i32x4.splat(0);
      sumS2 = i32x4.splat(0);
      if (changes) runBlocks(p, p + whole, ring, slot, number, 0);
      else for (let q: usize = 0; q < whole; q += BLOCK) saveBlock(p + q, ring + q, BLOCK);
      if (whole != n) {
        // The last, shorter block: saved, counted, changed (with the scalar tail).
        saveBlock(p + whole, ring + whole, n - whole);
        commitBlocks(slot, number, <u32>blocks, sumS1, sumS2);
        if (changes) runSimd(p + whole, p + n);
      } else if (!changes) {
        commitBlocks(slot, number, <u32>blocks, sumS1, sumS2);
      }
      store<u64>(slot + PROGRESS_AT, progressWord(number, ringSum(p, min(n, SAMPLE_BYTES))));
      store<u64>(slot + RECORD_AT, doneRecord(number));
      if (budget > 0) budget -= 3 * blocks + 3;
    } else {
      // The last steps of a budget, one by one.
      if (budget-- == 0) return 0;
      store<u64>(slot + COUNT_AT, <u64>number << 32);
      store<u64>(slot + RECORD_AT, flightRecord(number));
      sumS1 = i32x4.splat(0);
      sumS2 = i32x4.splat(0);
      for (let k = 0; k < blocks; k++) {
        const q = <usize>k * BLOCK;
        const length = min(BLOCK, n - q);
        if (budget-- == 0) return 0;
        saveBlock(p + q, ring + q, length);
        if (budget-- == 0) return 0;
        commitBlocks(slot, number, <u32>(k + 1), sumS1, sumS2);
        if (budget-- == 0) return 0;
        if (changes) runSimd(p + q, p + q + length);
      }
      if (budget-- == 0) return 0;
      store<u64>(slot + PROGRESS_AT, progressWord(number, ringSum(p, min(n, SAMPLE_BYTES))));
      if (budget-- == 0) return 0;
      store<u64>(slot + RECORD_AT, doneRecord(number));
    }
    number++;
    p += n;
  }
  return budget;
}
