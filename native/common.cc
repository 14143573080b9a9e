#include "common.h"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <unistd.h>

namespace rawbright {

std::string ErrnoName(int err) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  const char* name = strerrorname_np(err);
  if (name != nullptr) return name;
#else
  switch (err) {
    case ENOENT: return "ENOENT";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EISDIR: return "EISDIR";
    case ENOSPC: return "ENOSPC";
    case EFBIG: return "EFBIG";
    case EEXIST: return "EEXIST";
    case EINVAL: return "EINVAL";
    case ENOMEM: return "ENOMEM";
    case EAGAIN: return "EAGAIN";
    case EBADF: return "EBADF";
    case EIO: return "EIO";
    case EROFS: return "EROFS";
    case ENOTDIR: return "ENOTDIR";
    case ENODEV: return "ENODEV";
    case EOVERFLOW: return "EOVERFLOW";
  }
#endif
  return "E" + std::to_string(err);
}

static std::string LowerFirst(std::string text) {
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z') text[0] = static_cast<char>(text[0] - 'A' + 'a');
  return text;
}

Napi::Error ErrnoErrorWithMessage(Napi::Env env, int err, const std::string& message, const char* syscall,
                                  const std::string& path) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, ErrnoName(err)));
  error.Set("errno", Napi::Number::New(env, -err));
  error.Set("syscall", Napi::String::New(env, syscall));
  if (!path.empty()) error.Set("path", Napi::String::New(env, path));
  return error;
}

Napi::Error ErrnoError(Napi::Env env, int err, const std::string& what, const char* syscall,
                       const std::string& path) {
  return ErrnoErrorWithMessage(env, err, what + ": " + LowerFirst(std::strerror(err)), syscall, path);
}

Napi::Error CodedError(Napi::Env env, const char* kind, const std::string& code, const std::string& message) {
  Napi::Error error = std::strcmp(kind, "TypeError") == 0    ? Napi::TypeError::New(env, message)
                      : std::strcmp(kind, "RangeError") == 0 ? Napi::RangeError::New(env, message)
                                                             : Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error;
}

void ThrowTypeError(Napi::Env env, const std::string& message) {
  throw CodedError(env, "TypeError", "ERR_INVALID_ARG_TYPE", message);
}

void ThrowRangeError(Napi::Env env, const std::string& message) {
  throw CodedError(env, "RangeError", "ERR_OUT_OF_RANGE", message);
}

uint64_t ArgIndex(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsNumber()) ThrowTypeError(info.Env(), std::string(name) + " must be a number");
  double value = info[i].As<Napi::Number>().DoubleValue();
  if (!std::isfinite(value) || value < 0 || value > kMaxSafeInteger || std::floor(value) != value) {
    ThrowRangeError(info.Env(), std::string(name) + " must be a whole number from 0 to 2^53 - 1");
  }
  return static_cast<uint64_t>(value);
}

bool ArgBool(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsBoolean()) ThrowTypeError(info.Env(), std::string(name) + " must be a boolean");
  return info[i].As<Napi::Boolean>().Value();
}

std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsString()) ThrowTypeError(info.Env(), std::string(name) + " must be a string");
  std::string value = info[i].As<Napi::String>().Utf8Value();
  if (value.find('\0') != std::string::npos) ThrowTypeError(info.Env(), std::string(name) + " must not contain a NUL byte");
  return value;
}

Napi::ArrayBuffer ArgArrayBuffer(const Napi::CallbackInfo& info, size_t i, const char* name) {
  if (i >= info.Length() || !info[i].IsArrayBuffer()) {
    ThrowTypeError(info.Env(), std::string(name) + " must be an ArrayBuffer");
  }
  return info[i].As<Napi::ArrayBuffer>();
}

BufferRange ArgBufferRange(const Napi::CallbackInfo& info, size_t bufferIndex, const char* name) {
  Napi::ArrayBuffer buffer = ArgArrayBuffer(info, bufferIndex, name);
  uint64_t offset = ArgIndex(info, bufferIndex + 1, "offset");
  uint64_t length = ArgIndex(info, bufferIndex + 2, "length");
  size_t size = buffer.ByteLength();
  if (offset > size || length > size - offset) {
    ThrowRangeError(info.Env(), "the range is outside the buffer");
  }
  return BufferRange{static_cast<uint8_t*>(buffer.Data()) + offset, static_cast<size_t>(length)};
}

CopyRanges ArgCopyRanges(const Napi::CallbackInfo& info) {
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
  return CopyRanges{static_cast<uint8_t*>(dst.Data()) + dstOffset,
                    static_cast<const uint8_t*>(src.Data()) + srcOffset, static_cast<size_t>(length)};
}

size_t PageSize() {
  static const size_t size = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return size;
}

AddonData& Data(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

}  // namespace rawbright
