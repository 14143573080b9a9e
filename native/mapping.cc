// Operations on mapped memory: closing a window (detach, then unmap), flushing it to the file,
// access-pattern advice and prefaulting. They take (buffer, offset, length) so the same calls
// serve windows and overlays inside WebAssembly memory.
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common.h"

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace rawbright {

namespace {

// The page-aligned span covering a byte range, as msync/madvise require.
struct PageSpan {
  void* start;
  size_t length;
};

PageSpan SpanOf(const BufferRange& range) {
  uintptr_t begin = reinterpret_cast<uintptr_t>(range.data);
  uintptr_t alignedBegin = begin - begin % PageSize();
  return PageSpan{reinterpret_cast<void*>(alignedBegin), range.length + (begin - alignedBegin)};
}

// unmap(buffer): detach the window's ArrayBuffer (every view of it then reads byteLength 0) and unmap.
Napi::Value Unmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::ArrayBuffer buffer = ArgArrayBuffer(info, 0, "buffer");
  if (buffer.IsDetached() || buffer.ByteLength() == 0) return env.Undefined();
  uintptr_t key = reinterpret_cast<uintptr_t>(buffer.Data());
  auto& windows = Data(env).windows;
  auto found = windows.find(key);
  if (found == windows.end()) throw CodedError(env, "TypeError", "ERR_INVALID_ARG_VALUE", "buffer is not a mapped window");
  std::shared_ptr<Mapping> mapping = found->second;
  windows.erase(found);
  buffer.Detach();
  mapping->Release();
  return env.Undefined();
}

int MsyncRetrying(void* start, size_t length, bool wait) {
  int rc;
  do rc = msync(start, length, wait ? MS_SYNC : MS_ASYNC);
  while (rc != 0 && errno == EINTR);
  return rc;
}

// flush(buffer, offset, length, wait): write dirty pages of the range back to the file.
Napi::Value Flush(const Napi::CallbackInfo& info) {
  BufferRange range = ArgBufferRange(info, 0, "buffer");
  bool wait = ArgBool(info, 3, "sync");
  if (range.length == 0) return info.Env().Undefined();
  PageSpan span = SpanOf(range);
  if (MsyncRetrying(span.start, span.length, wait) != 0) {
    throw ErrnoError(info.Env(), errno, "cannot flush the window to its file", "msync");
  }
  return info.Env().Undefined();
}

class FlushWorker : public Napi::AsyncWorker {
 public:
  FlushWorker(Napi::Env env, Napi::ArrayBuffer buffer, PageSpan span)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), span_(span) {
    // Keeps the buffer alive until the flush is over, and a window's pages mapped even if the
    // window is closed meanwhile (close detaches the buffer and would otherwise unmap at once).
    buffer_ = Napi::Persistent(buffer);
    auto& windows = Data(env).windows;
    auto found = windows.find(reinterpret_cast<uintptr_t>(buffer.Data()));
    if (found != windows.end()) {
      mapping_ = found->second;
      mapping_->pendingFlushes++;
    }
  }
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { err_ = MsyncRetrying(span_.start, span_.length, true) == 0 ? 0 : errno; }
  void OnOK() override {
    if (mapping_ != nullptr && --mapping_->pendingFlushes == 0 && mapping_->unmapWhenFlushed) mapping_->Release();
    if (err_ != 0) {
      deferred_.Reject(ErrnoError(Env(), err_, "cannot flush the window to its file", "msync").Value());
    } else {
      deferred_.Resolve(Env().Undefined());
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  Napi::Reference<Napi::ArrayBuffer> buffer_;
  std::shared_ptr<Mapping> mapping_;
  PageSpan span_;
  int err_ = 0;
};

Napi::Value FlushAsync(const Napi::CallbackInfo& info) {
  BufferRange range = ArgBufferRange(info, 0, "buffer");
  if (range.length == 0) {
    auto deferred = Napi::Promise::Deferred::New(info.Env());
    deferred.Resolve(info.Env().Undefined());
    return deferred.Promise();
  }
  auto* worker = new FlushWorker(info.Env(), info[0].As<Napi::ArrayBuffer>(), SpanOf(range));
  worker->Queue();
  return worker->Promise();
}

// advise(buffer, offset, length, advice): madvise with one of the names the TypeScript layer offers.
Napi::Value Advise(const Napi::CallbackInfo& info) {
  BufferRange range = ArgBufferRange(info, 0, "buffer");
  std::string name = ArgString(info, 3, "advice");
  int advice;
  if (name == "normal") advice = MADV_NORMAL;
  else if (name == "sequential") advice = MADV_SEQUENTIAL;
  else if (name == "random") advice = MADV_RANDOM;
  else if (name == "willneed") advice = MADV_WILLNEED;
  else if (name == "dontneed") advice = MADV_DONTNEED;
#ifdef MADV_HUGEPAGE
  else if (name == "hugepage") advice = MADV_HUGEPAGE;
#endif
  else throw CodedError(info.Env(), "TypeError", "ERR_INVALID_ARG_VALUE", "unknown advice: " + name);
  if (range.length == 0) return info.Env().Undefined();
  PageSpan span = SpanOf(range);
  if (madvise(span.start, span.length, advice) != 0) {
    throw ErrnoError(info.Env(), errno, "cannot advise the kernel about the window (" + name + ")", "madvise");
  }
  return info.Env().Undefined();
}

// populate(buffer, offset, length, writable): prefault the pages so the kernel that follows takes no
// page faults. Returns the method used: "populate-write", "populate-read" or "touch" (older kernels).
Napi::Value Populate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BufferRange range = ArgBufferRange(info, 0, "buffer");
  bool writable = ArgBool(info, 3, "writable");
  if (range.length == 0) return Napi::String::New(env, "none");
  PageSpan span = SpanOf(range);
  int advice = writable ? MADV_POPULATE_WRITE : MADV_POPULATE_READ;
  if (madvise(span.start, span.length, advice) == 0) {
    return Napi::String::New(env, writable ? "populate-write" : "populate-read");
  }
  if (errno == EFAULT) {
    // The kernel would have raised SIGBUS for a page: the file was truncated below the window by
    // someone else. Saying so here is the one chance to fail with an error instead of a crash.
    throw ErrnoErrorWithMessage(env, EFAULT, "cannot load the window's pages: the file is now shorter than the window",
                                "madvise");
  }
  if (errno != EINVAL) {
    // EIO/ENOMEM: the file is unreadable or memory is short; say so before an access faults.
    throw ErrnoError(env, errno, "cannot load the window's pages", "madvise");
  }
  // Kernels before 5.14: read one byte per page (reads never change the file).
  madvise(span.start, span.length, MADV_WILLNEED);
  volatile const uint8_t* bytes = static_cast<const uint8_t*>(span.start);
  uint8_t sink = 0;
  for (size_t i = 0; i < span.length; i += PageSize()) sink ^= bytes[i];
  (void)sink;
  return Napi::String::New(env, "touch");
}

// address(buffer): the absolute address of the buffer's first byte, for alignment checks.
Napi::Value Address(const Napi::CallbackInfo& info) {
  Napi::ArrayBuffer buffer = ArgArrayBuffer(info, 0, "buffer");
  return Napi::BigInt::New(info.Env(), static_cast<uint64_t>(reinterpret_cast<uintptr_t>(buffer.Data())));
}

Napi::Value LiveWindows(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(Data(info.Env()).windows.size()));
}

}  // namespace

void InitMapping(Napi::Env env, Napi::Object exports) {
  exports.Set("unmap", Napi::Function::New<Unmap>(env, "unmap"));
  exports.Set("flush", Napi::Function::New<Flush>(env, "flush"));
  exports.Set("flushAsync", Napi::Function::New<FlushAsync>(env, "flushAsync"));
  exports.Set("advise", Napi::Function::New<Advise>(env, "advise"));
  exports.Set("populate", Napi::Function::New<Populate>(env, "populate"));
  exports.Set("address", Napi::Function::New<Address>(env, "address"));
  exports.Set("liveWindows", Napi::Function::New<LiveWindows>(env, "liveWindows"));
  exports.Set("pageSize", Napi::Number::New(env, static_cast<double>(PageSize())));
  // mmap offsets must be multiples of this: the page size on POSIX (64 KiB on Windows).
  exports.Set("allocationGranularity", Napi::Number::New(env, static_cast<double>(PageSize())));
}

}  // namespace rawbright
