// The native brighten kernel itself: header-only, shared by the addon (native/brighten.cc) and
// the benchmark's reference program (native/bench/reference.cc), so both run the very same loops.
//
// Data layout and byte order: a pixel is `bands` 16-bit samples (1..4), band 0 first; with 2 and 4 bands the
// last is alpha. Samples are little-endian unless the plan says big-endian, then each is byte-swapped on
// load and store. On x86 (little-endian) a vector loaded from the start of the range + V·k (V = 16 or 32
// bytes) holds samples (V/2)·k + j in its 16-bit lanes j, whose band is that index mod bands. The lane
// pattern repeats every lcm(bands, V/2) samples: one vector for bands 1, 2, 4, three rotating vectors for
// bands 3. Lanes count from the start of the range, so any start address works (unaligned loads).
//
// Semantics, as in assembly/index.ts: a changed sample x of band b becomes min(max(x + delta[b], lo), hi)
// exactly, [lo, hi] being [0, max] (uint16, max 65535 unless given) or [-32768, 32767] (int16); every band
// changes except alpha, unless asked; unchanged samples keep their bytes.
//
// Paths: SSE2 (the x86-64 baseline) always; AVX2 (32-byte vectors) when the CPU has it, chosen once
// at run time with __builtin_cpu_supports (RAWBRIGHT_KERNEL_PATH=sse2 forces SSE2, for tests); a portable scalar loop elsewhere (e.g. arm64). The last few
// samples of a range (fewer than one 16-byte vector) go through the scalar loop on every path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64)
#include <immintrin.h>
#define RAWBRIGHT_X86 1
#if defined(__GNUC__) || defined(__clang__)
#define RAWBRIGHT_AVX2 1
#endif
#endif

namespace rawbright {
namespace kernel {

// How each lane changes, chosen once per call. Every path gets the same plan, so all agree by
// construction. Lanes of unchanged bands get the identity (add 0, min 65535).
enum class Op {
  kAddU,    // uint16, every delta >= 0, max 65535: unsigned saturating add of a
  kSubU,    // uint16, every delta <= 0, max 65535: unsigned saturating subtract of a = |delta|
  kClampU,  // uint16, mixed signs or max < 65535: min(subs(adds(x, a), b), c)
  kAddS,    // int16, every delta within i16: one signed saturating add of a
  kAddS3,   // int16, some |delta| beyond i16: three same-sign signed saturating adds, a + b + c = delta
};

struct Plan {
  Op op;
  int bands;  // 1..4
  bool bigEndian;
  bool isSigned;
  bool identity;  // nothing can change: skip the work
  // Per band: the vector amounts of the op (16-bit lane values).
  int32_t a[4], b[4], c[4];
  // Per band, for the scalar loop: the exact delta (0 if unchanged) and the largest result.
  int32_t delta[4], high[4];
  int32_t low;
};

// The part of a delta (-65535..65535) one saturating i16 add can carry; three parts carry any delta.
inline int32_t I16Part(int32_t d) { return d > 0 ? (d < 32767 ? d : 32767) : (d > -32768 ? d : -32768); }

// deltas: `bands` entries (the alpha entry is ignored unless alpha). max: uint16's largest result, 1..65535.
inline Plan MakePlan(const int32_t* deltas, int bands, bool isSigned, bool alpha, bool bigEndian, int32_t max) {
  Plan plan{};
  plan.bands = bands;
  plan.bigEndian = bigEndian;
  plan.isSigned = isSigned;
  const int32_t typeMax = isSigned ? 32767 : 65535;
  const int32_t high = isSigned ? 32767 : max;
  plan.low = isSigned ? -32768 : 0;
  const int alphaBand = (bands == 2 || bands == 4) ? bands - 1 : -1;
  bool anyUp = false, anyDown = false, allI16 = true;
  for (int band = 0; band < 4; ++band) {
    const bool changes = band < bands && (alpha || band != alphaBand);
    const int32_t d = changes ? deltas[band] : 0;
    plan.delta[band] = d;
    plan.high[band] = changes ? high : typeMax;
    anyUp = anyUp || d > 0;
    anyDown = anyDown || d < 0;
    if (isSigned) {
      // Same-sign saturating adds compose exactly: a lane that saturates stays saturated, which is
      // also where the exact sum clamps.
      plan.a[band] = I16Part(d);
      plan.b[band] = I16Part(d - plan.a[band]);
      plan.c[band] = d - plan.a[band] - plan.b[band];
      allI16 = allI16 && plan.b[band] == 0;
    } else {
      plan.a[band] = d > 0 ? d : 0;
      plan.b[band] = d < 0 ? -d : 0;
      plan.c[band] = plan.high[band];
    }
  }
  plan.identity = high == typeMax && !anyUp && !anyDown;
  if (isSigned) {
    plan.op = allI16 ? Op::kAddS : Op::kAddS3;
  } else if (high == 65535 && !anyDown) {
    plan.op = Op::kAddU;
  } else if (high == 65535 && !anyUp) {
    plan.op = Op::kSubU;
    for (int band = 0; band < 4; ++band) plan.a[band] = plan.b[band];
  } else {
    plan.op = Op::kClampU;
  }
  return plan;
}

// The legacy form: 4-band little-endian pixels, one delta, max 65535.
inline Plan MakePlan(int32_t delta, bool isSigned, bool alpha) {
  const int32_t deltas[4] = {delta, delta, delta, delta};
  return MakePlan(deltas, 4, isSigned, alpha, false, 65535);
}

// Samples [p, end) one at a time, starting at band `band`: the whole range on CPUs without the vector
// paths, and the last < 16 bytes after them. Exact 32-bit sums; bytes assembled explicitly so the
// host's byte order does not matter.
inline void BrightenScalar(uint8_t* p, uint8_t* end, const Plan& plan, int band) {
  const int lowByte = plan.bigEndian ? 1 : 0;
  const int highByte = 1 - lowByte;
  for (; p != end; p += 2) {
    const uint32_t raw = static_cast<uint32_t>(p[lowByte]) | (static_cast<uint32_t>(p[highByte]) << 8);
    const int32_t x = plan.isSigned ? static_cast<int32_t>(static_cast<int16_t>(raw)) : static_cast<int32_t>(raw);
    int32_t y = x + plan.delta[band];
    const int32_t high = plan.high[band];
    y = y < plan.low ? plan.low : (y > high ? high : y);
    p[lowByte] = static_cast<uint8_t>(y & 0xff);
    p[highByte] = static_cast<uint8_t>((y >> 8) & 0xff);
    band = band + 1 == plan.bands ? 0 : band + 1;
  }
}

#if RAWBRIGHT_X86

// Lane j of the vector `phase` vectors from a point whose first sample has band `startBand`.
inline int16_t LaneValue(const int32_t* perBand, const Plan& plan, int startBand, int lanes, int phase, int j) {
  return static_cast<int16_t>(perBand[(startBand + phase * lanes + j) % plan.bands]);
}

inline __m128i Lanes128(const int32_t* perBand, const Plan& plan, int startBand, int phase) {
  alignas(16) int16_t v[8];
  for (int j = 0; j < 8; ++j) v[j] = LaneValue(perBand, plan, startBand, 8, phase, j);
  return _mm_load_si128(reinterpret_cast<const __m128i*>(v));
}

// The op's three amounts for one lane phase.
struct Amounts128 {
  __m128i a, b, c;
};

inline Amounts128 Phase128(const Plan& plan, int startBand, int phase) {
  return {Lanes128(plan.a, plan, startBand, phase), Lanes128(plan.b, plan, startBand, phase),
          Lanes128(plan.c, plan, startBand, phase)};
}

// SSE2 has no byte shuffle (SSSE3) and no unsigned 16-bit min (SSE4.1): shifts, and x - subs(x, m).
inline __m128i Swap128(__m128i x) { return _mm_or_si128(_mm_slli_epi16(x, 8), _mm_srli_epi16(x, 8)); }
inline __m128i MinU128(__m128i x, __m128i m) { return _mm_sub_epi16(x, _mm_subs_epu16(x, m)); }

template <Op op, bool big>
inline __m128i Apply128(__m128i x, const Amounts128& d) {
  if constexpr (big) x = Swap128(x);
  if constexpr (op == Op::kAddU) x = _mm_adds_epu16(x, d.a);
  if constexpr (op == Op::kSubU) x = _mm_subs_epu16(x, d.a);
  if constexpr (op == Op::kClampU) x = MinU128(_mm_subs_epu16(_mm_adds_epu16(x, d.a), d.b), d.c);
  if constexpr (op == Op::kAddS) x = _mm_adds_epi16(x, d.a);
  if constexpr (op == Op::kAddS3) x = _mm_adds_epi16(_mm_adds_epi16(_mm_adds_epi16(x, d.a), d.b), d.c);
  if constexpr (big) x = Swap128(x);
  return x;
}

inline __m128i Load128(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
inline void Store128(uint8_t* p, __m128i x) { _mm_storeu_si128(reinterpret_cast<__m128i*>(p), x); }

// SSE2: 96 bytes (two turns of the three lane phases) per iteration, then single 16-byte vectors
// rotating through the phases, then the scalar loop for the last < 16 bytes. `startBand` is the band
// of the sample at p.
template <Op op, bool big>
void LoopSse2(uint8_t* p, uint8_t* end, const Plan& plan, int startBand) {
  Amounts128 d0 = Phase128(plan, startBand, 0);
  Amounts128 d1 = Phase128(plan, startBand, 1);
  Amounts128 d2 = Phase128(plan, startBand, 2);
  uint8_t* const begin = p;
  for (; end - p >= 96; p += 96) {
    __m128i x0 = Load128(p), x1 = Load128(p + 16), x2 = Load128(p + 32);
    __m128i x3 = Load128(p + 48), x4 = Load128(p + 64), x5 = Load128(p + 80);
    Store128(p, Apply128<op, big>(x0, d0));
    Store128(p + 16, Apply128<op, big>(x1, d1));
    Store128(p + 32, Apply128<op, big>(x2, d2));
    Store128(p + 48, Apply128<op, big>(x3, d0));
    Store128(p + 64, Apply128<op, big>(x4, d1));
    Store128(p + 80, Apply128<op, big>(x5, d2));
  }
  for (; end - p >= 16; p += 16) {
    Store128(p, Apply128<op, big>(Load128(p), d0));
    const Amounts128 t = d0;
    d0 = d1;
    d1 = d2;
    d2 = t;
  }
  BrightenScalar(p, end, plan, static_cast<int>((startBand + (p - begin) / 2) % plan.bands));
}

template <bool big>
inline void BrightenSse2Order(uint8_t* p, uint8_t* end, const Plan& plan, int startBand) {
  switch (plan.op) {
    case Op::kAddU: return LoopSse2<Op::kAddU, big>(p, end, plan, startBand);
    case Op::kSubU: return LoopSse2<Op::kSubU, big>(p, end, plan, startBand);
    case Op::kClampU: return LoopSse2<Op::kClampU, big>(p, end, plan, startBand);
    case Op::kAddS: return LoopSse2<Op::kAddS, big>(p, end, plan, startBand);
    case Op::kAddS3: return LoopSse2<Op::kAddS3, big>(p, end, plan, startBand);
  }
}

inline void BrightenSse2(uint8_t* p, uint8_t* end, const Plan& plan) {
  if (plan.bigEndian) return BrightenSse2Order<true>(p, end, plan, 0);
  BrightenSse2Order<false>(p, end, plan, 0);
}

#if RAWBRIGHT_AVX2

inline bool ForcedSse2() {
  const char* path = std::getenv("RAWBRIGHT_KERNEL_PATH");
  return path != nullptr && std::strcmp(path, "sse2") == 0;
}

#define RAWBRIGHT_TARGET_AVX2 __attribute__((target("avx2")))

struct Amounts256 {
  __m256i a, b, c;
};

RAWBRIGHT_TARGET_AVX2 inline __m256i Lanes256(const int32_t* perBand, const Plan& plan, int phase) {
  alignas(32) int16_t v[16];
  for (int j = 0; j < 16; ++j) v[j] = LaneValue(perBand, plan, 0, 16, phase, j);
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(v));
}

RAWBRIGHT_TARGET_AVX2 inline Amounts256 Phase256(const Plan& plan, int phase) {
  return {Lanes256(plan.a, plan, phase), Lanes256(plan.b, plan, phase), Lanes256(plan.c, plan, phase)};
}

template <Op op, bool big>
RAWBRIGHT_TARGET_AVX2 inline __m256i Apply256(__m256i x, const Amounts256& d, __m256i swap) {
  if constexpr (big) x = _mm256_shuffle_epi8(x, swap);
  if constexpr (op == Op::kAddU) x = _mm256_adds_epu16(x, d.a);
  if constexpr (op == Op::kSubU) x = _mm256_subs_epu16(x, d.a);
  if constexpr (op == Op::kClampU) x = _mm256_min_epu16(_mm256_subs_epu16(_mm256_adds_epu16(x, d.a), d.b), d.c);
  if constexpr (op == Op::kAddS) x = _mm256_adds_epi16(x, d.a);
  if constexpr (op == Op::kAddS3) {
    x = _mm256_adds_epi16(_mm256_adds_epi16(_mm256_adds_epi16(x, d.a), d.b), d.c);
  }
  if constexpr (big) x = _mm256_shuffle_epi8(x, swap);
  return x;
}

RAWBRIGHT_TARGET_AVX2 inline __m256i Load256(const uint8_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}
RAWBRIGHT_TARGET_AVX2 inline void Store256(uint8_t* p, __m256i x) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), x);
}

// AVX2: 192 bytes (two turns of the three lane phases) per iteration, then single 32-byte vectors
// rotating through the phases, then the SSE2 loop (VEX-encoded here) for the last < 32 bytes.
template <Op op, bool big>
RAWBRIGHT_TARGET_AVX2 void LoopAvx2(uint8_t* p, uint8_t* end, const Plan& plan) {
  Amounts256 d0 = Phase256(plan, 0);
  Amounts256 d1 = Phase256(plan, 1);
  Amounts256 d2 = Phase256(plan, 2);
  // Byte pairs swapped within each 128-bit half (vpshufb indexes within halves).
  const __m256i swap = _mm256_setr_epi8(1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14,  //
                                        1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
  uint8_t* const begin = p;
  for (; end - p >= 192; p += 192) {
    __m256i x0 = Load256(p), x1 = Load256(p + 32), x2 = Load256(p + 64);
    __m256i x3 = Load256(p + 96), x4 = Load256(p + 128), x5 = Load256(p + 160);
    Store256(p, Apply256<op, big>(x0, d0, swap));
    Store256(p + 32, Apply256<op, big>(x1, d1, swap));
    Store256(p + 64, Apply256<op, big>(x2, d2, swap));
    Store256(p + 96, Apply256<op, big>(x3, d0, swap));
    Store256(p + 128, Apply256<op, big>(x4, d1, swap));
    Store256(p + 160, Apply256<op, big>(x5, d2, swap));
  }
  for (; end - p >= 32; p += 32) {
    Store256(p, Apply256<op, big>(Load256(p), d0, swap));
    const Amounts256 t = d0;
    d0 = d1;
    d1 = d2;
    d2 = t;
  }
  LoopSse2<op, big>(p, end, plan, static_cast<int>(((p - begin) / 2) % plan.bands));
}

template <bool big>
RAWBRIGHT_TARGET_AVX2 inline void BrightenAvx2Order(uint8_t* p, uint8_t* end, const Plan& plan) {
  switch (plan.op) {
    case Op::kAddU: return LoopAvx2<Op::kAddU, big>(p, end, plan);
    case Op::kSubU: return LoopAvx2<Op::kSubU, big>(p, end, plan);
    case Op::kClampU: return LoopAvx2<Op::kClampU, big>(p, end, plan);
    case Op::kAddS: return LoopAvx2<Op::kAddS, big>(p, end, plan);
    case Op::kAddS3: return LoopAvx2<Op::kAddS3, big>(p, end, plan);
  }
}

RAWBRIGHT_TARGET_AVX2 inline void BrightenAvx2(uint8_t* p, uint8_t* end, const Plan& plan) {
  if (plan.bigEndian) return BrightenAvx2Order<true>(p, end, plan);
  BrightenAvx2Order<false>(p, end, plan);
}

// RAWBRIGHT_KERNEL_PATH=sse2 in the environment turns the AVX2 path off, so tests on AVX2 machines can
// run the SSE2 loops too (they are the only path on x86-64 CPUs without AVX2).
inline bool HasAvx2() {
  static const bool has = __builtin_cpu_supports("avx2") && !ForcedSse2();
  return has;
}

#endif  // RAWBRIGHT_AVX2
#endif  // RAWBRIGHT_X86

// The name of the path this CPU runs, for benchmarks and bug reports.
inline const char* KernelPath() {
#if RAWBRIGHT_AVX2
  if (HasAvx2()) return "avx2";
#endif
#if RAWBRIGHT_X86
  return "sse2";
#else
  return "scalar";
#endif
}

// Brightens [p, p + length): length a multiple of 2 * plan.bands, p the start of a pixel.
inline void BrightenRange(uint8_t* p, size_t length, const Plan& plan) {
  if (plan.identity || length == 0) return;
  uint8_t* end = p + length;
#if RAWBRIGHT_AVX2
  if (HasAvx2()) return BrightenAvx2(p, end, plan);
#endif
#if RAWBRIGHT_X86
  BrightenSse2(p, end, plan);
#else
  BrightenScalar(p, end, plan, 0);
#endif
}

// The adjust tables (issue 15): every changed sample of [p, p + length) becomes its band's entry in a table of
// 65,536 uint16, indexed by the sample's two bytes as they lie in memory read in the host's order (the caller
// byte-swaps the tables of samples in the other order, index and entry alike). tables holds `changed` tables
// back to back, changed = bands, or bands - 1 when alpha stays (the changed bands are a prefix), or only one when
// `shared` (every changed band has the same table: one 128 KiB table stays in the L2 cache where three or four
// do not). A 65,536-entry table is a gather, so this is scalar, with one wide load and store per pixel (or per
// four samples) and lookups from its lanes, as the wasm loop (assembly/index.ts, lookupTables). AVX2's
// vpgatherdd was tried and measured slower on the Zen 3 build machine (4.1 against 8.1 GB/s in cache, 3.4
// against 4.0 on 64 MiB, 4-band uint16 with alpha kept), so there is no AVX2 table loop.
inline uint32_t LookupPair(uint32_t w, const uint16_t* a, const uint16_t* b) {
  return static_cast<uint32_t>(a[w & 0xffff]) | (static_cast<uint32_t>(b[w >> 16]) << 16);
}

// Whole pixels of N changed samples (1..4), `stride` bytes apart: N 1 as a uint16, 2 as a uint32, 3 as a uint32
// and a uint16, 4 as two uint32 (alpha, when it stays, is never read or written).
template <int N>
inline void LookupPixels(uint8_t* p, size_t length, size_t stride, const uint16_t* const t[4]) {
  uint8_t* const end = p + length;
  for (; p != end; p += stride) {
    if constexpr (N == 1) {
      uint16_t x;
      std::memcpy(&x, p, 2);
      const uint16_t y = t[0][x];
      std::memcpy(p, &y, 2);
    } else {
      uint32_t w;
      std::memcpy(&w, p, 4);
      const uint32_t y = LookupPair(w, t[0], t[1]);
      std::memcpy(p, &y, 4);
      if constexpr (N == 3) {
        uint16_t x;
        std::memcpy(&x, p + 4, 2);
        const uint16_t z = t[2][x];
        std::memcpy(p + 4, &z, 2);
      }
      if constexpr (N == 4) {
        std::memcpy(&w, p + 4, 4);
        const uint32_t z = LookupPair(w, t[2], t[3]);
        std::memcpy(p + 4, &z, 4);
      }
    }
  }
}

// Every sample through one table: 16 bytes per turn as two uint64, then sample by sample.
inline void LookupStream(uint8_t* p, size_t length, const uint16_t* t) {
  uint8_t* const end = p + length;
  auto quad = [t](uint64_t w) {
    return static_cast<uint64_t>(t[w & 0xffff]) | (static_cast<uint64_t>(t[(w >> 16) & 0xffff]) << 16) |
           (static_cast<uint64_t>(t[(w >> 32) & 0xffff]) << 32) | (static_cast<uint64_t>(t[w >> 48]) << 48);
  };
  for (; end - p >= 16; p += 16) {
    uint64_t a, b;
    std::memcpy(&a, p, 8);
    std::memcpy(&b, p + 8, 8);
    const uint64_t ya = quad(a), yb = quad(b);
    std::memcpy(p, &ya, 8);
    std::memcpy(p + 8, &yb, 8);
  }
  for (; p != end; p += 2) {
    uint16_t x;
    std::memcpy(&x, p, 2);
    const uint16_t y = t[x];
    std::memcpy(p, &y, 2);
  }
}

// length: a multiple of 2 * bands; bands 1..4; changed 1..bands.
inline void LookupRange(uint8_t* p, size_t length, int bands, int changed, bool shared, const uint16_t* tables) {
  if (changed == bands && (shared || bands == 1)) return LookupStream(p, length, tables);
  const size_t stride = static_cast<size_t>(2 * bands);
  const uint16_t* t[4];
  for (int band = 0; band < 4; ++band) t[band] = shared || band >= changed ? tables : tables + band * 65536;
  switch (changed) {
    case 1: LookupPixels<1>(p, length, stride, t); break;
    case 2: LookupPixels<2>(p, length, stride, t); break;
    case 3: LookupPixels<3>(p, length, stride, t); break;
    default: LookupPixels<4>(p, length, stride, t); break;
  }
}

// Linear adjust chains (add, gain, levels, invert; no gamma) as exact f64 arithmetic, the same program and the
// same IEEE operations, in the same order, as the wasm-simd kernel (assembly/index.ts, linearSimd) and the float64
// reference (src/kernels/ops.ts, applyChain): add v + N, gain v * F, levels ((v - B) * span) / D + lo, invert
// (hi + lo) - v, each followed by the clamp, then rounding half to even. The program's layout is described in
// src/kernels/linear.ts: per op a 16-byte header (int32 code with flags for clamp sides that cannot act, int32 bytes to the next op, double span) and
// patterns of kPattern doubles, entry s holding the constant of sample s's band.
//
// SSE2, 128-bit vectors of two doubles, the very instructions V8 emits for the wasm (binding.gyp has no -march,
// and SSE2 is what the addon may assume), and AVX2, four doubles a vector, where the CPU has it (chosen as for
// brighten, HasAvx2; RAWBRIGHT_KERNEL_PATH=sse2 forces SSE2). The SSE2
// clamp is maxpd(lo, v) then minpd(hi, v): a NaN v stays NaN (maxpd returns its second operand when either is
// NaN), as Math.max; zeros' signs never change an integer result. Rounding: v + 1.5 * 2^52 - 32768 (uint16) or
// + 1.5 * 2^52 (int16) rounds ties to even under the default rounding mode and leaves the result, biased by
// -32768 for uint16, in the low 32 bits; those are packed to 16 bits with signed saturation (exact, every value
// is in range) and the uint16 bias undone by flipping the top bit. No NaN can arise: the host (src/kernels/
// linear.ts) sends levels whose W - B overflows to the tables, and every other intermediate is finite or ±Inf,
// which the clamp ends. The last < 16 bytes go through the same SSE2 vector code on a copy.
constexpr int kLinearAdd = 0, kLinearGain = 1, kLinearLevels = 2, kLinearInvert = 3;
constexpr size_t kPattern = 48;

struct LinearPlan {
  const uint8_t* program;
  int ops;
  bool isSigned, bigEndian;
  double lo, hi;
  uint16_t mask[8];  // 0xffff in the lanes of changed bands (lane j holds band j % bands)
};

inline int32_t ProgramInt(const uint8_t* at) {
  int32_t v;
  std::memcpy(&v, at, 4);
  return v;
}
inline double ProgramDouble(const uint8_t* at) {
  double v;
  std::memcpy(&v, at, 8);
  return v;
}

#if RAWBRIGHT_X86

inline __m128d LoadPair(const uint8_t* at) { return _mm_loadu_pd(reinterpret_cast<const double*>(at)); }

// Eight samples (lane order) through the program; `rot` is the byte offset of the first in each pattern.
inline __m128i LinearVector128(__m128i x, const LinearPlan& plan, size_t rot, __m128i mask) {
  const __m128d lo = _mm_set1_pd(plan.lo), hi = _mm_set1_pd(plan.hi), sum = _mm_set1_pd(plan.hi + plan.lo);
  __m128i w0, w1;
  if (plan.isSigned) {
    w0 = _mm_srai_epi32(_mm_unpacklo_epi16(x, x), 16);
    w1 = _mm_srai_epi32(_mm_unpackhi_epi16(x, x), 16);
  } else {
    w0 = _mm_unpacklo_epi16(x, _mm_setzero_si128());
    w1 = _mm_unpackhi_epi16(x, _mm_setzero_si128());
  }
  __m128d a0 = _mm_cvtepi32_pd(w0), a1 = _mm_cvtepi32_pd(_mm_shuffle_epi32(w0, 0xee));
  __m128d a2 = _mm_cvtepi32_pd(w1), a3 = _mm_cvtepi32_pd(_mm_shuffle_epi32(w1, 0xee));
  const uint8_t* q = plan.program;
  for (int k = 0; k < plan.ops; ++k) {
    const int32_t word = ProgramInt(q);
    const int32_t code = word & 0xff;
    const uint8_t* c = q + 16 + rot;
    if (code == kLinearAdd) {
      a0 = _mm_add_pd(a0, LoadPair(c));
      a1 = _mm_add_pd(a1, LoadPair(c + 16));
      a2 = _mm_add_pd(a2, LoadPair(c + 32));
      a3 = _mm_add_pd(a3, LoadPair(c + 48));
    } else if (code == kLinearGain) {
      a0 = _mm_mul_pd(a0, LoadPair(c));
      a1 = _mm_mul_pd(a1, LoadPair(c + 16));
      a2 = _mm_mul_pd(a2, LoadPair(c + 32));
      a3 = _mm_mul_pd(a3, LoadPair(c + 48));
    } else if (code == kLinearLevels) {
      const __m128d span = _mm_set1_pd(ProgramDouble(q + 8));
      const uint8_t* d = c + kPattern * 8;
      a0 = _mm_add_pd(_mm_div_pd(_mm_mul_pd(_mm_sub_pd(a0, LoadPair(c)), span), LoadPair(d)), lo);
      a1 = _mm_add_pd(_mm_div_pd(_mm_mul_pd(_mm_sub_pd(a1, LoadPair(c + 16)), span), LoadPair(d + 16)), lo);
      a2 = _mm_add_pd(_mm_div_pd(_mm_mul_pd(_mm_sub_pd(a2, LoadPair(c + 32)), span), LoadPair(d + 32)), lo);
      a3 = _mm_add_pd(_mm_div_pd(_mm_mul_pd(_mm_sub_pd(a3, LoadPair(c + 48)), span), LoadPair(d + 48)), lo);
    } else {
      a0 = _mm_sub_pd(sum, a0);
      a1 = _mm_sub_pd(sum, a1);
      a2 = _mm_sub_pd(sum, a2);
      a3 = _mm_sub_pd(sum, a3);
    }
    // The host leaves out a clamp side that cannot act for any value (flags 0x100, 0x200: exact).
    if (!(word & 0x100)) {
      a0 = _mm_max_pd(lo, a0);
      a1 = _mm_max_pd(lo, a1);
      a2 = _mm_max_pd(lo, a2);
      a3 = _mm_max_pd(lo, a3);
    }
    if (!(word & 0x200)) {
      a0 = _mm_min_pd(hi, a0);
      a1 = _mm_min_pd(hi, a1);
      a2 = _mm_min_pd(hi, a2);
      a3 = _mm_min_pd(hi, a3);
    }
    q += ProgramInt(q + 4);
  }
  const __m128d r = _mm_set1_pd(plan.isSigned ? 6755399441055744.0 : 6755399441055744.0 - 32768.0);
  const __m128i i0 = _mm_castps_si128(_mm_shuffle_ps(_mm_castpd_ps(_mm_add_pd(a0, r)), _mm_castpd_ps(_mm_add_pd(a1, r)),
                                             _MM_SHUFFLE(2, 0, 2, 0)));
  const __m128i i1 = _mm_castps_si128(_mm_shuffle_ps(_mm_castpd_ps(_mm_add_pd(a2, r)), _mm_castpd_ps(_mm_add_pd(a3, r)),
                                             _MM_SHUFFLE(2, 0, 2, 0)));
  __m128i y = _mm_packs_epi32(i0, i1);
  if (!plan.isSigned) y = _mm_xor_si128(y, _mm_set1_epi16(static_cast<int16_t>(0x8000)));
  // bitselect: y in changed lanes, x elsewhere.
  return _mm_or_si128(_mm_and_si128(mask, y), _mm_andnot_si128(mask, x));
}

// From `rot` (the byte offset of p's first sample in each pattern: 0, 64 or 128), 16 bytes at a time, then the
// last < 16 bytes through the same vector code on a copy.
template <bool big>
inline void LinearLoop128(uint8_t* p, uint8_t* end, const LinearPlan& plan, size_t rot) {
  const __m128i mask = _mm_loadu_si128(reinterpret_cast<const __m128i*>(plan.mask));
  for (; end - p >= 16; p += 16) {
    __m128i x = Load128(p);
    if constexpr (big) x = Swap128(x);
    __m128i y = LinearVector128(x, plan, rot, mask);
    if constexpr (big) y = Swap128(y);
    Store128(p, y);
    rot = rot == 128 ? 0 : rot + 64;
  }
  const size_t left = static_cast<size_t>(end - p);
  if (left == 0) return;
  alignas(16) uint8_t scratch[16] = {};
  std::memcpy(scratch, p, left);
  __m128i x = Load128(scratch);
  if constexpr (big) x = Swap128(x);
  __m128i y = LinearVector128(x, plan, rot, mask);
  if constexpr (big) y = Swap128(y);
  Store128(scratch, y);
  std::memcpy(p, scratch, left);
}

#if RAWBRIGHT_AVX2

// AVX2: sixteen samples (one 32-byte vector) as four vectors of four doubles, the same IEEE operations in the
// same order as LinearVector128 (vaddpd, vmulpd, vsubpd, vdivpd round exactly as their SSE2 forms; vmaxpd and
// vminpd pick their operands by the same rule), so every result is the same double. Rounding: vcvtpd2dq under
// the default rounding mode (to nearest, ties to even) is that same rint, for every clamped value; the 32-bit
// results are packed to 16 bits with saturation that never acts (packusdw for uint16, packssdw for int16).
// `rot` is the byte offset of the first sample in each pattern: 0, 128 or 256 (16 samples, 128 bytes, a step).
RAWBRIGHT_TARGET_AVX2 inline __m256d LoadQuad(const uint8_t* at) {
  return _mm256_loadu_pd(reinterpret_cast<const double*>(at));
}

template <bool isSigned>
RAWBRIGHT_TARGET_AVX2 inline __m256i LinearVector256(__m256i x, const LinearPlan& plan, size_t rot, __m256i mask) {
  const __m256d lo = _mm256_set1_pd(plan.lo), hi = _mm256_set1_pd(plan.hi);
  const __m256d sum = _mm256_set1_pd(plan.hi + plan.lo);
  const __m128i xl = _mm256_castsi256_si128(x), xh = _mm256_extracti128_si256(x, 1);
  const __m256i w0 = isSigned ? _mm256_cvtepi16_epi32(xl) : _mm256_cvtepu16_epi32(xl);
  const __m256i w1 = isSigned ? _mm256_cvtepi16_epi32(xh) : _mm256_cvtepu16_epi32(xh);
  __m256d a0 = _mm256_cvtepi32_pd(_mm256_castsi256_si128(w0)), a1 = _mm256_cvtepi32_pd(_mm256_extracti128_si256(w0, 1));
  __m256d a2 = _mm256_cvtepi32_pd(_mm256_castsi256_si128(w1)), a3 = _mm256_cvtepi32_pd(_mm256_extracti128_si256(w1, 1));
  const uint8_t* q = plan.program;
  for (int k = 0; k < plan.ops; ++k) {
    const int32_t word = ProgramInt(q);
    const int32_t code = word & 0xff;
    const uint8_t* c = q + 16 + rot;
    if (code == kLinearAdd) {
      a0 = _mm256_add_pd(a0, LoadQuad(c));
      a1 = _mm256_add_pd(a1, LoadQuad(c + 32));
      a2 = _mm256_add_pd(a2, LoadQuad(c + 64));
      a3 = _mm256_add_pd(a3, LoadQuad(c + 96));
    } else if (code == kLinearGain) {
      a0 = _mm256_mul_pd(a0, LoadQuad(c));
      a1 = _mm256_mul_pd(a1, LoadQuad(c + 32));
      a2 = _mm256_mul_pd(a2, LoadQuad(c + 64));
      a3 = _mm256_mul_pd(a3, LoadQuad(c + 96));
    } else if (code == kLinearLevels) {
      const __m256d span = _mm256_set1_pd(ProgramDouble(q + 8));
      const uint8_t* d = c + kPattern * 8;
      a0 = _mm256_add_pd(_mm256_div_pd(_mm256_mul_pd(_mm256_sub_pd(a0, LoadQuad(c)), span), LoadQuad(d)), lo);
      a1 = _mm256_add_pd(_mm256_div_pd(_mm256_mul_pd(_mm256_sub_pd(a1, LoadQuad(c + 32)), span), LoadQuad(d + 32)), lo);
      a2 = _mm256_add_pd(_mm256_div_pd(_mm256_mul_pd(_mm256_sub_pd(a2, LoadQuad(c + 64)), span), LoadQuad(d + 64)), lo);
      a3 = _mm256_add_pd(_mm256_div_pd(_mm256_mul_pd(_mm256_sub_pd(a3, LoadQuad(c + 96)), span), LoadQuad(d + 96)), lo);
    } else {
      a0 = _mm256_sub_pd(sum, a0);
      a1 = _mm256_sub_pd(sum, a1);
      a2 = _mm256_sub_pd(sum, a2);
      a3 = _mm256_sub_pd(sum, a3);
    }
    if (!(word & 0x100)) {
      a0 = _mm256_max_pd(lo, a0);
      a1 = _mm256_max_pd(lo, a1);
      a2 = _mm256_max_pd(lo, a2);
      a3 = _mm256_max_pd(lo, a3);
    }
    if (!(word & 0x200)) {
      a0 = _mm256_min_pd(hi, a0);
      a1 = _mm256_min_pd(hi, a1);
      a2 = _mm256_min_pd(hi, a2);
      a3 = _mm256_min_pd(hi, a3);
    }
    q += ProgramInt(q + 4);
  }
  const __m128i i0 = _mm256_cvtpd_epi32(a0), i1 = _mm256_cvtpd_epi32(a1);
  const __m128i i2 = _mm256_cvtpd_epi32(a2), i3 = _mm256_cvtpd_epi32(a3);
  const __m128i y0 = isSigned ? _mm_packs_epi32(i0, i1) : _mm_packus_epi32(i0, i1);
  const __m128i y1 = isSigned ? _mm_packs_epi32(i2, i3) : _mm_packus_epi32(i2, i3);
  return _mm256_blendv_epi8(x, _mm256_set_m128i(y1, y0), mask);
}

// 32 bytes at a time, then the SSE2 loop (VEX-encoded here) from the pattern offset where this one stopped.
template <bool isSigned, bool big>
RAWBRIGHT_TARGET_AVX2 void LinearLoopAvx2(uint8_t* p, uint8_t* end, const LinearPlan& plan) {
  const __m128i m = _mm_loadu_si128(reinterpret_cast<const __m128i*>(plan.mask));
  const __m256i mask = _mm256_set_m128i(m, m);
  const __m256i swap = _mm256_setr_epi8(1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14,  //
                                        1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, 13, 12, 15, 14);
  size_t rot = 0;
  for (; end - p >= 32; p += 32) {
    __m256i x = Load256(p);
    if constexpr (big) x = _mm256_shuffle_epi8(x, swap);
    __m256i y = LinearVector256<isSigned>(x, plan, rot, mask);
    if constexpr (big) y = _mm256_shuffle_epi8(y, swap);
    Store256(p, y);
    rot = rot == 256 ? 0 : rot + 128;
  }
  // The SSE2 loop's offsets step through 24 entries (192 bytes), these through 48: the same sample's is rot % 192.
  LinearLoop128<big>(p, end, plan, rot % 192);
}

#endif  // RAWBRIGHT_AVX2

#endif  // RAWBRIGHT_X86

// Portable fallback (non-x86): the same operations one sample at a time.
inline void LinearScalar(uint8_t* p, uint8_t* end, const LinearPlan& plan) {
  const int lowByte = plan.bigEndian ? 1 : 0;
  const int highByte = 1 - lowByte;
  for (size_t s = 0; p != end; p += 2, ++s) {
    if (plan.mask[s % 8] == 0) continue;
    const uint32_t raw = static_cast<uint32_t>(p[lowByte]) | (static_cast<uint32_t>(p[highByte]) << 8);
    double v = plan.isSigned ? static_cast<double>(static_cast<int16_t>(raw)) : static_cast<double>(raw);
    const size_t at = (s % 24) * 8;
    const uint8_t* q = plan.program;
    for (int k = 0; k < plan.ops; ++k) {
      const int32_t code = ProgramInt(q) & 0xff;
      const uint8_t* c = q + 16 + at;
      if (code == kLinearAdd) v = v + ProgramDouble(c);
      else if (code == kLinearGain) v = v * ProgramDouble(c);
      else if (code == kLinearLevels) {
        v = ((v - ProgramDouble(c)) * ProgramDouble(q + 8)) / ProgramDouble(c + kPattern * 8) + plan.lo;
      } else {
        v = (plan.hi + plan.lo) - v;
      }
      v = plan.lo > v ? plan.lo : v;
      v = plan.hi < v ? plan.hi : v;
      q += ProgramInt(q + 4);
    }
    const double rounded = v + 6755399441055744.0;
    uint64_t bits;
    std::memcpy(&bits, &rounded, 8);
    const uint32_t y = static_cast<uint32_t>(bits);
    p[lowByte] = static_cast<uint8_t>(y & 0xff);
    p[highByte] = static_cast<uint8_t>((y >> 8) & 0xff);
  }
}

// length: a multiple of 2 * bands (p the start of a pixel); the program must not overlap the range.
inline void LinearRange(uint8_t* p, size_t length, const LinearPlan& plan) {
  if (length == 0) return;
  uint8_t* end = p + length;
#if RAWBRIGHT_AVX2
  if (HasAvx2()) {
    if (plan.isSigned) {
      if (plan.bigEndian) return LinearLoopAvx2<true, true>(p, end, plan);
      return LinearLoopAvx2<true, false>(p, end, plan);
    }
    if (plan.bigEndian) return LinearLoopAvx2<false, true>(p, end, plan);
    return LinearLoopAvx2<false, false>(p, end, plan);
  }
#endif
#if RAWBRIGHT_X86
  if (plan.bigEndian) return LinearLoop128<true>(p, end, plan, 0);
  LinearLoop128<false>(p, end, plan, 0);
#else
  LinearScalar(p, end, plan);
#endif
}

}  // namespace kernel
}  // namespace rawbright
