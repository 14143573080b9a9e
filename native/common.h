// Shared helpers for the rawbright addon: errors that carry a code, argument checks, and the
// per-environment state (one per Node.js thread that loads the addon: main thread or worker).
#pragma once

#include <napi.h>
#include <sys/mman.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>

namespace rawbright {

// Largest integer a JavaScript number holds exactly; offsets and lengths above it are refused.
constexpr double kMaxSafeInteger = 9007199254740991.0;

// The name of an errno value ("ENOENT"), for error.code.
std::string ErrnoName(int err);

// An Error whose message is "<what>: <strerror>", with code = errno name, errno, syscall and path.
Napi::Error ErrnoError(Napi::Env env, int err, const std::string& what, const char* syscall,
                       const std::string& path = std::string());

// Like ErrnoError, but MESSAGE is the whole message: for cases where strerror would mislead
// ("no such device" for a FIFO) or repeat what the message says ("file exists").
Napi::Error ErrnoErrorWithMessage(Napi::Env env, int err, const std::string& message, const char* syscall,
                                  const std::string& path = std::string());

// A TypeError / RangeError / Error with a stable code of our own (ERR_...).
Napi::Error CodedError(Napi::Env env, const char* kind, const std::string& code, const std::string& message);
[[noreturn]] void ThrowTypeError(Napi::Env env, const std::string& message);
[[noreturn]] void ThrowRangeError(Napi::Env env, const std::string& message);

// Argument readers: they throw a TypeError / RangeError rather than let a bad value reach a syscall.
uint64_t ArgIndex(const Napi::CallbackInfo& info, size_t i, const char* name);
bool ArgBool(const Napi::CallbackInfo& info, size_t i, const char* name);
std::string ArgString(const Napi::CallbackInfo& info, size_t i, const char* name);
Napi::ArrayBuffer ArgArrayBuffer(const Napi::CallbackInfo& info, size_t i, const char* name);

// A byte range [offset, offset + length) checked to lie inside an ArrayBuffer.
struct BufferRange {
  uint8_t* data;
  size_t length;
};
BufferRange ArgBufferRange(const Napi::CallbackInfo& info, size_t bufferIndex, const char* name);

// The arguments (dst, dstOffset, src, srcOffset, length) of a copy between two ArrayBuffers: both
// ranges checked inside their buffer ("the range is outside dst" / "... src"); they may overlap.
struct CopyRanges {
  uint8_t* to;
  const uint8_t* from;
  size_t length;
};
CopyRanges ArgCopyRanges(const Napi::CallbackInfo& info);

size_t PageSize();

// The SIGBUS guard (sigbus.cc): every file mapping is watched from creation to unmap, so a page
// truncated away by another process faults into zero pages and a flag instead of killing the process.
// WatchMapping returns the mapping's slot in the guard's table (-1 if unguarded: guard off or table
// full), for WatchedMappingFaulted: whether that mapping, still starting at START, took a SIGBUS.
int WatchMapping(void* start, size_t length);
void UnwatchMapping(void* start);
bool WatchedMappingFaulted(int slot, const void* start);
// A word that is 0 until the SIGBUS guard caught its first fault in this process, then 1 for good
// (for JavaScript fast paths that touch a watched mapping without a call into the addon).
uint32_t* FaultFlag();

// One file mapping handed to JavaScript as an external ArrayBuffer. The finalizer and close()
// share it, so whichever runs first unmaps and the other does nothing.
struct Mapping {
  void* base = nullptr;   // what mmap returned (page aligned)
  size_t length = 0;      // what was mapped (view length + alignment delta)
  bool unmapped = false;
  // msyncs running on the thread pool: the pages must stay mapped until they finish, so an unmap
  // asked for meanwhile (close() or the finalizer) is left to the last of them.
  int pendingFlushes = 0;
  bool unmapWhenFlushed = false;

  // Unmaps now, or once the pending flushes are over. JS thread only.
  void Release() {
    if (unmapped) return;
    if (pendingFlushes > 0) {
      unmapWhenFlushed = true;
      return;
    }
    unmapped = true;
    UnwatchMapping(base);
    munmap(base, length);
  }
};

// A file's pages laid over part of a WebAssembly memory (see overlay.cc).
struct Overlay {
  uintptr_t memoryBase;
  size_t offset;
  size_t length;  // page-rounded
  // The memory's buffer, weakly: once the memory is collected (V8 unmapping the overlay with it),
  // the record is dropped rather than block a new memory that gets the same address.
  std::shared_ptr<Napi::Reference<Napi::ArrayBuffer>> memory;
};

struct AddonData {
  // Live windows, keyed by the address of the first byte of their ArrayBuffer.
  std::map<uintptr_t, std::shared_ptr<Mapping>> windows;
  // Live overlays, keyed by their absolute start address.
  std::map<uintptr_t, Overlay> overlays;
  Napi::FunctionReference fileHandleConstructor;
};

AddonData& Data(Napi::Env env);

// Module parts: each adds its functions to exports.
void InitFile(Napi::Env env, Napi::Object exports);
void InitMapping(Napi::Env env, Napi::Object exports);
void InitOverlay(Napi::Env env, Napi::Object exports);
void InitBrighten(Napi::Env env, Napi::Object exports);
void InitSharedMemory(Napi::Env env, Napi::Object exports);
void InitSigbus(Napi::Env env, Napi::Object exports);
void InitIpc(Napi::Env env, Napi::Object exports);
void InitChecksum(Napi::Env env, Napi::Object exports);
void InitDetach(Napi::Env env, Napi::Object exports);

}  // namespace rawbright
