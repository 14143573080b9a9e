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
  Napi::Value LockRange(const Napi::CallbackInfo& info);
  Napi::Value UnlockRange(const Napi::CallbackInfo& info);
  Napi::Value RangeHolder(const Napi::CallbackInfo& info);
  Napi::Value Map(const Napi::CallbackInfo& info);
  Napi::Value Read(const Napi::CallbackInfo& info);
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value Sync(const Napi::CallbackInfo& info);
  Napi::Value SyncAsync(const Napi::CallbackInfo& info);
  Napi::Value SyncRange(const Napi::CallbackInfo& info);
  Napi::Value Allocate(const Napi::CallbackInfo& info);
  Napi::Value FileKind(const Napi::CallbackInfo& info);
  Napi::Value GetMarker(const Napi::CallbackInfo& info);
  Napi::Value SetMarker(const Napi::CallbackInfo& info);
  Napi::Value RemoveMarker(const Napi::CallbackInfo& info);
  Napi::Value ListMarkers(const Napi::CallbackInfo& info);
  // grow(capacity) / growAsync(capacity): extends the file, preallocated, to at least capacity bytes.
  Napi::Value Grow(const Napi::CallbackInfo& info);
  Napi::Value GrowAsync(const Napi::CallbackInfo& info);
  // path(): the path the handle was opened by (or what /proc said a caller's descriptor was).
  Napi::Value GetPath(const Napi::CallbackInfo& info);
  // own(fd): also close the caller's descriptor fd when this handle closes (fromFd without leaveOpen).
  Napi::Value Own(const Napi::CallbackInfo& info);

 public:
  // Named maps (named_map.cc). registerName(directory, name, access) registers this open file under
  // a name in a per-user folder; openNamedFile finds it again from another process. The registration
  // lives until ReleaseName (close(), or the handle being collected).
  static Napi::Value OpenNamed(const Napi::CallbackInfo& info);
  Napi::Value RegisterName(const Napi::CallbackInfo& info);
  Napi::Value ReleaseNameMethod(const Napi::CallbackInfo& info);
  void ReleaseName();

 private:
  int fd_ = -1;
  std::string path_;
  bool writable_ = false;
  // A caller's descriptor handed over with fromFd: the handle works on a duplicate and closes this one with it.
  int ownedFd_ = -1;
  // The registry file of the name this handle holds (a read lock on it marks this handle a user of
  // the name), and the folder it is in; -1 when the handle holds no name.
  int nameFd_ = -1;
  int nameDirFd_ = -1;
  std::string nameFile_;
};

}  // namespace rawbright
