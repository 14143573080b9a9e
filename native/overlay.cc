// Overlays: a file's pages mapped (MAP_FIXED) over an arena inside a WebAssembly memory, so the
// wasm kernel reads and writes the file with no copy. Releasing maps fresh anonymous memory back.
//
// This relies on V8 keeping a wasm32 memory in one fixed reservation (guard regions on), so the
// memory's base address does not move. The TypeScript host checks the base before every overlay,
// never grows the memory while one is live, and falls back to pread/pwrite when it cannot overlay.
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <iterator>

#include "common.h"
#include "file.h"

namespace rawbright {

namespace {

// Drops the records of overlays whose memory was garbage collected (V8 unmapped them with it).
void ForgetCollectedOverlays(std::map<uintptr_t, Overlay>& overlays) {
  for (auto it = overlays.begin(); it != overlays.end();) {
    if (it->second.memory->Value().IsEmpty()) UnwatchMapping(reinterpret_cast<void*>(it->first));
    it = it->second.memory->Value().IsEmpty() ? overlays.erase(it) : std::next(it);
  }
}

size_t RoundUpToPage(size_t length) { return (length + PageSize() - 1) / PageSize() * PageSize(); }

// Puts private, zeroed, read-write anonymous memory at [start, start + length): what a wasm memory
// page is when V8 hands it out.
bool RestoreAnonymous(void* start, size_t length) {
  void* result = mmap(start, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  return result == start;
}

// overlay(memory, arenaOffset, file, fileOffset, length, shared)
Napi::Value OverlayFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::ArrayBuffer memory = ArgArrayBuffer(info, 0, "memory");
  uint64_t arenaOffset = ArgIndex(info, 1, "arenaOffset");
  FileHandle* file = FileHandle::FromArg(info, 2);
  uint64_t fileOffset = ArgIndex(info, 3, "fileOffset");
  uint64_t length = ArgIndex(info, 4, "length");
  bool shared = ArgBool(info, 5, "shared");

  uintptr_t base = reinterpret_cast<uintptr_t>(memory.Data());
  uintptr_t start = base + arenaOffset;
  size_t mapLength = RoundUpToPage(static_cast<size_t>(length));
  if (length == 0) ThrowRangeError(env, "an overlay needs a length above 0");
  if (start % PageSize() != 0) ThrowRangeError(env, "the arena offset must be page aligned");
  if (fileOffset % PageSize() != 0) ThrowRangeError(env, "the file offset of an overlay must be page aligned");
  if (arenaOffset > memory.ByteLength() || mapLength > memory.ByteLength() - arenaOffset) {
    throw CodedError(env, "RangeError", "ERR_WINDOW_TOO_LARGE", "the overlay does not fit in the arena");
  }
  if (shared && !file->Writable()) {
    throw CodedError(env, "Error", "ERR_READ_ONLY", file->Path() + " was opened read-only and cannot be overlaid shared");
  }
  uint64_t size = file->CurrentSize(env);
  // Never map past the end of the file: touching such a page raises SIGBUS.
  if (fileOffset > size || length > size - fileOffset) {
    throw CodedError(env, "RangeError", "ERR_OUT_OF_RANGE", "the overlay is past the end of " + file->Path());
  }
  auto& overlays = Data(env).overlays;
  ForgetCollectedOverlays(overlays);
  for (const auto& entry : overlays) {
    const Overlay& other = entry.second;
    uintptr_t otherStart = entry.first;
    if (start < otherStart + other.length && otherStart < start + mapLength) {
      throw CodedError(env, "Error", "ERR_OVERLAY_BUSY", "the arena already holds an overlay there");
    }
  }

  void* target = reinterpret_cast<void*>(start);
  void* mapped = mmap(target, mapLength, PROT_READ | PROT_WRITE, (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED,
                      file->Fd(env), static_cast<off_t>(fileOffset));
  if (mapped == MAP_FAILED) {
    int err = errno;
    // A failed MAP_FIXED may have dropped the old pages: make sure the arena is plain memory again.
    RestoreAnonymous(target, mapLength);
    throw ErrnoError(env, err, "cannot overlay " + file->Path() + " into WebAssembly memory", "mmap", file->Path());
  }
  auto weak = std::make_shared<Napi::Reference<Napi::ArrayBuffer>>(Napi::Weak(memory));
  overlays[start] = Overlay{base, static_cast<size_t>(arenaOffset), mapLength, weak};
  WatchMapping(target, mapLength);
  return env.Undefined();
}

// release(memory, arenaOffset): put anonymous memory back where an overlay was.
Napi::Value ReleaseOverlay(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::ArrayBuffer memory = ArgArrayBuffer(info, 0, "memory");
  uint64_t arenaOffset = ArgIndex(info, 1, "arenaOffset");
  uintptr_t base = reinterpret_cast<uintptr_t>(memory.Data());
  auto& overlays = Data(env).overlays;
  auto found = overlays.find(base + arenaOffset);
  if (found == overlays.end()) {
    for (auto it = overlays.begin(); it != overlays.end(); ++it) {
      if (it->second.offset == arenaOffset && it->second.memoryBase != base) {
        // The memory moved: V8 freed the old reservation, and the overlay with it. Never touch
        // the old address again.
        UnwatchMapping(reinterpret_cast<void*>(it->first));
        overlays.erase(it);
        throw CodedError(env, "Error", "ERR_MEMORY_MOVED", "the WebAssembly memory moved while a file was overlaid");
      }
    }
    throw CodedError(env, "Error", "ERR_NO_OVERLAY", "there is no overlay at that arena offset");
  }
  Overlay overlay = found->second;
  UnwatchMapping(reinterpret_cast<void*>(found->first));
  if (!RestoreAnonymous(reinterpret_cast<void*>(found->first), overlay.length)) {
    throw ErrnoError(env, errno, "cannot release an overlay from WebAssembly memory", "mmap");
  }
  overlays.erase(found);
  return env.Undefined();
}

Napi::Value LiveOverlays(const Napi::CallbackInfo& info) {
  auto& overlays = Data(info.Env()).overlays;
  ForgetCollectedOverlays(overlays);
  return Napi::Number::New(info.Env(), static_cast<double>(overlays.size()));
}

}  // namespace

void InitOverlay(Napi::Env env, Napi::Object exports) {
  exports.Set("overlay", Napi::Function::New<OverlayFile>(env, "overlay"));
  exports.Set("releaseOverlay", Napi::Function::New<ReleaseOverlay>(env, "releaseOverlay"));
  exports.Set("liveOverlays", Napi::Function::New<LiveOverlays>(env, "liveOverlays"));
#if defined(__linux__) || defined(__APPLE__)
  exports.Set("canOverlay", Napi::Boolean::New(env, true));
#else
  exports.Set("canOverlay", Napi::Boolean::New(env, false));
#endif
}

}  // namespace rawbright
