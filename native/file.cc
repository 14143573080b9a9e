// Opening, creating (preallocated), locking, reading and writing files. Every syscall failure
// becomes an Error with the errno name in .code and the path in .path.
#include "file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#ifdef __linux__
#include <sys/vfs.h>
#include <sys/xattr.h>
#endif
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <random>
#include <utility>
#include <vector>

#include "common.h"

namespace rawbright {

namespace {

struct OpenResult {
  int fd = -1;
  int err = 0;
  const char* syscall = "open";
  std::string message;
  // True when message is a prefix to which strerror(err) is appended; false when it is the whole sentence.
  bool withReason = true;
};

OpenResult Failure(int err, const char* syscall, std::string message, bool withReason = true) {
  OpenResult result;
  result.err = err;
  result.syscall = syscall;
  result.message = std::move(message);
  result.withReason = withReason;
  return result;
}

Napi::Error ResultError(Napi::Env env, const OpenResult& result, const std::string& path) {
  if (result.withReason) return ErrnoError(env, result.err, result.message, result.syscall, path);
  return ErrnoErrorWithMessage(env, result.err, result.message, result.syscall, path);
}

// Only regular files can be mapped: a directory is EISDIR, anything else (FIFO, socket, device) ENODEV.
bool RefuseIfNotRegular(const struct stat& st, const std::string& path, const char* syscall, OpenResult* result) {
  if (S_ISREG(st.st_mode)) return false;
  *result = S_ISDIR(st.st_mode)
                ? Failure(EISDIR, syscall, "cannot map " + path + ": it is a directory", false)
                : Failure(ENODEV, syscall, "cannot map " + path + ": it is not a regular file", false);
  return true;
}

// Opens a regular file. The path is looked at before it is opened, because opening a device or a
// FIFO can have side effects (a tape rewinds, a FIFO's writer wakes up); it is checked again on
// the descriptor in case the path changed in between. O_NONBLOCK keeps that second case from
// blocking on a FIFO; it is cleared afterwards.
OpenResult OpenRegular(const std::string& path, bool writable) {
  OpenResult result;
  struct stat st;
  // When stat fails, open below fails the same way (ENOENT, EACCES, ENOTDIR, ...) and says so.
  if (::stat(path.c_str(), &st) == 0 && RefuseIfNotRegular(st, path, "stat", &result)) return result;
  int fd = ::open(path.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return Failure(errno, "open", "cannot open " + path);
  if (fstat(fd, &st) != 0) {
    result = Failure(errno, "fstat", "cannot read the size of " + path);
    ::close(fd);
    return result;
  }
  if (RefuseIfNotRegular(st, path, "fstat", &result)) {
    ::close(fd);
    return result;
  }
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  result.fd = fd;
  return result;
}

std::string DirectoryOf(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// A fresh hidden name in DIRECTORY (short, so a long target name cannot push it past NAME_MAX).
std::string TemporaryNameIn(const std::string& directory) {
  std::random_device random;
  char suffix[24];
  std::snprintf(suffix, sizeof suffix, "%08x%08x", static_cast<unsigned>(random()), static_cast<unsigned>(random()));
  return directory + "/.rawbright-new-" + suffix;
}

// Gives an O_TMPFILE file the name NAME; fails with EEXIST if NAME exists. Linking through /proc
// needs no privilege; AT_EMPTY_PATH, the fallback where /proc is missing, needs CAP_DAC_READ_SEARCH.
int LinkAnonymous(int fd, const std::string& name) {
  std::string proc = "/proc/self/fd/" + std::to_string(fd);
  if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, name.c_str(), AT_SYMLINK_FOLLOW) == 0) return 0;
  if (errno != ENOENT) return errno;
  if (::linkat(fd, "", AT_FDCWD, name.c_str(), AT_EMPTY_PATH) == 0) return 0;
  return errno;
}

// Creates PATH of SIZE bytes, fully allocated, so a full disk fails here rather than as SIGBUS in
// the middle of writing through a mapping. The file is built without a name (O_TMPFILE) and only
// linked in once its space is secured: a failure, or the process being killed during a long
// allocation, leaves no half-allocated file and no temporary file behind. With overwrite, it is
// linked under a temporary name and renamed over the old file, which stays intact until then and
// whose owner and permissions the new file keeps. Where O_TMPFILE is unsupported, a named
// temporary file (overwrite) or the target itself (O_EXCL) is used and unlinked on failure.
OpenResult CreatePreallocated(const std::string& path, uint64_t size, bool overwrite) {
  struct stat old;
  bool exists = ::stat(path.c_str(), &old) == 0;
  if (exists && !overwrite) return Failure(EEXIST, "open", "cannot create " + path + ": it already exists", false);
  if (exists && S_ISDIR(old.st_mode)) return Failure(EISDIR, "open", "cannot create " + path + ": it is a directory", false);
  if (exists && !S_ISREG(old.st_mode)) {
    // Renaming over a device node or FIFO (think /dev/null) would be a disaster, not an overwrite.
    return Failure(ENODEV, "open", "cannot overwrite " + path + ": it is not a regular file", false);
  }
  std::string target = path;
  if (exists) {
    // Replace the file a symbolic link points to, not the link, as writing to the path would.
    if (char* real = ::realpath(path.c_str(), nullptr)) {
      target = real;
      std::free(real);
    }
  }
  std::string directory = DirectoryOf(target);

  bool anonymous = true;
  std::string named;  // the name the file has while being built, if it has one
  int fd = ::open(directory.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0666);
  if (fd < 0) {
    int err = errno;
    if (err != EOPNOTSUPP && err != EISDIR && err != EINVAL) return Failure(err, "open", "cannot create " + path);
    anonymous = false;
    named = overwrite ? TemporaryNameIn(directory) : target;
    fd = ::open(named.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) {
      err = errno;
      if (err == EEXIST && !overwrite) return Failure(EEXIST, "open", "cannot create " + path + ": it already exists", false);
      return Failure(err, "open", "cannot create " + path);
    }
  }
  auto discard = [&](OpenResult failure) {
    ::close(fd);
    if (!named.empty()) ::unlink(named.c_str());
    return failure;
  };

  if (exists) {
    // Only root may give the file away; anyone keeps the mode. Neither failure is worth refusing for.
    if (fchown(fd, old.st_uid, old.st_gid) != 0) {
    }
    if (fchmod(fd, old.st_mode & 07777) != 0) {
    }
  }
  if (size > 0) {
    int err = posix_fallocate(fd, 0, static_cast<off_t>(size));
    if (err != 0) {
      return discard(
          Failure(err, "posix_fallocate", "cannot allocate " + std::to_string(size) + " bytes for " + path));
    }
  }
  if (anonymous) {
    std::string name = overwrite ? TemporaryNameIn(directory) : target;
    int err = LinkAnonymous(fd, name);
    if (err == EEXIST && !overwrite) {
      return discard(Failure(EEXIST, "linkat", "cannot create " + path + ": it already exists", false));
    }
    if (err != 0) return discard(Failure(err, "linkat", "cannot create " + path));
    named = name;
  }
  if (overwrite && ::rename(named.c_str(), target.c_str()) != 0) {
    return discard(Failure(errno, "rename", "cannot replace " + path));
  }
  OpenResult result;
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
      deferred_.Reject(ResultError(env, result_, path_).Value());
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

// Runs a blocking call (fsync, a waiting flock) on the thread pool and settles a promise. It works
// on a duplicate of the descriptor: if JavaScript closes the file meanwhile, the number could be
// reused by another open file, and a queued flock would then lock the wrong file. A duplicate
// shares the open file description, so a lock taken through it is the file handle's lock.
class BlockingCallWorker : public Napi::AsyncWorker {
 public:
  BlockingCallWorker(Napi::Env env, int fd, std::string path, std::string what, const char* syscall,
                     int (*call)(int fd))
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), path_(std::move(path)),
        what_(std::move(what)), syscall_(syscall), call_(call) {
    fd_ = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (fd_ < 0) throw ErrnoError(env, errno, what_, "fcntl", path_);
  }
  ~BlockingCallWorker() override {
    if (fd_ >= 0) ::close(fd_);
  }

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
  int fd_ = -1;
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
  if (result.fd < 0) throw ResultError(info.Env(), result, path);
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
  if (result.fd < 0) throw ResultError(info.Env(), result, path);
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


// Grows the file behind FD to at least CAPACITY bytes, allocated on disk, or changes nothing:
// returns 0 or the errno. The blocks are reserved past the end first (FALLOC_FL_KEEP_SIZE), so a
// full disk fails before the size moves, and only then is the end moved over them by a second
// fallocate, which never shrinks the file even if another process grew it meanwhile. Where the file
// system cannot allocate ahead, posix_fallocate's emulation writes the blocks, and a failure
// truncates the file back to its old size.
int GrowTo(int fd, uint64_t capacity) {
  struct stat st;
  if (fstat(fd, &st) != 0) return errno;
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size >= capacity) return 0;
  off_t start = static_cast<off_t>(size);
  off_t extra = static_cast<off_t>(capacity - size);
#ifdef __linux__
  int rc;
  do rc = fallocate(fd, FALLOC_FL_KEEP_SIZE, start, extra);
  while (rc != 0 && errno == EINTR);
  if (rc == 0) {
    do rc = fallocate(fd, 0, start, extra);
    while (rc != 0 && errno == EINTR);
    if (rc == 0) return 0;
  }
  int err = errno;
  if (err != EOPNOTSUPP && err != ENOSYS) {
    // ext4 keeps the blocks a failed allocation did get, past the end where nothing shows them (and
    // punching a hole there does nothing): a truncate to the unchanged size gives them back, unless
    // someone else has grown the file over them meanwhile.
    if (fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_size) == size && ftruncate(fd, start) != 0) {
    }
    return err;
  }
#endif
  int err2 = posix_fallocate(fd, start, extra);
  if (err2 != 0) {
    if (fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_size) > size && ftruncate(fd, start) != 0) {
    }
    return err2;
  }
  return 0;
}

std::string GrowMessage(uint64_t capacity, const std::string& path) {
  return "cannot grow " + path + " to " + std::to_string(capacity) + " bytes";
}

// growAsync: GrowTo on the thread pool, on a duplicate of the descriptor (see BlockingCallWorker).
class GrowWorker : public Napi::AsyncWorker {
 public:
  GrowWorker(Napi::Env env, int fd, std::string path, uint64_t capacity)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), path_(std::move(path)),
        capacity_(capacity) {
    fd_ = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (fd_ < 0) throw ErrnoError(env, errno, GrowMessage(capacity_, path_), "fcntl", path_);
  }
  ~GrowWorker() override {
    if (fd_ >= 0) ::close(fd_);
  }
  Napi::Promise Promise() { return deferred_.Promise(); }
  void Execute() override { err_ = GrowTo(fd_, capacity_); }
  void OnOK() override {
    if (err_ != 0) {
      deferred_.Reject(ErrnoError(Env(), err_, GrowMessage(capacity_, path_), "fallocate", path_).Value());
    } else {
      deferred_.Resolve(Env().Undefined());
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  int fd_ = -1;
  std::string path_;
  uint64_t capacity_;
  int err_ = 0;
};

// The name a descriptor's file goes by in messages: where /proc/self/fd says it is, else "fd N".
std::string DescriptorPath(int fd) {
  char target[4096];
  std::string link = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
  if (n > 0 && target[0] == '/') return std::string(target, static_cast<size_t>(n));
  return "fd " + std::to_string(fd);
}

// openDescriptor(fd, writable): a FileHandle over a duplicate of a descriptor the caller opened, so
// that a refused fromFd (a name in use, a full disk) leaves the caller's descriptor alone; fromFd
// without leaveOpen then hands the original over with own(fd), to be closed with the handle. Mapping needs a
// regular file opened for reading (O_RDONLY or O_RDWR), and shared writable windows need O_RDWR
// without O_APPEND (mmap refuses an append-only descriptor): checked here, before anything is wrapped.
Napi::Value OpenDescriptor(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t number = ArgIndex(info, 0, "fd");
  bool writable = ArgBool(info, 1, "writable");
  if (number > static_cast<uint64_t>(INT32_MAX)) ThrowRangeError(env, "fd must be a descriptor number");
  int fd = static_cast<int>(number);
  std::string name = "fd " + std::to_string(fd);
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) {
    throw ErrnoErrorWithMessage(env, errno, "cannot map " + name + ": it is not an open file descriptor", "fcntl");
  }
  std::string path = DescriptorPath(fd);
  auto refuse = [&](const std::string& why) {
    Napi::Error error = CodedError(env, "Error", "ERR_FD_ACCESS", "cannot map " + name + " (" + path + "): " + why);
    error.Set("path", Napi::String::New(env, path));
    return error;
  };
#ifdef O_PATH
  if ((flags & O_PATH) != 0) throw refuse("it was opened with O_PATH, which allows no reading");
#endif
  struct stat st;
  if (fstat(fd, &st) != 0) throw ErrnoError(env, errno, "cannot read the size of " + path, "fstat", path);
  if (S_ISDIR(st.st_mode)) {
    throw ErrnoErrorWithMessage(env, EISDIR, "cannot map " + name + " (" + path + "): it is a directory", "fstat", path);
  }
  if (!S_ISREG(st.st_mode)) {
    throw ErrnoErrorWithMessage(env, ENODEV, "cannot map " + name + " (" + path + "): it is not a regular file", "fstat",
                                path);
  }
  int mode = flags & O_ACCMODE;
  if (mode == O_WRONLY) throw refuse("it was opened write-only (O_WRONLY), and a mapping must be able to read");
  if (writable && mode != O_RDWR) throw refuse("'readwrite' needs a descriptor opened O_RDWR, and this one is O_RDONLY");
  if (writable && (flags & O_APPEND) != 0) throw refuse("'readwrite' cannot map a descriptor opened with O_APPEND");
  int duplicate = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (duplicate < 0) throw ErrnoError(env, errno, "cannot duplicate " + name, "fcntl", path);
  return FileHandle::Wrap(env, duplicate, path, writable);
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
                         InstanceMethod<&FileHandle::LockRange>("lockRange"),
                         InstanceMethod<&FileHandle::UnlockRange>("unlockRange"),
                         InstanceMethod<&FileHandle::RangeHolder>("rangeHolder"),
                         InstanceMethod<&FileHandle::Map>("map"),
                         InstanceMethod<&FileHandle::Read>("read"),
                         InstanceMethod<&FileHandle::Write>("write"),
                         InstanceMethod<&FileHandle::FileKind>("fileKind"),
                         InstanceMethod<&FileHandle::Sync>("sync"),
                         InstanceMethod<&FileHandle::SyncAsync>("syncAsync"),
                         InstanceMethod<&FileHandle::SyncRange>("syncRange"),
                         InstanceMethod<&FileHandle::Allocate>("allocate"),
                         InstanceMethod<&FileHandle::GetMarker>("getMarker"),
                         InstanceMethod<&FileHandle::SetMarker>("setMarker"),
                         InstanceMethod<&FileHandle::RemoveMarker>("removeMarker"),
                         InstanceMethod<&FileHandle::ListMarkers>("listMarkers"),
                         InstanceMethod<&FileHandle::Grow>("grow"),
                         InstanceMethod<&FileHandle::GrowAsync>("growAsync"),
                         InstanceMethod<&FileHandle::RegisterName>("registerName"),
                         InstanceMethod<&FileHandle::ReleaseNameMethod>("releaseName"),
                         InstanceMethod<&FileHandle::GetPath>("path"),
                         InstanceMethod<&FileHandle::Own>("own"),
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
  ReleaseName();
  if (fd_ >= 0) ::close(fd_);
  if (ownedFd_ >= 0) ::close(ownedFd_);
}

int FileHandle::Fd(Napi::Env env) const {
  if (fd_ < 0) {
    Napi::Error error = CodedError(env, "Error", "ERR_CLOSED", path_ + " is closed");
    error.Set("path", Napi::String::New(env, path_));
    throw error;
  }
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
  // The name first: while it is registered, its record points other processes at this descriptor.
  ReleaseName();
  if (fd_ >= 0) {
    // Mappings stay valid after their descriptor is closed; a failing close still frees the fd.
    ::close(fd_);
    fd_ = -1;
  }
  if (ownedFd_ >= 0) {
    ::close(ownedFd_);
    ownedFd_ = -1;
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

namespace {
// The arguments every range-lock call takes: (offset, length[, exclusive]), checked in that order.
struct RangeRequest {
  uint64_t offset;
  uint64_t length;
  bool exclusive;
};

RangeRequest ArgRangeRequest(const Napi::CallbackInfo& info, bool withExclusive) {
  RangeRequest request;
  request.offset = ArgIndex(info, 0, "offset");
  request.length = ArgIndex(info, 1, "length");
  request.exclusive = withExclusive && ArgBool(info, 2, "exclusive");
  return request;
}

#ifndef F_OFD_SETLK
Napi::Error NoOfdLocksError(Napi::Env env, const std::string& path) {
  return ErrnoError(env, ENOSYS, "byte-range locks need OFD locks (F_OFD_SETLK, Linux 3.15+)", "fcntl", path);
}
#endif
}  // namespace

#ifdef F_OFD_SETLK
namespace {
// An open-file-description lock (F_OFD_SETLK) over [offset, offset + length); length 0 means "to the
// end of the file, however far it grows". OFD locks belong to the open file description, not the
// process, so two handles in one process conflict like two processes do; they are independent of
// flock on Linux, which is why whole-file runs take an OFD lock over the whole file as well.
struct flock RangeLock(short type, uint64_t offset, uint64_t length) {
  struct flock lock = {};
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  lock.l_start = static_cast<off_t>(offset);
  lock.l_len = static_cast<off_t>(length);
  lock.l_pid = 0;
  return lock;
}

// The lock a request asks for: exclusive (F_WRLCK) or shared (F_RDLCK).
struct flock RangeLock(const RangeRequest& request) {
  return RangeLock(request.exclusive ? F_WRLCK : F_RDLCK, request.offset, request.length);
}

// Describes a conflicting lock found by F_OFD_GETLK, or undefined when none is held.
Napi::Value HolderObject(Napi::Env env, const struct flock& lock) {
  if (lock.l_type == F_UNLCK) return env.Undefined();
  Napi::Object holder = Napi::Object::New(env);
  holder.Set("start", Napi::Number::New(env, static_cast<double>(lock.l_start)));
  holder.Set("length", Napi::Number::New(env, static_cast<double>(lock.l_len)));
  holder.Set("exclusive", Napi::Boolean::New(env, lock.l_type == F_WRLCK));
  // F_OFD_GETLK reports pid -1: the holder is an open file description, not a process.
  holder.Set("pid", Napi::Number::New(env, lock.l_pid));
  return holder;
}

std::string RangeText(double start, double length) {
  char text[96];
  if (length == 0) {
    std::snprintf(text, sizeof text, "%.0f…end of file", start);
  } else {
    std::snprintf(text, sizeof text, "%.0f…%.0f", start, start + length);
  }
  return text;
}
}  // namespace
#endif

// lockRange(offset, length, exclusive): takes the OFD lock at once or throws ERR_RANGE_LOCKED naming
// the holder's range (error.holder = { start, length, exclusive, pid: -1 }).
Napi::Value FileHandle::LockRange(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RangeRequest request = ArgRangeRequest(info, true);
#ifdef F_OFD_SETLK
  uint64_t offset = request.offset;
  uint64_t length = request.length;
  struct flock lock = RangeLock(request);
  int rc;
  do rc = fcntl(Fd(env), F_OFD_SETLK, &lock);
  while (rc != 0 && errno == EINTR);
  if (rc == 0) return env.Undefined();
  if (errno != EAGAIN && errno != EACCES) {
    throw ErrnoError(env, errno, "cannot lock bytes " + RangeText(offset, length) + " of " + path_, "fcntl", path_);
  }
  struct flock probe = RangeLock(request);
  Napi::Value holder = env.Undefined();
  if (fcntl(Fd(env), F_OFD_GETLK, &probe) == 0) holder = HolderObject(env, probe);
  std::string message = "bytes " + RangeText(offset, length) + " of " + path_ + " are locked";
  if (holder.IsObject()) {
    Napi::Object h = holder.As<Napi::Object>();
    message += " by another open file (" + std::string(probe.l_type == F_WRLCK ? "exclusive" : "shared") +
               " lock on bytes " + RangeText(h.Get("start").As<Napi::Number>().DoubleValue(),
                                             h.Get("length").As<Napi::Number>().DoubleValue()) +
               "; OFD locks report pid -1, so the holding process is not known)";
  } else {
    message += " by another open file (released since)";
  }
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, "ERR_RANGE_LOCKED"));
  error.Set("path", Napi::String::New(env, path_));
  error.Set("holder", holder);
  throw error;
#else
  (void)request;
  throw NoOfdLocksError(env, path_);
#endif
}

Napi::Value FileHandle::UnlockRange(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RangeRequest request = ArgRangeRequest(info, false);
#ifdef F_OFD_SETLK
  struct flock lock = RangeLock(F_UNLCK, request.offset, request.length);
  if (fcntl(Fd(env), F_OFD_SETLK, &lock) != 0) {
    throw ErrnoError(env, errno,
                     "cannot unlock bytes " + RangeText(request.offset, request.length) + " of " + path_,
                     "fcntl", path_);
  }
  return env.Undefined();
#else
  (void)request;
  throw NoOfdLocksError(env, path_);
#endif
}

// rangeHolder(offset, length, exclusive): the lock that would refuse lockRange, or undefined.
Napi::Value FileHandle::RangeHolder(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RangeRequest request = ArgRangeRequest(info, true);
#ifdef F_OFD_SETLK
  struct flock probe = RangeLock(request);
  if (fcntl(Fd(env), F_OFD_GETLK, &probe) != 0) {
    throw ErrnoError(env, errno, "cannot query locks of " + path_, "fcntl", path_);
  }
  return HolderObject(env, probe);
#else
  (void)request;
  throw NoOfdLocksError(env, path_);
#endif
}

// Called by V8 (on the JS thread) once the ArrayBuffer of a window is garbage collected.
static void FinalizeWindow(Napi::Env env, void* data, std::shared_ptr<Mapping>* hint) {
  std::shared_ptr<Mapping> mapping = *hint;
  delete hint;
  mapping->Release();
  // Node runs this finalizer from a later event-loop turn, also after close(), which unmapped at
  // once: by then a new window may live at the same address. Forget only this window's entry.
  auto& windows = Data(env).windows;
  auto found = windows.find(reinterpret_cast<uintptr_t>(data));
  if (found != windows.end() && found->second == mapping) windows.erase(found);
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
  // (copy-on-write) instead of faulting the process. MAP_NORESERVE because a writable private
  // mapping is otherwise charged in full against the commit limit: under the default heuristic
  // overcommit a 4 GiB 'read' window would fail with ENOMEM on a machine with less free RAM + swap,
  // although only the pages JavaScript writes ever take memory.
  void* base = mmap(nullptr, mapLength, PROT_READ | PROT_WRITE, shared ? MAP_SHARED : MAP_PRIVATE | MAP_NORESERVE,
                    Fd(env), static_cast<off_t>(aligned));
  if (base == MAP_FAILED) throw ErrnoError(env, errno, "cannot map " + path_, "mmap", path_);
  WatchMapping(base, mapLength);

  auto mapping = std::make_shared<Mapping>();
  mapping->base = base;
  mapping->length = mapLength;
  uint8_t* view = static_cast<uint8_t*>(base) + delta;
  uintptr_t key = reinterpret_cast<uintptr_t>(view);
  Data(env).windows[key] = mapping;
  try {
    return Napi::ArrayBuffer::New(env, view, static_cast<size_t>(length), FinalizeWindow,
                                  new std::shared_ptr<Mapping>(mapping));
  } catch (...) {
    // Node may already have scheduled the finalizer (it owns the hint then): the shared flag keeps
    // the two from unmapping twice.
    if (!mapping->unmapped) {
      mapping->unmapped = true;
      UnwatchMapping(base);
      munmap(base, mapLength);
    }
    auto found = Data(env).windows.find(key);
    if (found != Data(env).windows.end() && found->second == mapping) Data(env).windows.erase(found);
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

namespace {

// The holes of [offset, offset + length) as (start, length) pairs, found with SEEK_HOLE/SEEK_DATA.
// False where the file system cannot say (then nothing can be given back precisely).
bool HolesIn(int fd, off_t offset, off_t length, std::vector<std::pair<off_t, off_t>>* holes) {
  off_t end = offset + length;
  off_t at = offset;
  while (at < end) {
    off_t hole = lseek(fd, at, SEEK_HOLE);
    if (hole < 0) return errno == ENXIO;  // at or past the end: no more holes within the size
    if (hole >= end) break;
    off_t data = lseek(fd, hole, SEEK_DATA);
    off_t holeEnd = data < 0 ? end : std::min(data, end);  // ENXIO: a hole up to the end of the file
    if (data < 0 && errno != ENXIO) return false;
    holes->emplace_back(hole, holeEnd - hole);
    at = holeEnd;
  }
  return true;
}

}  // namespace

// AllocateOrGiveBack(fd, offset, length): posix_fallocate, and when it fails part way (a full disk,
// a file size limit) the blocks it did allocate are given back: the range's holes, recorded before,
// are punched again (FALLOC_FL_PUNCH_HOLE, keeping the size), and a file it grew is cut back to its
// old size. Returns 0 or posix_fallocate's errno; a failure to give back is not reported over it.
static int AllocateOrGiveBack(int fd, off_t offset, off_t length) {
  struct stat before;
  if (fstat(fd, &before) != 0) return errno;
  std::vector<std::pair<off_t, off_t>> holes;
  off_t inside = std::max<off_t>(0, std::min<off_t>(offset + length, before.st_size) - offset);
  bool known = inside == 0 || HolesIn(fd, offset, inside, &holes);
  int err = posix_fallocate(fd, offset, length);
  if (err == 0) return 0;
#ifdef __linux__
  if (known) {
    for (const auto& hole : holes) {
      int rc;
      do rc = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, hole.first, hole.second);
      while (rc != 0 && errno == EINTR);
    }
  }
#endif
  struct stat after;
  if (fstat(fd, &after) == 0 && after.st_size > before.st_size && ftruncate(fd, before.st_size) != 0) {
  }
  return err;
}

// allocate(offset, length): reserve disk blocks so later writes through a mapping cannot hit a full
// disk; a refused allocation gives back what it got (AllocateOrGiveBack).
Napi::Value FileHandle::Allocate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t offset = ArgIndex(info, 0, "offset");
  uint64_t length = ArgIndex(info, 1, "length");
  if (length == 0) return env.Undefined();
  int err = AllocateOrGiveBack(Fd(env), static_cast<off_t>(offset), static_cast<off_t>(length));
  if (err != 0) throw ErrnoError(env, err, "cannot allocate space for " + path_, "posix_fallocate", path_);
  return env.Undefined();
}

// fileKind(): what the open descriptor is (fstat, fstatfs on the descriptor itself, so a symlink
// or a path changed since it was opened cannot mislead): { regular, fsType } with fsType the
// statfs f_type magic number (PROC_SUPER_MAGIC, SYSFS_MAGIC, ...), 0 where there is none.
Napi::Value FileHandle::FileKind(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = Fd(env);
  struct stat st;
  if (fstat(fd, &st) != 0) throw ErrnoError(env, errno, "cannot look at " + path_, "fstat", path_);
  double fsType = 0;
#ifdef __linux__
  struct statfs fs;
  if (fstatfs(fd, &fs) != 0) throw ErrnoError(env, errno, "cannot look at the file system of " + path_, "fstatfs", path_);
  fsType = static_cast<double>(static_cast<uint32_t>(fs.f_type));
#endif
  Napi::Object result = Napi::Object::New(env);
  result.Set("regular", Napi::Boolean::New(env, S_ISREG(st.st_mode)));
  result.Set("fsType", Napi::Number::New(env, fsType));
  return result;
}

// grow(capacity): see GrowTo. Needs a writable handle; a capacity at or below the size changes nothing.
Napi::Value FileHandle::Grow(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t capacity = ArgIndex(info, 0, "capacity");
  if (!writable_) throw CodedError(env, "Error", "ERR_READ_ONLY", "cannot grow " + path_ + ": it was opened read-only");
  int err = GrowTo(Fd(env), capacity);
  if (err != 0) throw ErrnoError(env, err, GrowMessage(capacity, path_), "fallocate", path_);
  return env.Undefined();
}

Napi::Value FileHandle::GetPath(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), path_); }

Napi::Value FileHandle::Own(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t fd = ArgIndex(info, 0, "fd");
  if (fd > static_cast<uint64_t>(INT32_MAX)) ThrowRangeError(env, "fd must be a descriptor number");
  Fd(env);
  if (ownedFd_ >= 0) throw CodedError(env, "Error", "ERR_INVALID_STATE", path_ + " already owns a descriptor");
  ownedFd_ = static_cast<int>(fd);
  return env.Undefined();
}

Napi::Value FileHandle::GrowAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t capacity = ArgIndex(info, 0, "capacity");
  if (!writable_) throw CodedError(env, "Error", "ERR_READ_ONLY", "cannot grow " + path_ + ": it was opened read-only");
  auto* worker = new GrowWorker(env, Fd(env), path_, capacity);
  worker->Queue();
  return worker->Promise();
}

void InitFile(Napi::Env env, Napi::Object exports) {
  Napi::Function constructor = FileHandle::Define(env);
  Data(env).fileHandleConstructor = Napi::Persistent(constructor);
  exports.Set("FileHandle", constructor);
  exports.Set("openFile", Napi::Function::New<OpenFile>(env, "openFile"));
  exports.Set("openFileAsync", Napi::Function::New<OpenFileAsync>(env, "openFileAsync"));
  exports.Set("createFile", Napi::Function::New<CreateFile>(env, "createFile"));
  exports.Set("createFileAsync", Napi::Function::New<CreateFileAsync>(env, "createFileAsync"));
  exports.Set("openDescriptor", Napi::Function::New<OpenDescriptor>(env, "openDescriptor"));
  exports.Set("openNamedFile", Napi::Function::New<FileHandle::OpenNamed>(env, "openNamedFile"));
}

}  // namespace rawbright

namespace rawbright {

// Markers are small extended attributes ("user.rawbright.*") that travel with the file itself, so a
// pending journal is found whichever path or hard link the file is reached by. Where the file system
// has no user attributes, markers are simply absent (getMarker gives undefined, setMarker false).

static std::string MarkerName(const Napi::CallbackInfo& info) {
  std::string name = ArgString(info, 0, "name");
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) {
      throw CodedError(info.Env(), "TypeError", "ERR_INVALID_ARG_VALUE", "a marker name is lower-case letters, digits, '-' and '.'");
    }
  }
  return "user.rawbright." + name;
}

static bool MarkersUnsupported(int err) { return err == ENOTSUP || err == EOPNOTSUPP || err == ENOSYS; }

// getMarker(name): the marker's value, or undefined.
Napi::Value FileHandle::GetMarker(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = MarkerName(info);
#ifdef __linux__
  char value[4096];
  ssize_t n = fgetxattr(Fd(env), name.c_str(), value, sizeof value);
  if (n >= 0) return Napi::String::New(env, value, static_cast<size_t>(n));
  if (errno == ENODATA || MarkersUnsupported(errno)) return env.Undefined();
  throw ErrnoError(env, errno, "cannot read a marker of " + path_, "fgetxattr", path_);
#else
  return env.Undefined();
#endif
}

// setMarker(name, value): true once set, false where the file system keeps no markers.
Napi::Value FileHandle::SetMarker(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = MarkerName(info);
  std::string value = ArgString(info, 1, "value");
#ifdef __linux__
  if (fsetxattr(Fd(env), name.c_str(), value.data(), value.size(), 0) == 0) return Napi::Boolean::New(env, true);
  if (MarkersUnsupported(errno)) return Napi::Boolean::New(env, false);
  throw ErrnoError(env, errno, "cannot mark " + path_, "fsetxattr", path_);
#else
  return Napi::Boolean::New(env, false);
#endif
}

// removeMarker(name): removes it if present.
Napi::Value FileHandle::RemoveMarker(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = MarkerName(info);
#ifdef __linux__
  if (fremovexattr(Fd(env), name.c_str()) != 0 && errno != ENODATA && !MarkersUnsupported(errno)) {
    throw ErrnoError(env, errno, "cannot unmark " + path_, "fremovexattr", path_);
  }
#endif
  return env.Undefined();
}

// listMarkers(): the names of the file's markers (without "user.rawbright."), or undefined where the
// file system keeps no markers.
Napi::Value FileHandle::ListMarkers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
#ifdef __linux__
  Napi::Array names = Napi::Array::New(env);
  const std::string prefix = "user.rawbright.";
  std::vector<char> list;
  for (;;) {
    ssize_t size = flistxattr(Fd(env), nullptr, 0);
    if (size < 0) {
      if (MarkersUnsupported(errno)) return env.Undefined();
      throw ErrnoError(env, errno, "cannot list the markers of " + path_, "flistxattr", path_);
    }
    list.resize(static_cast<size_t>(size));
    ssize_t n = size == 0 ? 0 : flistxattr(Fd(env), list.data(), list.size());
    if (n >= 0) {
      list.resize(static_cast<size_t>(n));
      break;
    }
    // Another process added an attribute between the two calls: ask again.
    if (errno != ERANGE) throw ErrnoError(env, errno, "cannot list the markers of " + path_, "flistxattr", path_);
  }
  uint32_t count = 0;
  for (size_t at = 0; at < list.size();) {
    std::string name(list.data() + at);
    at += name.size() + 1;
    if (name.compare(0, prefix.size(), prefix) == 0) names.Set(count++, name.substr(prefix.size()));
  }
  return names;
#else
  return env.Undefined();
#endif
}

}  // namespace rawbright
