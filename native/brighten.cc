// brighten: the native brighten kernel for JavaScript (the in-place reference the wasm kernels are
// measured against), and copyBytes (memcpy, the memory-bandwidth reference for the benchmarks).
//
// The kernel itself (layout, semantics, SSE2/AVX2/scalar paths) is in brighten_kernel.h.
#include <cstdint>
#include <cstring>
#include <string>

#include "brighten_kernel.h"
#include "common.h"

namespace rawbright {

namespace {

using kernel::BrightenRange;
using kernel::KernelPath;
using kernel::MakePlan;

int32_t DeltaValue(Napi::Env env, Napi::Value value) {
  if (!value.IsNumber()) ThrowTypeError(env, "delta must be a number or an array of numbers");
  double number = value.As<Napi::Number>().DoubleValue();
  // NaN fails both comparisons' negations below, so it is refused too.
  if (!(number >= -65535 && number <= 65535) || static_cast<double>(static_cast<int32_t>(number)) != number) {
    ThrowRangeError(env, "delta must be a whole number from -65535 to 65535");
  }
  return static_cast<int32_t>(number);
}

// Optional trailing argument i: absent or undefined means `fallback`.
bool Given(const Napi::CallbackInfo& info, size_t i) { return i < info.Length() && !info[i].IsUndefined(); }

int32_t ArgSmallInt(const Napi::CallbackInfo& info, size_t i, const char* name, int32_t min, int32_t max,
                    int32_t fallback) {
  if (!Given(info, i)) return fallback;
  if (!info[i].IsNumber()) ThrowTypeError(info.Env(), std::string(name) + " must be a number");
  double value = info[i].As<Napi::Number>().DoubleValue();
  if (!(value >= min && value <= max) || static_cast<double>(static_cast<int32_t>(value)) != value) {
    ThrowRangeError(info.Env(), std::string(name) + " must be a whole number from " + std::to_string(min) + " to " +
                                    std::to_string(max));
  }
  return static_cast<int32_t>(value);
}

// brighten(buffer, offset, length, delta, signed, alpha[, bands = 4, bigEndian = false, max = 65535]): in
// place, synchronously. delta is one number or an array of `bands` numbers (one per band). It is memory
// bound at several GB/s, so callers hand it windows, not whole files, and run it in workers.
Napi::Value Brighten(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BufferRange range = ArgBufferRange(info, 0, "buffer");
  const int32_t bands = ArgSmallInt(info, 6, "bands", 1, 4, 4);
  if (range.length % (2 * bands) != 0) {
    ThrowRangeError(env, "length must be a multiple of 2 * bands (whole pixels)");
  }
  int32_t deltas[4] = {0, 0, 0, 0};
  if (info.Length() > 3 && info[3].IsArray()) {
    Napi::Array list = info[3].As<Napi::Array>();
    if (list.Length() != static_cast<uint32_t>(bands)) ThrowRangeError(env, "delta must have one entry per band");
    for (int32_t band = 0; band < bands; ++band) deltas[band] = DeltaValue(env, list.Get(static_cast<uint32_t>(band)));
  } else {
    const int32_t delta = DeltaValue(env, info.Length() > 3 ? info[3] : env.Undefined());
    for (int32_t band = 0; band < bands; ++band) deltas[band] = delta;
  }
  bool isSigned = ArgBool(info, 4, "signed");
  bool alpha = ArgBool(info, 5, "alpha");
  bool bigEndian = Given(info, 7) ? ArgBool(info, 7, "bigEndian") : false;
  const int32_t max = ArgSmallInt(info, 8, "max", 1, 65535, 65535);
  if (isSigned && max != 65535) ThrowRangeError(env, "max applies to unsigned samples only");
  if (range.length != 0) {
    BrightenRange(range.data, range.length, MakePlan(deltas, bands, isSigned, alpha, bigEndian, max));
  }
  return env.Undefined();
}

// applyTables(buffer, offset, length, tables, bands, changed): the adjust tables (brighten_kernel.h, LookupRange)
// in place. tables is an ArrayBuffer of `changed` tables of 65,536 uint16 in the host's order, changed 1..bands,
// or of one table that every changed band shares.
Napi::Value ApplyTables(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BufferRange range = ArgBufferRange(info, 0, "buffer");
  Napi::ArrayBuffer tables = ArgArrayBuffer(info, 3, "tables");
  const int32_t bands = ArgSmallInt(info, 4, "bands", 1, 4, 4);
  const int32_t changed = ArgSmallInt(info, 5, "changed", 1, 4, bands);
  if (changed > bands) ThrowRangeError(env, "changed must be at most bands");
  if (range.length % (2 * bands) != 0) ThrowRangeError(env, "length must be a multiple of 2 * bands (whole pixels)");
  const bool shared = tables.ByteLength() == 65536 * 2;
  if (!shared && tables.ByteLength() != static_cast<size_t>(changed) * 65536 * 2) {
    ThrowRangeError(env, "tables must hold changed * 65536 uint16 entries, or 65536 shared by every changed band");
  }
  const uint8_t* t = static_cast<const uint8_t*>(tables.Data());
  if (reinterpret_cast<uintptr_t>(t) % 2 != 0) ThrowRangeError(env, "tables must be 2-byte aligned");
  if (t < range.data + range.length && range.data < t + tables.ByteLength()) {
    ThrowRangeError(env, "tables must not overlap the range");
  }
  if (range.length != 0) {
    kernel::LookupRange(range.data, range.length, bands, changed, shared, reinterpret_cast<const uint16_t*>(t));
  }
  return env.Undefined();
}

// applyLinear(buffer, offset, length, program, ops, bands, changed, signed, bigEndian, lo, hi): a linear adjust
// chain as exact f64 arithmetic (brighten_kernel.h, LinearRange) in place. program: the ArrayBuffer that
// src/kernels/linear.ts builds, `ops` ops; its layout is checked op by op here before any sample changes.
Napi::Value ApplyLinear(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BufferRange range = ArgBufferRange(info, 0, "buffer");
  Napi::ArrayBuffer program = ArgArrayBuffer(info, 3, "program");
  const int32_t ops = ArgSmallInt(info, 4, "ops", 1, 256, 1);
  const int32_t bands = ArgSmallInt(info, 5, "bands", 1, 4, 4);
  const int32_t changed = ArgSmallInt(info, 6, "changed", 1, 4, bands);
  if (changed > bands) ThrowRangeError(env, "changed must be at most bands");
  if (range.length % (2 * bands) != 0) ThrowRangeError(env, "length must be a multiple of 2 * bands (whole pixels)");
  const bool isSigned = ArgBool(info, 7, "signed");
  const bool bigEndian = ArgBool(info, 8, "bigEndian");
  const int32_t lo = ArgSmallInt(info, 9, "lo", -32768, 0, 0);
  const int32_t hi = ArgSmallInt(info, 10, "hi", 1, 65535, 65535);
  const uint8_t* prog = static_cast<const uint8_t*>(program.Data());
  const size_t size = program.ByteLength();
  if (prog < range.data + range.length && range.data < prog + size) ThrowRangeError(env, "program must not overlap the range");
  // Every op's header and constants inside the program.
  size_t at = 0;
  for (int32_t k = 0; k < ops; ++k) {
    if (size < 16 || at > size - 16) ThrowRangeError(env, "program is shorter than its ops");
    const int32_t code = kernel::ProgramInt(prog + at) & ~0x300;
    const int32_t next = kernel::ProgramInt(prog + at + 4);
    const size_t patterns = code == kernel::kLinearLevels ? 2 : code == kernel::kLinearInvert ? 0 : 1;
    if (code < 0 || code > 3 || next != static_cast<int32_t>(16 + patterns * kernel::kPattern * 8) ||
        static_cast<size_t>(next) > size - at) {
      ThrowRangeError(env, "program has a bad op");
    }
    at += static_cast<size_t>(next);
  }
  kernel::LinearPlan plan{};
  plan.program = prog;
  plan.ops = ops;
  plan.isSigned = isSigned;
  plan.bigEndian = bigEndian;
  plan.lo = lo;
  plan.hi = hi;
  for (int j = 0; j < 8; ++j) plan.mask[j] = (j % bands) < changed ? 0xffff : 0;
  kernel::LinearRange(range.data, range.length, plan);
  return env.Undefined();
}

// copyBytes(dst, dstOffset, src, srcOffset, length): memcpy (memmove if the ranges overlap).
Napi::Value CopyBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CopyRanges copy = ArgCopyRanges(info);
  if (copy.length == 0) return env.Undefined();
  if (copy.to < copy.from + copy.length && copy.from < copy.to + copy.length) {
    std::memmove(copy.to, copy.from, copy.length);
  } else {
    std::memcpy(copy.to, copy.from, copy.length);
  }
  return env.Undefined();
}

}  // namespace

void InitBrighten(Napi::Env env, Napi::Object exports) {
  exports.Set("brighten", Napi::Function::New(env, Brighten, "brighten"));
  exports.Set("copyBytes", Napi::Function::New(env, CopyBytes, "copyBytes"));
  exports.Set("applyTables", Napi::Function::New(env, ApplyTables, "applyTables"));
  exports.Set("applyLinear", Napi::Function::New(env, ApplyLinear, "applyLinear"));
  exports.Set("brightenPath", Napi::String::New(env, KernelPath()));
}

}  // namespace rawbright
