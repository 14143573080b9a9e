// The native brighten kernel itself: header-only, shared by the addon (native/brighten.cc) and
// the benchmark's reference program (bench/native/reference.cc), so both run the very same loops.
//
// Data layout and byte order: a pixel is 8 bytes, four 16-bit samples R, G, B, A, each little-endian.
// On x86 (little-endian) a 16-byte vector loaded from the start of the range + 16k holds pixel 2k in
// 16-bit lanes 0-3 and pixel 2k + 1 in lanes 4-7, so alpha is lanes 3 and 7 (and 11, 15 in a 32-byte
// AVX2 vector). Lanes count from the start of the range, so any start address works (unaligned loads).
//
// Semantics, as in assembly/index.ts: x -> min(max(x + delta, MIN), MAX) exactly, [MIN, MAX] being
// [0, 65535] (uint16) or [-32768, 32767] (int16); alpha untouched unless asked.
//
// Paths: SSE2 (the x86-64 baseline) always; AVX2 (32-byte vectors) when the CPU has it, chosen once
// at run time with __builtin_cpu_supports; a portable scalar loop elsewhere (e.g. arm64).
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64)
#include <immintrin.h>
#define RAWBRIGHT_X86 1
#if defined(__GNUC__) || defined(__clang__)
#define RAWBRIGHT_AVX2 1
#endif
#endif

namespace rawbright {
namespace kernel {

// How each sample changes. Every kernel gets the same plan, so all paths agree by construction.
enum class Op {
  kAddU,   // uint16, delta > 0: one unsigned saturating add of delta
  kSubU,   // uint16, delta < 0: one unsigned saturating subtract of |delta|
  kAddS,   // int16, delta within i16: one signed saturating add
  kAddS3,  // int16, |delta| beyond i16: three same-sign signed saturating adds, d1 + d2 + d3 = delta
};

struct Plan {
  Op op;
  int32_t d1, d2, d3;  // per-lane amounts for colour lanes (alpha lanes get them too if alpha)
  bool alpha;
  int32_t delta;       // for the scalar paths, which compute x + delta exactly in 32 bits
  bool isSigned;
};

inline Plan MakePlan(int32_t delta, bool isSigned, bool alpha) {
  Plan plan{Op::kAddU, 0, 0, 0, alpha, delta, isSigned};
  if (!isSigned) {
    plan.op = delta > 0 ? Op::kAddU : Op::kSubU;
    plan.d1 = delta > 0 ? delta : -delta;
  } else if (delta >= -32768 && delta <= 32767) {
    plan.op = Op::kAddS;
    plan.d1 = delta;
  } else {
    // Same-sign saturating adds compose exactly: a lane that saturates stays saturated, which is
    // also where the exact sum clamps. |delta| <= 65535 needs at most three i16-sized parts.
    plan.op = Op::kAddS3;
    plan.d1 = delta > 0 ? 32767 : -32768;
    int32_t rest = delta - plan.d1;
    plan.d2 = delta > 0 ? (rest < 32767 ? rest : 32767) : (rest > -32768 ? rest : -32768);
    plan.d3 = rest - plan.d2;
  }
  return plan;
}

#if !RAWBRIGHT_X86
// Portable scalar path for CPUs without the x86 vector paths: whole pixels [p, end), exact 32-bit
// sums, bytes assembled explicitly so the host's byte order does not matter.
inline void BrightenScalar(uint8_t* p, uint8_t* end, const Plan& plan) {
  const int32_t lo = plan.isSigned ? -32768 : 0;
  const int32_t hi = plan.isSigned ? 32767 : 65535;
  const int samples = plan.alpha ? 4 : 3;
  for (; p != end; p += 8) {
    for (int s = 0; s < samples; ++s) {
      uint8_t* q = p + 2 * s;
      uint16_t raw = static_cast<uint16_t>(q[0] | (q[1] << 8));
      int32_t x = plan.isSigned ? static_cast<int32_t>(static_cast<int16_t>(raw)) : static_cast<int32_t>(raw);
      int32_t y = x + plan.delta;
      y = y < lo ? lo : (y > hi ? hi : y);
      q[0] = static_cast<uint8_t>(y & 0xff);
      q[1] = static_cast<uint8_t>((y >> 8) & 0xff);
    }
  }
}
#endif  // !RAWBRIGHT_X86

#if RAWBRIGHT_X86

// A 128-bit lane vector: d in every 16-bit lane, or only in the colour lanes (alpha lanes 3 and 7
// get 0, the identity of every saturating add/subtract used here).
inline __m128i Lanes128(int32_t d, bool alpha) {
  const int16_t v = static_cast<int16_t>(d);
  const int16_t a = alpha ? v : 0;
  return _mm_setr_epi16(v, v, v, a, v, v, v, a);
}

template <Op op>
inline __m128i Apply128(__m128i x, __m128i d1, __m128i d2, __m128i d3) {
  if constexpr (op == Op::kAddU) return _mm_adds_epu16(x, d1);
  if constexpr (op == Op::kSubU) return _mm_subs_epu16(x, d1);
  if constexpr (op == Op::kAddS) return _mm_adds_epi16(x, d1);
  if constexpr (op == Op::kAddS3) return _mm_adds_epi16(_mm_adds_epi16(_mm_adds_epi16(x, d1), d2), d3);
}

// SSE2: 64 bytes per iteration, then 16-byte vectors, then the last 8-byte pixel.
template <Op op>
void LoopSse2(uint8_t* p, uint8_t* end, const Plan& plan) {
  const __m128i d1 = Lanes128(plan.d1, plan.alpha);
  const __m128i d2 = Lanes128(plan.d2, plan.alpha);
  const __m128i d3 = Lanes128(plan.d3, plan.alpha);
  for (; end - p >= 64; p += 64) {
    __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16));
    __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 32));
    __m128i e = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 48));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), Apply128<op>(a, d1, d2, d3));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p + 16), Apply128<op>(b, d1, d2, d3));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p + 32), Apply128<op>(c, d1, d2, d3));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p + 48), Apply128<op>(e, d1, d2, d3));
  }
  for (; end - p >= 16; p += 16) {
    __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), Apply128<op>(a, d1, d2, d3));
  }
  if (end - p >= 8) {
    // One pixel: the low 64 bits, lanes 0-3, the same lane pattern as a full vector.
    __m128i a = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(p), Apply128<op>(a, d1, d2, d3));
  }
}

inline void BrightenSse2(uint8_t* p, uint8_t* end, const Plan& plan) {
  switch (plan.op) {
    case Op::kAddU: return LoopSse2<Op::kAddU>(p, end, plan);
    case Op::kSubU: return LoopSse2<Op::kSubU>(p, end, plan);
    case Op::kAddS: return LoopSse2<Op::kAddS>(p, end, plan);
    case Op::kAddS3: return LoopSse2<Op::kAddS3>(p, end, plan);
  }
}

#if RAWBRIGHT_AVX2

#define RAWBRIGHT_TARGET_AVX2 __attribute__((target("avx2")))

RAWBRIGHT_TARGET_AVX2 inline __m256i Lanes256(int32_t d, bool alpha) {
  const int16_t v = static_cast<int16_t>(d);
  const int16_t a = alpha ? v : 0;
  return _mm256_setr_epi16(v, v, v, a, v, v, v, a, v, v, v, a, v, v, v, a);
}

template <Op op>
RAWBRIGHT_TARGET_AVX2 inline __m256i Apply256(__m256i x, __m256i d1, __m256i d2, __m256i d3) {
  if constexpr (op == Op::kAddU) return _mm256_adds_epu16(x, d1);
  if constexpr (op == Op::kSubU) return _mm256_subs_epu16(x, d1);
  if constexpr (op == Op::kAddS) return _mm256_adds_epi16(x, d1);
  if constexpr (op == Op::kAddS3) {
    return _mm256_adds_epi16(_mm256_adds_epi16(_mm256_adds_epi16(x, d1), d2), d3);
  }
}

// AVX2: 128 bytes per iteration, then 32-byte vectors, then the SSE2 loop (VEX-encoded here) for
// the last < 32 bytes.
template <Op op>
RAWBRIGHT_TARGET_AVX2 void LoopAvx2(uint8_t* p, uint8_t* end, const Plan& plan) {
  const __m256i d1 = Lanes256(plan.d1, plan.alpha);
  const __m256i d2 = Lanes256(plan.d2, plan.alpha);
  const __m256i d3 = Lanes256(plan.d3, plan.alpha);
  for (; end - p >= 128; p += 128) {
    __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
    __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 64));
    __m256i e = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 96));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), Apply256<op>(a, d1, d2, d3));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p + 32), Apply256<op>(b, d1, d2, d3));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p + 64), Apply256<op>(c, d1, d2, d3));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p + 96), Apply256<op>(e, d1, d2, d3));
  }
  for (; end - p >= 32; p += 32) {
    __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), Apply256<op>(a, d1, d2, d3));
  }
  LoopSse2<op>(p, end, plan);
}

RAWBRIGHT_TARGET_AVX2 inline void BrightenAvx2(uint8_t* p, uint8_t* end, const Plan& plan) {
  switch (plan.op) {
    case Op::kAddU: return LoopAvx2<Op::kAddU>(p, end, plan);
    case Op::kSubU: return LoopAvx2<Op::kSubU>(p, end, plan);
    case Op::kAddS: return LoopAvx2<Op::kAddS>(p, end, plan);
    case Op::kAddS3: return LoopAvx2<Op::kAddS3>(p, end, plan);
  }
}

inline bool HasAvx2() {
  static const bool has = __builtin_cpu_supports("avx2");
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

inline void BrightenRange(uint8_t* p, size_t length, const Plan& plan) {
  uint8_t* end = p + length;
#if RAWBRIGHT_AVX2
  if (HasAvx2()) return BrightenAvx2(p, end, plan);
#endif
#if RAWBRIGHT_X86
  BrightenSse2(p, end, plan);
#else
  BrightenScalar(p, end, plan);
#endif
}

}  // namespace kernel
}  // namespace rawbright
