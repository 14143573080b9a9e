// Opening, creating (preallocated), locking, reading and writing files. Every syscall failure
// becomes an Error with the errno name in .code and the path in .path.
#include "file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <random>

#include "common.h"

namespace rawbright {

namespace {

struct OpenResult {
  int fd = -1;
  int err = 0;
  const char* syscall = "open";
  std::string what;
};

// Opens a regular file. O_NONBLOCK keeps a FIFO from blocking the open; it is cleared afterwards.
OpenResult OpenRegular(const std::string& path, bool writable) {
  OpenResult result;
  int fd = ::open(path.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    result.err = errno;
    result.what = "cannot open " + path;
    return result;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    result.err = errno;
    result.syscall = "fstat";
    result.what = "cannot read the size of " + path;
    ::close(fd);
    return result;
  }
  if (S_ISDIR(st.st_mode)) {
    result.err = EISDIR;
    result.what = "cannot map " + path;
    ::close(fd);
    return result;
  }
  if (!S_ISREG(st.st_mode)) {
    result.err = ENODEV;
    result.what = "cannot map " + path + ", which is not a regular file";
    ::close(fd);
    return result;
  }
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  result.fd = fd;
  return result;
}

// Creates PATH of SIZE bytes, fully allocated. With overwrite, the new file is built beside the old
// one and renamed over it only once the space is secured, so a full disk never costs the old file.
OpenResult CreatePreallocated(const std::string& path, uint64_t size, bool overwrite) {
  OpenResult result;
  std::string target = path;
  std::string building = path;
  if (overwrite) {
    struct stat st;
    if (stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      result.err = EISDIR;
      result.what = "cannot create " + path;
      return result;
    }
    std::random_device random;
    building = path + ".rawbright-new-" + std::to_string(random());
  }
  int fd = ::open(building.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) {
    result.err = errno;
    result.what = errno == EEXIST ? path + " already exists" : "cannot create " + path;
    return result;
  }
  if (size > 0) {
    int err = posix_fallocate(fd, 0, static_cast<off_t>(size));
    if (err != 0) {
      ::close(fd);
      ::unlink(building.c_str());
      result.err = err;
      result.syscall = "posix_fallocate";
      result.what = "cannot allocate " + std::to_string(size) + " bytes for " + path;
      return result;
    }
  }
  if (overwrite && ::rename(building.c_str(), target.c_str()) != 0) {
    result.err = errno;
    result.syscall = "rename";
    result.what = "cannot replace " + path;
    ::close(fd);
    ::unlink(building.c_str());
    return result;
  }
  result.fd = fd;
  return result;
}

// Resolves a promise with a new FileHandle once an open or create has run on the thread pool.
class OpenWorker : public Napi::AsyncWorker {
 public:
  OpenWorker(Napi::Env env, std::string path, bool writable, bool create, uint64_t size, bool overwrite)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), path_(std::move(path)),
        writable_(writable), create_(create), size_(size), overwrite_(overwrite) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    result_ = create_ ? CreatePreallocated(path_, size_, overwrite_) : OpenRegular(path_, writable_);
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (result_.fd < 0) {
      deferred_.Reject(ErrnoError(env, result_.err, result_.what, result_.syscall, path_).Value());
      return;
    }
    deferred_.Resolve(FileHandle::Wrap(env, result_.fd, path_, writable_ || create_));
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::string path_;
  bool writable_;
  bool create_;
  uint64_t size_;
  bool overwrite_;
  OpenResult result_;
};

// Runs a blocking call (fsync, a waiting flock) on the thread pool and settles a promise.
class BlockingCallWorker : public Napi::AsyncWorker {
 public:
  BlockingCallWorker(Napi::Env env, int fd, std::string path, std::string what, const char* syscall,
                     int (*call)(int fd))
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), fd_(fd), path_(std::move(path)),
        what_(std::move(what)), syscall_(syscall), call_(call) {}

  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { err_ = call_(fd_) == 0 ? 0 : errno; }
  void OnOK() override {
    if (err_ != 0) {
      deferred_.Reject(ErrnoError(Env(), err_, what_, syscall_, path_).Value());
    } else {
      deferred_.Resolve(Env().Undefined());
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  int fd_;
  std::string path_;
  std::string what_;
  const char* syscall_;
  int (*call_)(int fd);
  int err_ = 0;
};

int FsyncRetrying(int fd) {
  int rc;
  do rc = ::fsync(fd);
  while (rc != 0 && errno == EINTR);
  return rc;
}

int FlockExclusiveWaiting(int fd) {
  int rc;
  do rc = ::flock(fd, LOCK_EX);
  while (rc != 0 && errno == EINTR);
  return rc;
}

int FlockSharedWaiting(int fd) {
  int rc;
  do rc = ::flock(fd, LOCK_SH);
  while (rc != 0 && errno == EINTR);
  return rc;
}

Napi::Error LockedError(Napi::Env env, const std::string& path) {
  Napi::Error error = Napi::Error::New(env, path + " is locked by another process");
  error.Set("code", Napi::String::New(env, "ERR_FILE_LOCKED"));
  error.Set("path", Napi::String::New(env, path));
  return error;
}

Napi::Value OpenFile(const Napi::CallbackInfo& info) {
  std::string path = ArgString(info, 0, "path");
  bool writable = ArgBool(info, 1, "writable");
  OpenResult result = OpenRegular(path, writable);
  if (result.fd < 0) throw ErrnoError(info.Env(), result.err, result.what, result.syscall, path);
  return FileHandle::Wrap(info.Env(), result.fd, path, writable);
}

Napi::Value OpenFileAsync(const Napi::CallbackInfo& info) {
  std::string path = ArgString(info, 0, "path");
  bool writable = ArgBool(info, 1, "writable");
  auto* worker = new OpenWorker(info.Env(), path, writable, false, 0, false);
  worker->Queue();
  return worker->Promise();
}

Napi::Value CreateFile(const Napi::CallbackInfo& info) {
  std::string path = ArgString(info, 0, "path");
  uint64_t size = ArgIndex(info, 1, "size");
  bool overwrite = ArgBool(info, 2, "overwrite");
  OpenResult result = CreatePreallocated(path, size, overwrite);
  if (result.fd < 0) throw ErrnoError(info.Env(), result.err, result.what, result.syscall, path);
  return FileHandle::Wrap(info.Env(), result.fd, path, true);
}

Napi::Value CreateFileAsync(const Napi::CallbackInfo& info) {
  std::string path = ArgString(info, 0, "path");
  uint64_t size = ArgIndex(info, 1, "size");
  bool overwrite = ArgBool(info, 2, "overwrite");
  auto* worker = new OpenWorker(info.Env(), path, true, true, size, overwrite);
  worker->Queue();
  return worker->Promise();
}

}  // namespace

Napi::Function FileHandle::Define(Napi::Env env) {
  return DefineClass(env, "FileHandle",
                     {
                         InstanceMethod<&FileHandle::Size>("size"),
                         InstanceMethod<&FileHandle::Close>("close"),
                         InstanceMethod<&FileHandle::IsClosed>("isClosed"),
                         InstanceMethod<&FileHandle::Lock>("lock"),
                         InstanceMethod<&FileHandle::LockAsync>("lockAsync"),
                         InstanceMethod<&FileHandle::Unlock>("unlock"),
                         InstanceMethod<&FileHandle::Map>("map"),
                         InstanceMethod<&FileHandle::Read>("read"),
                         InstanceMethod<&FileHandle::Write>("write"),
                         InstanceMethod<&FileHandle::Sync>("sync"),
                         InstanceMethod<&FileHandle::SyncAsync>("syncAsync"),
                         InstanceMethod<&FileHandle::SyncRange>("syncRange"),
                         InstanceMethod<&FileHandle::Allocate>("allocate"),
                     });
}

Napi::Object FileHandle::Wrap(Napi::Env env, int fd, const std::string& path, bool writable) {
  Napi::Object handle = Data(env).fileHandleConstructor.New({});
  FileHandle* self = Napi::ObjectWrap<FileHandle>::Unwrap(handle);
  self->fd_ = fd;
  self->path_ = path;
  self->writable_ = writable;
  return handle;
}

FileHandle* FileHandle::FromArg(const Napi::CallbackInfo& info, size_t i) {
  Napi::Env env = info.Env();
  if (i >= info.Length() || !info[i].IsObject() ||
      !info[i].As<Napi::Object>().InstanceOf(Data(env).fileHandleConstructor.Value())) {
    ThrowTypeError(env, "file must be a FileHandle");
  }
  return Napi::ObjectWrap<FileHandle>::Unwrap(info[i].As<Napi::Object>());
}

FileHandle::FileHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FileHandle>(info) {}

FileHandle::~FileHandle() {
  if (fd_ >= 0) ::close(fd_);
}

int FileHandle::Fd(Napi::Env env) const {
  if (fd_ < 0) throw CodedError(env, "Error", "ERR_CLOSED", path_ + " is closed");
  return fd_;
}

uint64_t FileHandle::CurrentSize(Napi::Env env) const {
  struct stat st;
  if (fstat(Fd(env), &st) != 0) throw ErrnoError(env, errno, "cannot read the size of " + path_, "fstat", path_);
  return static_cast<uint64_t>(st.st_size);
}

Napi::Value FileHandle::Size(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(CurrentSize(info.Env())));
}

Napi::Value FileHandle::Close(const Napi::CallbackInfo& info) {
  if (fd_ >= 0) {
    // Mappings stay valid after their descriptor is closed; a failing close still frees the fd.
    ::close(fd_);
    fd_ = -1;
  }
  return info.Env().Undefined();
}

Napi::Value FileHandle::IsClosed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), fd_ < 0); }

Napi::Value FileHandle::Lock(const Napi::CallbackInfo& info) {
  bool exclusive = ArgBool(info, 0, "exclusive");
  bool wait = ArgBool(info, 1, "wait");
  int operation = (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB);
  int rc;
  do rc = ::flock(Fd(info.Env()), operation);
  while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    if (errno == EWOULDBLOCK) throw LockedError(info.Env(), path_);
    throw ErrnoError(info.Env(), errno, "cannot lock " + path_, "flock", path_);
  }
  return info.Env().Undefined();
}

Napi::Value FileHandle::LockAsync(const Napi::CallbackInfo& info) {
  bool exclusive = ArgBool(info, 0, "exclusive");
  auto* worker = new BlockingCallWorker(info.Env(), Fd(info.Env()), path_, "cannot lock " + path_, "flock",
                                        exclusive ? FlockExclusiveWaiting : FlockSharedWaiting);
  worker->Queue();
  return worker->Promise();
}

Napi::Value FileHandle::Unlock(const Napi::CallbackInfo& info) {
  if (::flock(Fd(info.Env()), LOCK_UN) != 0) {
    throw ErrnoError(info.Env(), errno, "cannot unlock " + path_, "flock", path_);
  }
  return info.Env().Undefined();
}

// Called by V8 (on the JS thread) once the ArrayBuffer of a window is garbage collected.
static void FinalizeWindow(Napi::Env env, void* data, std::shared_ptr<Mapping>* hint) {
  std::shared_ptr<Mapping> mapping = *hint;
  delete hint;
  if (!mapping->unmapped) {
    munmap(mapping->base, mapping->length);
    mapping->unmapped = true;
  }
  Data(env).windows.erase(reinterpret_cast<uintptr_t>(data));
}

// map(offset, length, shared): the file bytes [offset, offset + length) as an external ArrayBuffer.
// The native side aligns the offset down to a page and returns the view at the right delta.
Napi::Value FileHandle::Map(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t offset = ArgIndex(info, 0, "offset");
  uint64_t length = ArgIndex(info, 1, "length");
  bool shared = ArgBool(info, 2, "shared");
  if (shared && !writable_) {
    throw CodedError(env, "Error", "ERR_READ_ONLY", path_ + " was opened read-only and cannot be mapped shared");
  }
  uint64_t size = CurrentSize(env);
  if (offset > size) throw CodedError(env, "RangeError", "ERR_OUT_OF_RANGE", "offset is larger than the file");
  if (length > size - offset) throw CodedError(env, "RangeError", "ERR_OUT_OF_RANGE", "length is past the end of the file");
  if (length > 0xFFFFFFFFull + 1) {
    throw CodedError(env, "RangeError", "ERR_WINDOW_TOO_LARGE", "a window is at most 4 GiB");
  }
  if (length == 0) return Napi::ArrayBuffer::New(env, 0);

  uint64_t aligned = offset - offset % PageSize();
  size_t delta = static_cast<size_t>(offset - aligned);
  size_t mapLength = static_cast<size_t>(length) + delta;
  // A private mapping is writable too: JavaScript writes into a 'read' window stay in memory
  // (copy-on-write) instead of faulting the process.
  void* base = mmap(nullptr, mapLength, PROT_READ | PROT_WRITE, shared ? MAP_SHARED : MAP_PRIVATE, Fd(env),
                    static_cast<off_t>(aligned));
  if (base == MAP_FAILED) throw ErrnoError(env, errno, "cannot map " + path_, "mmap", path_);

  auto mapping = std::make_shared<Mapping>();
  mapping->base = base;
  mapping->length = mapLength;
  uint8_t* view = static_cast<uint8_t*>(base) + delta;
  Data(env).windows[reinterpret_cast<uintptr_t>(view)] = mapping;
  try {
    return Napi::ArrayBuffer::New(env, view, static_cast<size_t>(length), FinalizeWindow,
                                  new std::shared_ptr<Mapping>(mapping));
  } catch (...) {
    munmap(base, mapLength);
    Data(env).windows.erase(reinterpret_cast<uintptr_t>(view));
    throw;
  }
}

// read(fileOffset, buffer, offset, length): pread until length bytes or end of file; returns the count.
Napi::Value FileHandle::Read(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t position = ArgIndex(info, 0, "position");
  BufferRange range = ArgBufferRange(info, 1, "buffer");
  int fd = Fd(env);
  size_t done = 0;
  while (done < range.length) {
    ssize_t n = ::pread(fd, range.data + done, range.length - done, static_cast<off_t>(position + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw ErrnoError(env, errno, "cannot read " + path_, "pread", path_);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  return Napi::Number::New(env, static_cast<double>(done));
}

// write(fileOffset, buffer, offset, length): pwrite all of it, or throw (ENOSPC, EFBIG, EIO, ...).
Napi::Value FileHandle::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t position = ArgIndex(info, 0, "position");
  BufferRange range = ArgBufferRange(info, 1, "buffer");
  int fd = Fd(env);
  size_t done = 0;
  while (done < range.length) {
    ssize_t n = ::pwrite(fd, range.data + done, range.length - done, static_cast<off_t>(position + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw ErrnoError(env, errno, "cannot write " + path_, "pwrite", path_);
    }
    done += static_cast<size_t>(n);
  }
  return Napi::Number::New(env, static_cast<double>(done));
}

Napi::Value FileHandle::Sync(const Napi::CallbackInfo& info) {
  if (FsyncRetrying(Fd(info.Env())) != 0) {
    throw ErrnoError(info.Env(), errno, "cannot flush " + path_ + " to disk", "fsync", path_);
  }
  return info.Env().Undefined();
}

Napi::Value FileHandle::SyncAsync(const Napi::CallbackInfo& info) {
  auto* worker = new BlockingCallWorker(info.Env(), Fd(info.Env()), path_, "cannot flush " + path_ + " to disk",
                                        "fsync", FsyncRetrying);
  worker->Queue();
  return worker->Promise();
}

// syncRange(offset, length, wait): start (and optionally wait for) writeback of a byte range, so
// dirty pages do not pile up on long runs. Linux only; elsewhere a full fsync when waiting.
Napi::Value FileHandle::SyncRange(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t offset = ArgIndex(info, 0, "offset");
  uint64_t length = ArgIndex(info, 1, "length");
  bool wait = ArgBool(info, 2, "wait");
#ifdef __linux__
  unsigned flags = SYNC_FILE_RANGE_WRITE;
  if (wait) flags |= SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WAIT_AFTER;
  if (sync_file_range(Fd(env), static_cast<off_t>(offset), static_cast<off_t>(length), flags) != 0) {
    throw ErrnoError(env, errno, "cannot write back " + path_, "sync_file_range", path_);
  }
#else
  if (wait && FsyncRetrying(Fd(env)) != 0) throw ErrnoError(env, errno, "cannot flush " + path_, "fsync", path_);
#endif
  return env.Undefined();
}

// allocate(offset, length): reserve disk blocks so later writes through a mapping cannot hit a full disk.
Napi::Value FileHandle::Allocate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t offset = ArgIndex(info, 0, "offset");
  uint64_t length = ArgIndex(info, 1, "length");
  if (length == 0) return env.Undefined();
  int err = posix_fallocate(Fd(env), static_cast<off_t>(offset), static_cast<off_t>(length));
  if (err != 0) throw ErrnoError(env, err, "cannot allocate space for " + path_, "posix_fallocate", path_);
  return env.Undefined();
}

void InitFile(Napi::Env env, Napi::Object exports) {
  Napi::Function constructor = FileHandle::Define(env);
  Data(env).fileHandleConstructor = Napi::Persistent(constructor);
  exports.Set("FileHandle", constructor);
  exports.Set("openFile", Napi::Function::New<OpenFile>(env, "openFile"));
  exports.Set("openFileAsync", Napi::Function::New<OpenFileAsync>(env, "openFileAsync"));
  exports.Set("createFile", Napi::Function::New<CreateFile>(env, "createFile"));
  exports.Set("createFileAsync", Napi::Function::New<CreateFileAsync>(env, "createFileAsync"));
}

}  // namespace rawbright
