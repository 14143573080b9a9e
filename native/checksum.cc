// checksum: CRC-32 (the zlib / PNG polynomial, so the journal's checksums stay what zlib.crc32 computes)
// at memory speed, and the journal's save step fused with it: copy a chunk into the undo ring and
// checksum the copy while it is still in the cache.
//
// Node's zlib.crc32 runs at under 1 GB/s here, slower than the kernel it guards. x86-64 with PCLMULQDQ
// folds 64 bytes at a time with carry-less multiplies (Intel, "Fast CRC Computation for Generic
// Polynomials Using PCLMULQDQ Instruction", 2009; the constants are that paper's for the reflected
// polynomial 0xEDB88320); other machines use an 8-way table.
#include <cstdint>
#include <cstring>

#include "common.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define RAWBRIGHT_CRC_CLMUL 1
#endif

namespace rawbright {

namespace {

// tables[k][b]: the CRC register after byte b followed by k zero bytes (slicing by 8).
struct Crc32Tables {
  uint32_t t[8][256];
  Crc32Tables() {
    for (uint32_t b = 0; b < 256; b++) {
      uint32_t c = b;
      for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
      t[0][b] = c;
    }
    for (uint32_t b = 0; b < 256; b++) {
      for (int k = 1; k < 8; k++) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xff];
    }
  }
};

const Crc32Tables& Tables() {
  static const Crc32Tables tables;
  return tables;
}

// Register form in and out (no pre/post inversion).
uint32_t Crc32Table(uint32_t crc, const uint8_t* p, size_t n) {
  const auto& t = Tables().t;
  while (n >= 8) {
    uint32_t lo;
    uint32_t hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + 4, 4);
    lo ^= crc;  // little-endian: the first byte is the lowest
    crc = t[7][lo & 0xff] ^ t[6][(lo >> 8) & 0xff] ^ t[5][(lo >> 16) & 0xff] ^ t[4][lo >> 24] ^
          t[3][hi & 0xff] ^ t[2][(hi >> 8) & 0xff] ^ t[1][(hi >> 16) & 0xff] ^ t[0][hi >> 24];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) crc = (crc >> 8) ^ t[0][(crc ^ *p++) & 0xff];
  return crc;
}

#ifdef RAWBRIGHT_CRC_CLMUL
// Folding constants: for a fold over D bits, the low half multiplies by x^(D+32) mod P and the high
// half by x^(D-32) mod P, bit-reflected and shifted left by one (f(n) in the paper's notation).
alignas(16) const uint64_t k1k2[] = {0x0154442bd4, 0x01c6e41596};  // D = 512: four lanes
alignas(16) const uint64_t k3k4[] = {0x01751997d0, 0x00ccaa009e};  // D = 128: one lane
alignas(16) const uint64_t k5k0[] = {0x0163cd6124, 0x0000000000};  // x^64 mod P, for 64 -> 32 bits
alignas(16) const uint64_t poly[] = {0x01db710641, 0x01f7011641};  // P and its Barrett quotient
alignas(32) const uint64_t k1024[] = {0x01e88ef372, 0x014a7fe880, 0x01e88ef372, 0x014a7fe880};  // D = 1024

// 128 bits of folded register to the 32-bit CRC register: a fold to 64 bits, then Barrett reduction.
__attribute__((target("sse4.1,pclmul"))) uint32_t Reduce128(__m128i x1) {
  const __m128i mask32 = _mm_setr_epi32(~0, 0, ~0, 0);
  __m128i k = _mm_load_si128(reinterpret_cast<const __m128i*>(k3k4));
  __m128i x2 = _mm_clmulepi64_si128(x1, k, 0x10);
  x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), x2);
  k = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(k5k0));
  x2 = _mm_srli_si128(x1, 4);
  x1 = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(x1, mask32), k, 0x00), x2);
  k = _mm_load_si128(reinterpret_cast<const __m128i*>(poly));
  x2 = _mm_clmulepi64_si128(_mm_and_si128(x1, mask32), k, 0x10);
  x2 = _mm_clmulepi64_si128(_mm_and_si128(x2, mask32), k, 0x00);
  x1 = _mm_xor_si128(x1, x2);
  return static_cast<uint32_t>(_mm_extract_epi32(x1, 1));
}

// One 128-bit fold: acc carried 128 bits forward (constants k) and added to the next block.
__attribute__((target("sse4.1,pclmul"))) inline __m128i Fold16(__m128i acc, __m128i next, __m128i k) {
  __m128i low = _mm_clmulepi64_si128(acc, k, 0x00);
  __m128i high = _mm_clmulepi64_si128(acc, k, 0x11);
  return _mm_xor_si128(_mm_xor_si128(high, next), low);
}

// Register form in and out; n is at least 64 and a multiple of 16.
__attribute__((target("sse4.1,pclmul"))) uint32_t Crc32Clmul(uint32_t crc, const uint8_t* p, size_t n) {
  __m128i x1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 0x00));
  __m128i x2 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 0x10));
  __m128i x3 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 0x20));
  __m128i x4 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 0x30));
  x1 = _mm_xor_si128(x1, _mm_cvtsi32_si128(static_cast<int>(crc)));
  __m128i k = _mm_load_si128(reinterpret_cast<const __m128i*>(k1k2));
  p += 64;
  n -= 64;

  // Four lanes of 128 bits, each folded 512 bits forward per step.
  while (n >= 64) {
    __m128i x5 = _mm_clmulepi64_si128(x1, k, 0x00);
    __m128i x6 = _mm_clmulepi64_si128(x2, k, 0x00);
    __m128i x7 = _mm_clmulepi64_si128(x3, k, 0x00);
    __m128i x8 = _mm_clmulepi64_si128(x4, k, 0x00);
    x1 = _mm_clmulepi64_si128(x1, k, 0x11);
    x2 = _mm_clmulepi64_si128(x2, k, 0x11);
    x3 = _mm_clmulepi64_si128(x3, k, 0x11);
    x4 = _mm_clmulepi64_si128(x4, k, 0x11);
    x1 = _mm_xor_si128(_mm_xor_si128(x1, x5), _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 0x00)));
    x2 = _mm_xor_si128(_mm_xor_si128(x2, x6), _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 0x10)));
    x3 = _mm_xor_si128(_mm_xor_si128(x3, x7), _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 0x20)));
    x4 = _mm_xor_si128(_mm_xor_si128(x4, x8), _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 0x30)));
    p += 64;
    n -= 64;
  }

  // The four lanes into one, then the remaining 16-byte blocks.
  k = _mm_load_si128(reinterpret_cast<const __m128i*>(k3k4));
  x1 = Fold16(x1, x2, k);
  x1 = Fold16(x1, x3, k);
  x1 = Fold16(x1, x4, k);
  while (n >= 16) {
    x1 = Fold16(x1, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)), k);
    p += 16;
    n -= 16;
  }

  return Reduce128(x1);
}

bool HasClmul() {
  static const bool has = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
  return has;
}

bool HasVpclmul() {
  static const bool has = HasClmul() && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("vpclmulqdq");
  return has;
}

__attribute__((target("avx2"))) inline __m256i Load32(const uint8_t* at) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(at));
}

// 256-bit carry-less multiplies: eight 128-bit lanes, 128 bytes folded per step; with Copy, the bytes
// are also stored to `to` as they are loaded (the journal's save in one pass). Register form in and
// out; n is at least 128 and a multiple of 128.
template <bool Copy>
__attribute__((target("avx2,vpclmulqdq,pclmul,sse4.1"))) uint32_t Crc32Vpclmul(uint32_t crc, uint8_t* to,
                                                                               const uint8_t* p, size_t n) {
  __m256i y0 = Load32(p);
  __m256i y1 = Load32(p + 32);
  __m256i y2 = Load32(p + 64);
  __m256i y3 = Load32(p + 96);
  if (Copy) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(to), y0);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(to + 32), y1);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(to + 64), y2);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(to + 96), y3);
    to += 128;
  }
  y0 = _mm256_xor_si256(y0, _mm256_castsi128_si256(_mm_cvtsi32_si128(static_cast<int>(crc))));
  const __m256i k = _mm256_load_si256(reinterpret_cast<const __m256i*>(k1024));
  p += 128;
  n -= 128;
  while (n >= 128) {
    __m256i next0 = Load32(p);
    __m256i next1 = Load32(p + 32);
    __m256i next2 = Load32(p + 64);
    __m256i next3 = Load32(p + 96);
    if (Copy) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(to), next0);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(to + 32), next1);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(to + 64), next2);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(to + 96), next3);
      to += 128;
    }
    y0 = _mm256_xor_si256(_mm256_xor_si256(_mm256_clmulepi64_epi128(y0, k, 0x00), _mm256_clmulepi64_epi128(y0, k, 0x11)), next0);
    y1 = _mm256_xor_si256(_mm256_xor_si256(_mm256_clmulepi64_epi128(y1, k, 0x00), _mm256_clmulepi64_epi128(y1, k, 0x11)), next1);
    y2 = _mm256_xor_si256(_mm256_xor_si256(_mm256_clmulepi64_epi128(y2, k, 0x00), _mm256_clmulepi64_epi128(y2, k, 0x11)), next2);
    y3 = _mm256_xor_si256(_mm256_xor_si256(_mm256_clmulepi64_epi128(y3, k, 0x00), _mm256_clmulepi64_epi128(y3, k, 0x11)), next3);
    p += 128;
    n -= 128;
  }
  // The eight lanes, oldest first, folded into one 128 bits apart.
  const __m128i k128 = _mm_load_si128(reinterpret_cast<const __m128i*>(k3k4));
  const __m256i lanes[] = {y0, y1, y2, y3};
  __m128i x = _mm256_castsi256_si128(y0);
  x = Fold16(x, _mm256_extracti128_si256(y0, 1), k128);
  for (int i = 1; i < 4; i++) {
    x = Fold16(x, _mm256_castsi256_si128(lanes[i]), k128);
    x = Fold16(x, _mm256_extracti128_si256(lanes[i], 1), k128);
  }
  return Reduce128(x);
}
#endif

// Register form in and out.
uint32_t Crc32Register(uint32_t crc, const uint8_t* p, size_t n) {
#ifdef RAWBRIGHT_CRC_CLMUL
  if (n >= 128 && HasVpclmul()) {
    size_t blocks = n & ~static_cast<size_t>(127);
    crc = Crc32Vpclmul<false>(crc, nullptr, p, blocks);
    p += blocks;
    n -= blocks;
  }
  if (n >= 64 && HasClmul()) {
    size_t blocks = n & ~static_cast<size_t>(15);
    crc = Crc32Clmul(crc, p, blocks);
    p += blocks;
    n -= blocks;
  }
#endif
  return Crc32Table(crc, p, n);
}

// The public form, as zlib.crc32(data, value) computes it.
uint32_t Crc32(uint32_t value, const uint8_t* p, size_t n) { return ~Crc32Register(~value, p, n); }

// A piece small enough to stay in the first-level cache between the copy and the checksum.
constexpr size_t kCopyPiece = 16 * 1024;

uint32_t ArgCrc(const Napi::CallbackInfo& info, size_t i) {
  if (info.Length() <= i || info[i].IsUndefined()) return 0;
  if (!info[i].IsNumber()) ThrowTypeError(info.Env(), "value must be a number");
  double value = info[i].As<Napi::Number>().DoubleValue();
  if (!(value >= 0 && value <= 4294967295.0) || value != static_cast<double>(static_cast<uint32_t>(value))) {
    ThrowRangeError(info.Env(), "value must be a whole number from 0 to 2^32 - 1");
  }
  return static_cast<uint32_t>(value);
}

// crc32(buffer, offset, length, value = 0): the CRC-32 of the bytes, continuing from `value`.
Napi::Value Crc32Js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::ArrayBuffer buffer = ArgArrayBuffer(info, 0, "buffer");
  uint64_t offset = ArgIndex(info, 1, "offset");
  uint64_t length = ArgIndex(info, 2, "length");
  uint32_t value = ArgCrc(info, 3);
  size_t size = buffer.ByteLength();
  if (offset > size || length > size - offset) ThrowRangeError(env, "the range is outside the buffer");
  const uint8_t* data = static_cast<const uint8_t*>(buffer.Data()) + offset;
  return Napi::Number::New(env, Crc32(value, data, static_cast<size_t>(length)));
}

// copyWithCrc32(dst, dstOffset, src, srcOffset, length): copies the bytes (the ranges must not overlap)
// and returns the CRC-32 of what was written, computed from the copy piece by piece while it is cached.
Napi::Value CopyWithCrc32(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CopyRanges copy = ArgCopyRanges(info);
  uint8_t* to = copy.to;
  const uint8_t* from = copy.from;
  size_t n = copy.length;
  if (n > 0 && to < from + n && from < to + n) ThrowRangeError(env, "dst and src overlap");
  uint32_t crc = ~0u;
#ifdef RAWBRIGHT_CRC_CLMUL
  if (n >= 128 && HasVpclmul()) {
    size_t blocks = n & ~static_cast<size_t>(127);
    crc = Crc32Vpclmul<true>(crc, to, from, blocks);
    std::memcpy(to + blocks, from + blocks, n - blocks);
    return Napi::Number::New(env, ~Crc32Register(crc, to + blocks, n - blocks));
  }
#endif
  for (size_t at = 0; at < n; at += kCopyPiece) {
    size_t piece = n - at < kCopyPiece ? n - at : kCopyPiece;
    std::memcpy(to + at, from + at, piece);
    crc = Crc32Register(crc, to + at, piece);
  }
  return Napi::Number::New(env, ~crc);
}

}  // namespace

void InitChecksum(Napi::Env env, Napi::Object exports) {
  exports.Set("crc32", Napi::Function::New(env, Crc32Js, "crc32"));
  exports.Set("copyWithCrc32", Napi::Function::New(env, CopyWithCrc32, "copyWithCrc32"));
}

}  // namespace rawbright
