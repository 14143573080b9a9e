// brighten: the native brighten kernel for JavaScript (the in-place reference the wasm kernels are
// measured against), and copyBytes (memcpy, the memory-bandwidth reference for the benchmarks).
//
// The kernel itself (layout, semantics, SSE2/AVX2/scalar paths) is in brighten_kernel.h.
#include <cstdint>
#include <cstring>

#include "brighten_kernel.h"
#include "common.h"

namespace rawbright {

namespace {

using kernel::BrightenRange;
using kernel::KernelPath;
using kernel::MakePlan;

int32_t ArgDelta(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || !info[i].IsNumber()) ThrowTypeError(info.Env(), "delta must be a number");
  double value = info[i].As<Napi::Number>().DoubleValue();
  // NaN fails both comparisons' negations below, so it is refused too.
  if (!(value >= -65535 && value <= 65535) || static_cast<double>(static_cast<int32_t>(value)) != value) {
    ThrowRangeError(info.Env(), "delta must be a whole number from -65535 to 65535");
  }
  return static_cast<int32_t>(value);
}

// brighten(buffer, offset, length, delta, signed, alpha): in place, synchronously. It is memory
// bound at several GB/s, so callers hand it windows, not whole files, and run it in workers.
Napi::Value Brighten(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BufferRange range = ArgBufferRange(info, 0, "buffer");
  if (range.length % 8 != 0) ThrowRangeError(env, "length must be a multiple of 8 (whole 8-byte pixels)");
  int32_t delta = ArgDelta(info, 3);
  bool isSigned = ArgBool(info, 4, "signed");
  bool alpha = ArgBool(info, 5, "alpha");
  if (delta != 0 && range.length != 0) BrightenRange(range.data, range.length, MakePlan(delta, isSigned, alpha));
  return env.Undefined();
}

// copyBytes(dst, dstOffset, src, srcOffset, length): memcpy (memmove if the ranges overlap).
Napi::Value CopyBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::ArrayBuffer dst = ArgArrayBuffer(info, 0, "dst");
  uint64_t dstOffset = ArgIndex(info, 1, "dstOffset");
  Napi::ArrayBuffer src = ArgArrayBuffer(info, 2, "src");
  uint64_t srcOffset = ArgIndex(info, 3, "srcOffset");
  uint64_t length = ArgIndex(info, 4, "length");
  size_t dstSize = dst.ByteLength();
  size_t srcSize = src.ByteLength();
  if (dstOffset > dstSize || length > dstSize - dstOffset) ThrowRangeError(env, "the range is outside dst");
  if (srcOffset > srcSize || length > srcSize - srcOffset) ThrowRangeError(env, "the range is outside src");
  if (length == 0) return env.Undefined();
  uint8_t* to = static_cast<uint8_t*>(dst.Data()) + dstOffset;
  const uint8_t* from = static_cast<const uint8_t*>(src.Data()) + srcOffset;
  if (to < from + length && from < to + length) {
    std::memmove(to, from, static_cast<size_t>(length));
  } else {
    std::memcpy(to, from, static_cast<size_t>(length));
  }
  return env.Undefined();
}

}  // namespace

void InitBrighten(Napi::Env env, Napi::Object exports) {
  exports.Set("brighten", Napi::Function::New(env, Brighten, "brighten"));
  exports.Set("copyBytes", Napi::Function::New(env, CopyBytes, "copyBytes"));
  exports.Set("brightenPath", Napi::String::New(env, KernelPath()));
}

}  // namespace rawbright
