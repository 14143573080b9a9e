// FileHandle: an open regular file, owned by JavaScript, that windows and overlays are mapped from.
#pragma once

#include <napi.h>

#include <string>

namespace rawbright {

class FileHandle : public Napi::ObjectWrap<FileHandle> {
 public:
  static Napi::Function Define(Napi::Env env);
  // Wraps an already opened descriptor in a new JavaScript FileHandle (takes ownership of fd).
  static Napi::Object Wrap(Napi::Env env, int fd, const std::string& path, bool writable);
  static FileHandle* FromArg(const Napi::CallbackInfo& info, size_t i);

  explicit FileHandle(const Napi::CallbackInfo& info);
  ~FileHandle() override;

  // The descriptor, or a thrown EBADF-style error if the handle is closed.
  int Fd(Napi::Env env) const;
  const std::string& Path() const { return path_; }
  bool Writable() const { return writable_; }
  // Current size by fstat: another process may have changed it since open.
  uint64_t CurrentSize(Napi::Env env) const;

 private:
  Napi::Value Size(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value IsClosed(const Napi::CallbackInfo& info);
  Napi::Value Lock(const Napi::CallbackInfo& info);
  Napi::Value LockAsync(const Napi::CallbackInfo& info);
  Napi::Value Unlock(const Napi::CallbackInfo& info);
  Napi::Value Map(const Napi::CallbackInfo& info);
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value Sync(const Napi::CallbackInfo& info);
  Napi::Value SyncAsync(const Napi::CallbackInfo& info);
  Napi::Value SyncRange(const Napi::CallbackInfo& info);
  Napi::Value Allocate(const Napi::CallbackInfo& info);
  Napi::Value GetMarker(const Napi::CallbackInfo& info);
  Napi::Value SetMarker(const Napi::CallbackInfo& info);
  Napi::Value RemoveMarker(const Napi::CallbackInfo& info);

  int fd_ = -1;
  std::string path_;
  bool writable_ = false;
};

}  // namespace rawbright
