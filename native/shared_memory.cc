// Named, non-persisted shared memory between processes, with robust process-shared mutexes inside.
//
// Where a region lives: /dev/shm/rawbright.<name> (what shm_open uses on Linux), laid out as
//   [header: magic, version, sizes, ABI tag | mutex slots][data: `size` bytes]
// with the data starting on a page boundary. JavaScript sees only the data, as an external ArrayBuffer.
//
// How a region stays non-persisted (the "reference count" is kept by the kernel, not in the header,
// so it cannot go stale when a process crashes):
//   - every user holds a shared flock() on its own descriptor of the file for as long as it uses it;
//     the kernel drops it when the descriptor is closed, whatever way the process ends;
//   - a region is published fully built: it is created unnamed (O_TMPFILE), sized, initialised, the
//     creator takes its shared lock, and only then is it linked under its name (linkat fails with
//     EEXIST if the name is taken, which makes create atomic). No half-made region is ever visible;
//   - a name is only unlinked by a process that holds the exclusive lock: a user that closes tries to
//     upgrade to exclusive without waiting (it succeeds only when no one else holds a lock, i.e. it is
//     the last user) and unlinks; anyone who opens a name and can take the exclusive lock at once has
//     found a region nobody holds (its users all died without closing): it unlinks it (reclaims it);
//   - an opener that ends up with a shared lock checks that the name still leads to the file it holds
//     (same device and inode); if not, it raced with the last user's close and looks again.
// So: the last close removes the name at once; if the last users die instead, the name (and its
// memory) stays until the next create/open of that name or a cleanup() sweep reclaims it.
//
// Mutexes and threads: a pthread mutex belongs to the thread that locked it, and the robust-list
// machinery that reports a dead holder works per thread. So a lock is always released by the thread
// that took it: tryLock (and the uncontended path of lock) runs pthread_mutex_trylock on the
// JavaScript thread; a lock that must wait is handed to a dedicated thread per Mutex object (started
// on first need), which waits with pthread_mutex_clocklock in short slices (so close() can cancel
// it), keeps owning the mutex while JavaScript holds the lock, and unlocks it when told to.
// Completion reaches JavaScript through a thread-safe function made per waiting request.
#include <napi.h>

#if defined(__linux__)
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>
#endif

#include "common.h"

namespace rawbright {

#if defined(__linux__)

namespace {

constexpr const char* kShmDirectory = "/dev/shm";
constexpr const char* kPrefix = "rawbright.";
constexpr size_t kMaxNameLength = 240;
constexpr char kMagic[8] = {'R', 'B', 'S', 'H', 'M', 'E', 'M', '\0'};
constexpr uint32_t kVersion = 1;
// The meaning of the flock protocol above. Every version of rawbright must keep it, so that one
// version can safely reclaim a stale region made by another.
constexpr uint32_t kLockProtocol = 1;
constexpr uint32_t kMutexOffset = 128;
constexpr uint32_t kMaxMutexes = 64;
constexpr uint64_t kMaxDataSize = 1ull << 32;  // Node 20's ArrayBuffer limit
// How long a waiting lock sleeps before it looks whether it was cancelled (close, teardown).
constexpr int64_t kWaitSliceNs = 25'000'000;
// How long an opener retries to join a region whose exclusive lock someone holds for a moment.
constexpr int kSharedLockAttempts = 2000;  // × 1 ms
constexpr int kPublishAttempts = 100;

struct alignas(64) MutexSlot {
  pthread_mutex_t mutex;
  // Set under the mutex by a holder that closed its region (or whose thread was torn down) without
  // unlocking; the next locker reports the mutex as abandoned, as it would after a crash.
  uint32_t releasedByClose;
  uint32_t reserved;
};
static_assert(sizeof(MutexSlot) == 64, "a mutex slot is one cache line");

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t lockProtocol;
  uint64_t dataSize;
  uint64_t headerSize;  // where the data starts; a multiple of the page size
  uint32_t mutexCount;
  uint32_t mutexOffset;
  uint32_t mutexSlotSize;
  uint32_t pthreadMutexSize;
  char abi[32];  // libc, architecture: pthread_mutex_t is only shared between identical ABIs
  uint32_t creatorPid;
  uint32_t reserved;
  uint64_t createdAtMs;
};
static_assert(sizeof(Header) <= kMutexOffset, "the header fits before the first mutex slot");

const char* AbiTag() {
#if defined(__GLIBC__)
#define RAWBRIGHT_LIBC "glibc"
#else
#define RAWBRIGHT_LIBC "libc"
#endif
#if defined(__x86_64__)
  return RAWBRIGHT_LIBC " x86_64";
#elif defined(__aarch64__)
  return RAWBRIGHT_LIBC " aarch64";
#elif defined(__i386__)
  return RAWBRIGHT_LIBC " i386";
#elif defined(__arm__)
  return RAWBRIGHT_LIBC " arm";
#else
  return RAWBRIGHT_LIBC " other";
#endif
#undef RAWBRIGHT_LIBC
}

uint64_t HeaderSizeFor(uint32_t mutexCount) {
  uint64_t bytes = kMutexOffset + static_cast<uint64_t>(mutexCount) * sizeof(MutexSlot);
  uint64_t page = PageSize();
  return (bytes + page - 1) / page * page;
}

std::string Quoted(const std::string& name) { return "\"" + name + "\""; }
std::string FileName(const std::string& name) { return std::string(kPrefix) + name; }
std::string PathOf(const std::string& name) { return std::string(kShmDirectory) + "/" + FileName(name); }

// An Error with an errno-style code, a message of our own and the region's path.
Napi::Error RegionErrnoError(Napi::Env env, int err, const std::string& message, const char* syscall,
                             const std::string& name) {
  return ErrnoErrorWithMessage(env, err, message, syscall, PathOf(name));
}

// An Error for a failed system call: "<what>: <strerror>", with the errno name as code.
Napi::Error RegionSyscallError(Napi::Env env, int err, const std::string& what, const char* syscall,
                               const std::string& name) {
  std::string reason = std::strerror(err);
  if (!reason.empty() && reason[0] >= 'A' && reason[0] <= 'Z') reason[0] = static_cast<char>(reason[0] - 'A' + 'a');
  return RegionErrnoError(env, err, what + ": " + reason, syscall, name);
}

Napi::Error RegionCodedError(Napi::Env env, const std::string& code, const std::string& message,
                             const std::string& name) {
  Napi::Error error = CodedError(env, "Error", code, message);
  error.Set("path", Napi::String::New(env, PathOf(name)));
  return error;
}

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.';
    if (!ok) return false;
  }
  return true;
}

std::string ArgName(const Napi::CallbackInfo& info, size_t i) {
  std::string name = ArgString(info, i, "name");
  if (!ValidName(name)) {
    throw CodedError(info.Env(), "TypeError", "ERR_INVALID_ARG_VALUE",
                     "name must be 1 to 240 letters, digits, '-', '_' or '.'");
  }
  return name;
}

// The /dev/shm directory, opened once per process; -1 (and *error) if it cannot be.
int ShmDirectoryFd(int* error = nullptr) {
  static int openError = 0;
  static int fd = [] {
    int dir = ::open(kShmDirectory, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) openError = errno;
    return dir;
  }();
  if (error != nullptr) *error = openError;
  return fd;
}

int ShmDirectory(Napi::Env env) {
  int error = 0;
  int fd = ShmDirectoryFd(&error);
  if (fd < 0) {
    throw ErrnoError(env, error, "shared memory is not available here (cannot open /dev/shm)", "open", kShmDirectory);
  }
  return fd;
}

class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int Get() const { return fd_; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

int FlockRetrying(int fd, int operation) {
  int rc;
  do rc = ::flock(fd, operation);
  while (rc != 0 && errno == EINTR);
  return rc;
}

// True if NAME in /dev/shm is, right now, the very file open as FD.
bool NameLeadsTo(int dir, const std::string& file, int fd) {
  struct stat byName, byFd;
  if (fstatat(dir, file.c_str(), &byName, AT_SYMLINK_NOFOLLOW) != 0) return false;
  if (fstat(fd, &byFd) != 0) return false;
  return byName.st_dev == byFd.st_dev && byName.st_ino == byFd.st_ino;
}

bool HasOurMagic(int fd) {
  char magic[sizeof(kMagic)];
  return ::pread(fd, magic, sizeof(magic), 0) == static_cast<ssize_t>(sizeof(magic)) &&
         std::memcmp(magic, kMagic, sizeof(kMagic)) == 0;
}

// The close protocol: if no one else holds the region (the exclusive lock is free), remove its name,
// provided the name still leads to this file and the file is one of ours. Then close the descriptor.
// A failed upgrade drops our shared lock (flock converts by unlock + lock), which is fine: we leave.
void DetachFromName(int dir, const std::string& file, int fd, bool mayUnlink) {
  if (mayUnlink && FlockRetrying(fd, LOCK_EX | LOCK_NB) == 0 && NameLeadsTo(dir, file, fd)) {
    ::unlinkat(dir, file.c_str(), 0);
  }
  ::close(fd);
}

// Takes a shared lock, retrying for a moment while another process holds the exclusive one (a last
// user removing the name, or an opener checking whether the region is stale). 0 or an errno.
int LockSharedBounded(int fd) {
  for (int attempt = 0; attempt < kSharedLockAttempts; ++attempt) {
    if (FlockRetrying(fd, LOCK_SH | LOCK_NB) == 0) return 0;
    if (errno != EWOULDBLOCK) return errno;
    usleep(1000);
  }
  return EWOULDBLOCK;
}

Napi::Error BusyError(Napi::Env env, const std::string& name) {
  return RegionCodedError(env, "ERR_SHM_BUSY",
                          "shared memory region " + Quoted(name) + " stayed locked by another process", name);
}

// Opens the region published under NAME and joins it (shared lock, name re-checked). A region that
// nobody holds is stale (its users died without closing): it is removed, and NAME counts as missing.
// Returns the descriptor, or -1 if NAME does not exist (now). *reclaimed tells whether we removed one.
int AttachExisting(Napi::Env env, int dir, const std::string& name, bool* reclaimed) {
  std::string file = FileName(name);
  for (int attempt = 0; attempt < kPublishAttempts; ++attempt) {
    UniqueFd fd(::openat(dir, file.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (fd.Get() < 0) {
      if (errno == ENOENT) return -1;
      if (errno == ELOOP) {
        throw RegionCodedError(env, "ERR_SHM_INVALID",
                               "shared memory region " + Quoted(name) + " is not a rawbright shared memory region",
                               name);
      }
      {
      int err = errno;
      throw RegionSyscallError(env, err, "cannot open shared memory region " + Quoted(name), "open", name);
    }
    }
    struct stat st;
    if (fstat(fd.Get(), &st) != 0) {
      {
      int err = errno;
      throw RegionSyscallError(env, err, "cannot read shared memory region " + Quoted(name), "fstat", name);
    }
    }
    if (!S_ISREG(st.st_mode)) {
      throw RegionCodedError(env, "ERR_SHM_INVALID",
                             "shared memory region " + Quoted(name) + " is not a rawbright shared memory region", name);
    }
    if (FlockRetrying(fd.Get(), LOCK_EX | LOCK_NB) == 0) {
      // No one holds it. Live regions always have at least one shared holder (the creator takes its
      // lock before publishing), so this one is stale, or it was never one of ours.
      if (!NameLeadsTo(dir, file, fd.Get())) continue;  // replaced while we looked
      if (!HasOurMagic(fd.Get())) {
        throw RegionCodedError(env, "ERR_SHM_INVALID",
                               "shared memory region " + Quoted(name) + " is not a rawbright shared memory region",
                               name);
      }
      ::unlinkat(dir, file.c_str(), 0);
      if (reclaimed != nullptr) *reclaimed = true;
      return -1;
    }
    if (errno != EWOULDBLOCK) {
      {
      int err = errno;
      throw RegionSyscallError(env, err, "cannot lock shared memory region " + Quoted(name), "flock", name);
    }
    }
    int err = LockSharedBounded(fd.Get());
    if (err == EWOULDBLOCK) throw BusyError(env, name);
    if (err != 0) throw RegionSyscallError(env, err, "cannot lock shared memory region " + Quoted(name), "flock", name);
    // Its last user may have removed the name between our open and our lock: then look again.
    if (!NameLeadsTo(dir, file, fd.Get())) continue;
    return fd.Release();
  }
  throw BusyError(env, name);
}

// Reads and checks the header of an attached region. Throws ERR_SHM_INVALID / ERR_SHM_INCOMPATIBLE.
Header ReadHeader(Napi::Env env, int fd, const std::string& name) {
  Header header;
  std::memset(&header, 0, sizeof(header));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    {
      int err = errno;
      throw RegionSyscallError(env, err, "cannot read shared memory region " + Quoted(name), "fstat", name);
    }
  }
  ssize_t got = ::pread(fd, &header, sizeof(header), 0);
  if (got != static_cast<ssize_t>(sizeof(header)) || std::memcmp(header.magic, kMagic, sizeof(kMagic)) != 0) {
    throw RegionCodedError(env, "ERR_SHM_INVALID",
                           "shared memory region " + Quoted(name) + " is not a rawbright shared memory region", name);
  }
  if (header.version != kVersion || header.lockProtocol != kLockProtocol) {
    throw RegionCodedError(env, "ERR_SHM_INCOMPATIBLE",
                           "shared memory region " + Quoted(name) +
                               " was made by another version of rawbright (format " +
                               std::to_string(header.version) + ", this one reads " + std::to_string(kVersion) + ")",
                           name);
  }
  header.abi[sizeof(header.abi) - 1] = '\0';
  if (std::strcmp(header.abi, AbiTag()) != 0 || header.pthreadMutexSize != sizeof(pthread_mutex_t) ||
      header.mutexSlotSize != sizeof(MutexSlot)) {
    throw RegionCodedError(env, "ERR_SHM_INCOMPATIBLE",
                           "shared memory region " + Quoted(name) + " was made for " + header.abi +
                               " and its mutexes cannot be shared with this process (" + AbiTag() + ")",
                           name);
  }
  if (header.mutexOffset != kMutexOffset || header.mutexCount < 1 || header.mutexCount > kMaxMutexes ||
      header.headerSize != HeaderSizeFor(header.mutexCount) || header.dataSize > kMaxDataSize ||
      static_cast<uint64_t>(st.st_size) != header.headerSize + header.dataSize) {
    throw RegionCodedError(env, "ERR_SHM_INVALID", "shared memory region " + Quoted(name) + " has a damaged header",
                           name);
  }
  return header;
}

// ---------------------------------------------------------------------------------------------
// Region: one attachment of this process (one open or create) to a shared memory region.

class MutexOwner;

struct Region {
  int fd = -1;
  uint8_t* base = nullptr;
  size_t mapLength = 0;
  uint64_t headerSize = 0;
  uint64_t dataSize = 0;
  uint32_t mutexCount = 0;
  std::string name;
  bool created = false;
  bool closed = false;
  // Mutex objects made from this attachment; stopped before the memory is unmapped. JS thread only.
  std::vector<std::weak_ptr<MutexOwner>> owners;

  Region() = default;
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;
  ~Region() { Close(nullptr); }

  MutexSlot* Slot(uint32_t index) {
    return reinterpret_cast<MutexSlot*>(base + kMutexOffset + static_cast<size_t>(index) * sizeof(MutexSlot));
  }
  uint8_t* Data() { return base + headerSize; }
  void Close(napi_env env);
};

// The result of a lock attempt, as JavaScript sees it.
enum LockStatus : int { kBusy = -1, kAcquired = 0, kAbandoned = 1, kTimedOut = 2 };

// After pthread gave us the mutex (rc 0 or EOWNERDEAD): make it consistent and read the "released by
// close" mark. Runs on the thread that now owns the mutex.
int TakeOwnership(MutexSlot* slot, int rc) {
  bool abandoned = false;
  if (rc == EOWNERDEAD) {
    pthread_mutex_consistent(&slot->mutex);
    abandoned = true;
  }
  if (slot->releasedByClose != 0) {
    slot->releasedByClose = 0;
    abandoned = true;
  }
  return abandoned ? kAbandoned : kAcquired;
}

struct LockCompletion {
  std::weak_ptr<MutexOwner> owner;
  uint64_t requestId;
  int status;
  int err;
};
void DeliverCompletion(Napi::Env env, Napi::Function callback, std::nullptr_t* context, LockCompletion* completion);
using CompletionFunction = Napi::TypedThreadSafeFunction<std::nullptr_t, LockCompletion, DeliverCompletion>;

Napi::Error ClosedError(Napi::Env env, const std::string& name) {
  return RegionCodedError(env, "ERR_CLOSED", "shared memory region " + Quoted(name) + " is closed", name);
}

// One mutex slot of one attachment, with the machinery that keeps lock and unlock on one thread.
class MutexOwner : public std::enable_shared_from_this<MutexOwner> {
 public:
  MutexOwner(std::shared_ptr<Region> region, uint32_t index)
      : region_(std::move(region)), slot_(region_->Slot(index)) {}
  MutexOwner(const MutexOwner&) = delete;
  MutexOwner& operator=(const MutexOwner&) = delete;
  ~MutexOwner() { Shutdown(nullptr); }

  void CheckOpen(Napi::Env env) const {
    if (region_->closed || stopped_) throw ClosedError(env, region_->name);
  }

  bool Held() const { return holder_ != Holder::kNone; }

  // pthread_mutex_trylock on the JavaScript thread. kBusy if anyone (this object included) holds it.
  int TryLock(Napi::Env env) {
    CheckOpen(env);
    if (holder_ != Holder::kNone || pending_) return kBusy;
    int rc = pthread_mutex_trylock(&slot_->mutex);
    if (rc == 0 || rc == EOWNERDEAD) {
      holder_ = Holder::kJsThread;
      return TakeOwnership(slot_, rc);
    }
    if (rc == EBUSY || rc == EDEADLK) return kBusy;  // EDEADLK: this thread holds it through another object
    throw LockError(env, rc, "pthread_mutex_trylock");
  }

  // Hands a waiting lock to the owner thread; the promise settles with a LockStatus or an error.
  Napi::Promise LockAsync(Napi::Env env, Napi::Object self, int64_t timeoutMs) {
    CheckOpen(env);
    if (holder_ != Holder::kNone || pending_) {
      throw CodedError(env, "Error", "ERR_MUTEX_BUSY", "this mutex object is already locked or locking");
    }
    if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
    // The owner thread holds this function's only thread count and releases it when the request
    // ends, so the function stays valid even if the environment is torn down meanwhile. While it
    // exists it keeps the event loop alive, as a pending timer would.
    CompletionFunction completion = CompletionFunction::New(env, "rawbright.Mutex.lock", 0, 1, nullptr);
    selfRef_ = Napi::Persistent(self);
    pending_.emplace(deferred);
    {
      std::lock_guard<std::mutex> guard(mutex_);
      pendingId_ += 1;
      deadlineNs_ = timeoutMs < 0 ? -1 : MonotonicNs() + timeoutMs * 1'000'000;
      completion_ = completion;
      command_ = Command::kLock;
    }
    wake_.notify_all();
    return deferred.Promise();
  }

  void Unlock(Napi::Env env) {
    CheckOpen(env);
    int rc = 0;
    if (holder_ == Holder::kJsThread) {
      rc = pthread_mutex_unlock(&slot_->mutex);
    } else if (holder_ == Holder::kOwnerThread) {
      std::unique_lock<std::mutex> guard(mutex_);
      command_ = Command::kUnlock;
      wake_.notify_all();
      wake_.wait(guard, [this] { return command_ == Command::kIdle; });
      rc = unlockResult_;
    } else {
      throw CodedError(env, "Error", "ERR_NOT_LOCKED", "the mutex is not locked by this Mutex object");
    }
    holder_ = Holder::kNone;
    if (rc != 0) throw LockError(env, rc, "pthread_mutex_unlock");
  }

  // On the JavaScript thread, when the owner thread has finished a request.
  void Complete(Napi::Env env, const LockCompletion& completion) {
    if (!pending_ || completion.requestId != pendingId_) return;  // cancelled by close meanwhile
    Napi::Promise::Deferred deferred = *pending_;
    pending_.reset();
    selfRef_.Reset();
    if (completion.err != 0) {
      deferred.Reject(LockError(env, completion.err, "pthread_mutex_clocklock").Value());
      return;
    }
    if (completion.status == kAcquired || completion.status == kAbandoned) holder_ = Holder::kOwnerThread;
    deferred.Resolve(Napi::Number::New(env, completion.status));
  }

  // Stops the owner thread and lets go of the mutex if this object holds it, marking it so the next
  // locker hears it was abandoned. With an env, a pending lock is rejected with ERR_CLOSED.
  void Shutdown(napi_env env) {
    if (stopped_) return;
    stopped_ = true;
    if (thread_.joinable()) {
      {
        std::lock_guard<std::mutex> guard(mutex_);
        cancel_.store(true);
        command_ = Command::kStop;
      }
      wake_.notify_all();
      thread_.join();
      if (holder_ == Holder::kOwnerThread) holder_ = Holder::kNone;  // the thread let go of it
    }
    if (holder_ == Holder::kJsThread) {
      slot_->releasedByClose = 1;
      pthread_mutex_unlock(&slot_->mutex);
      holder_ = Holder::kNone;
    }
    if (pending_) {
      Napi::Promise::Deferred deferred = *pending_;
      pending_.reset();
      if (env != nullptr) {
        Napi::Env jsEnv(env);
        deferred.Reject(RegionCodedError(jsEnv, "ERR_CLOSED",
                                         "shared memory region " + Quoted(region_->name) +
                                             " was closed while waiting for its mutex",
                                         region_->name)
                            .Value());
      }
    }
    if (!selfRef_.IsEmpty()) selfRef_.Reset();
  }

  Napi::Error LockError(Napi::Env env, int err, const char* syscall) const {
    std::string what = "the mutex of shared memory region " + Quoted(region_->name);
    if (err == ENOTRECOVERABLE) {
      return RegionErrnoError(env, err, what + " is unusable: a holder died and it was never made consistent", syscall,
                              region_->name);
    }
    return RegionSyscallError(env, err, what + " failed", syscall, region_->name);
  }

 private:
  enum class Holder { kNone, kJsThread, kOwnerThread };
  enum class Command { kIdle, kLock, kLockRunning, kUnlock, kStop };

  static int64_t MonotonicNs() {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
  }

  // Waits for the mutex until deadlineNs (-1: forever), in slices so a cancel is noticed.
  // Returns a LockStatus; kBusy if cancelled or failed (then *err is set).
  int Wait(int64_t deadlineNs, int* err) {
    for (;;) {
      if (cancel_.load()) return kBusy;
      int64_t sliceEnd = MonotonicNs() + kWaitSliceNs;
      if (deadlineNs >= 0 && deadlineNs < sliceEnd) sliceEnd = deadlineNs;
      struct timespec until;
      until.tv_sec = static_cast<time_t>(sliceEnd / 1'000'000'000);
      until.tv_nsec = static_cast<long>(sliceEnd % 1'000'000'000);
      int rc = pthread_mutex_clocklock(&slot_->mutex, CLOCK_MONOTONIC, &until);
      if (rc == 0 || rc == EOWNERDEAD) return TakeOwnership(slot_, rc);
      if (rc == ETIMEDOUT) {
        if (deadlineNs >= 0 && MonotonicNs() >= deadlineNs) return kTimedOut;
        continue;
      }
      if (rc == EINTR || rc == EAGAIN) continue;
      *err = rc;
      return kBusy;
    }
  }

  // The owner thread: takes the mutex when a lock must wait, holds it, and unlocks it when told to.
  void Run() {
    // Process-directed signals belong to Node's own threads.
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    std::unique_lock<std::mutex> guard(mutex_);
    bool holding = false;
    for (;;) {
      wake_.wait(guard, [this] { return command_ == Command::kLock || command_ == Command::kUnlock ||
                                        command_ == Command::kStop; });
      if (command_ == Command::kStop) {
        if (holding) {
          slot_->releasedByClose = 1;
          pthread_mutex_unlock(&slot_->mutex);
        }
        // A lock request that was cancelled before this thread picked it up.
        if (static_cast<napi_threadsafe_function>(completion_) != nullptr) completion_.Release();
        completion_ = CompletionFunction();
        return;
      }
      if (command_ == Command::kUnlock) {
        unlockResult_ = holding ? pthread_mutex_unlock(&slot_->mutex) : EPERM;
        holding = false;
        command_ = Command::kIdle;
        wake_.notify_all();
        continue;
      }
      command_ = Command::kLockRunning;
      uint64_t id = pendingId_;
      int64_t deadline = deadlineNs_;
      CompletionFunction completion = completion_;
      completion_ = CompletionFunction();
      guard.unlock();
      int err = 0;
      int status = Wait(deadline, &err);
      guard.lock();
      if (status == kAcquired || status == kAbandoned) holding = true;
      bool cancelled = command_ == Command::kStop;
      if (!cancelled) command_ = Command::kIdle;
      guard.unlock();
      if (!cancelled) {
        auto* result = new LockCompletion{weak_from_this(), id, status, err};
        // napi_closing: the environment is being torn down and will not call back.
        if (completion.BlockingCall(result) != napi_ok) delete result;
      }
      completion.Release();
      guard.lock();
    }
  }

  std::shared_ptr<Region> region_;
  MutexSlot* slot_;
  // JavaScript thread only:
  Holder holder_ = Holder::kNone;
  bool stopped_ = false;
  std::optional<Napi::Promise::Deferred> pending_;
  Napi::ObjectReference selfRef_;  // keeps the JS object alive while a lock is pending

  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<bool> cancel_{false};
  // Guarded by mutex_:
  Command command_ = Command::kIdle;
  uint64_t pendingId_ = 0;
  int64_t deadlineNs_ = -1;
  int unlockResult_ = 0;
  CompletionFunction completion_;
};

void DeliverCompletion(Napi::Env env, Napi::Function, std::nullptr_t*, LockCompletion* completion) {
  if (env != nullptr) {
    if (std::shared_ptr<MutexOwner> owner = completion->owner.lock()) owner->Complete(env, *completion);
  }
  delete completion;
}

void Region::Close(napi_env env) {
  if (closed) return;
  closed = true;
  for (const std::weak_ptr<MutexOwner>& weak : owners) {
    if (std::shared_ptr<MutexOwner> owner = weak.lock()) owner->Shutdown(env);
  }
  owners.clear();
  if (base != nullptr) munmap(base, mapLength);
  base = nullptr;
  if (fd >= 0) {
    int dir = ShmDirectoryFd();
    if (dir >= 0) {
      DetachFromName(dir, FileName(name), fd, true);
    } else {
      ::close(fd);
    }
  }
  fd = -1;
}

// Per environment: the constructors of the two wrapper classes.
struct EnvConstructors {
  Napi::FunctionReference sharedMemory;
  Napi::FunctionReference mutex;
};

// ---------------------------------------------------------------------------------------------
// JavaScript wrappers.

class MutexHandle : public Napi::ObjectWrap<MutexHandle> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "MutexHandle",
                       {
                           InstanceMethod<&MutexHandle::TryLock>("tryLock"),
                           InstanceMethod<&MutexHandle::LockAsync>("lockAsync"),
                           InstanceMethod<&MutexHandle::Unlock>("unlock"),
                           InstanceMethod<&MutexHandle::IsHeld>("isHeld"),
                       });
  }
  explicit MutexHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<MutexHandle>(info) {}
  void Attach(std::shared_ptr<MutexOwner> owner) { owner_ = std::move(owner); }

 private:
  MutexOwner& Owner(Napi::Env env) {
    if (!owner_) throw CodedError(env, "TypeError", "ERR_INVALID_THIS", "this mutex handle is not attached");
    return *owner_;
  }
  Napi::Value TryLock(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), Owner(info.Env()).TryLock(info.Env()));
  }
  // lockAsync(timeoutMs): timeoutMs < 0 waits forever.
  Napi::Value LockAsync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsNumber()) ThrowTypeError(env, "timeout must be a number");
    double timeout = info[0].As<Napi::Number>().DoubleValue();
    if (std::isnan(timeout) || timeout > 1e12) ThrowRangeError(env, "timeout is out of range");
    int64_t timeoutMs = timeout < 0 ? -1 : static_cast<int64_t>(std::ceil(timeout));
    return Owner(env).LockAsync(env, info.This().As<Napi::Object>(), timeoutMs);
  }
  Napi::Value Unlock(const Napi::CallbackInfo& info) {
    Owner(info.Env()).Unlock(info.Env());
    return info.Env().Undefined();
  }
  Napi::Value IsHeld(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), owner_ && owner_->Held());
  }

  std::shared_ptr<MutexOwner> owner_;
};

void FinalizeRegionBuffer(Napi::Env, void*, std::shared_ptr<Region>* hint) { delete hint; }

class SharedMemoryHandle : public Napi::ObjectWrap<SharedMemoryHandle> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "SharedMemoryHandle",
                       {
                           InstanceMethod<&SharedMemoryHandle::Buffer>("buffer"),
                           InstanceMethod<&SharedMemoryHandle::Info>("info"),
                           InstanceMethod<&SharedMemoryHandle::Mutex>("mutex"),
                           InstanceMethod<&SharedMemoryHandle::Close>("close"),
                           InstanceMethod<&SharedMemoryHandle::IsClosed>("isClosed"),
                       });
  }
  static Napi::Object Wrap(Napi::Env env, EnvConstructors* constructors, std::shared_ptr<Region> region) {
    Napi::Object object = constructors->sharedMemory.New({});
    SharedMemoryHandle* self = Unwrap(object);
    self->constructors_ = constructors;
    self->region_ = std::move(region);
    return object;
  }
  explicit SharedMemoryHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SharedMemoryHandle>(info) {}

 private:
  Region& Open(Napi::Env env) {
    if (!region_) throw CodedError(env, "TypeError", "ERR_INVALID_THIS", "this shared memory handle is not attached");
    if (region_->closed) throw ClosedError(env, region_->name);
    return *region_;
  }

  // buffer(): the data as an external ArrayBuffer, made once; close() detaches it.
  Napi::Value Buffer(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Region& region = Open(env);
    if (!bufferRef_.IsEmpty()) {
      Napi::ArrayBuffer existing = bufferRef_.Value();
      if (!existing.IsEmpty()) return existing;
    }
    Napi::ArrayBuffer buffer =
        region.dataSize == 0
            ? Napi::ArrayBuffer::New(env, 0)
            : Napi::ArrayBuffer::New(env, region.Data(), static_cast<size_t>(region.dataSize), FinalizeRegionBuffer,
                                     new std::shared_ptr<Region>(region_));
    bufferRef_ = Napi::Weak(buffer);
    return buffer;
  }

  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!region_) throw CodedError(env, "TypeError", "ERR_INVALID_THIS", "this shared memory handle is not attached");
    Napi::Object result = Napi::Object::New(env);
    result.Set("name", region_->name);
    result.Set("path", PathOf(region_->name));
    result.Set("size", Napi::Number::New(env, static_cast<double>(region_->dataSize)));
    result.Set("mutexCount", Napi::Number::New(env, region_->mutexCount));
    result.Set("created", Napi::Boolean::New(env, region_->created));
    return result;
  }

  Napi::Value Mutex(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint64_t index = ArgIndex(info, 0, "index");
    Region& region = Open(env);
    if (index >= region.mutexCount) {
      throw CodedError(env, "RangeError", "ERR_OUT_OF_RANGE",
                       "shared memory region " + Quoted(region.name) + " has " + std::to_string(region.mutexCount) +
                           " mutex(es); index " + std::to_string(index) + " is past the last");
    }
    auto owner = std::make_shared<MutexOwner>(region_, static_cast<uint32_t>(index));
    auto& owners = region.owners;
    owners.erase(std::remove_if(owners.begin(), owners.end(), [](const auto& weak) { return weak.expired(); }),
                 owners.end());
    owners.push_back(owner);
    Napi::Object object = constructors_->mutex.New({});
    MutexHandle::Unwrap(object)->Attach(std::move(owner));
    return object;
  }

  // close(): detach the buffer (every view of it reads length 0), stop the mutexes, unmap, and remove
  // the name if this was the last user.
  Napi::Value Close(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!region_ || region_->closed) return env.Undefined();
    if (!bufferRef_.IsEmpty()) {
      Napi::ArrayBuffer buffer = bufferRef_.Value();
      if (!buffer.IsEmpty() && !buffer.IsDetached() && buffer.ByteLength() > 0) buffer.Detach();
      bufferRef_.Reset();
    }
    region_->Close(env);
    return env.Undefined();
  }

  Napi::Value IsClosed(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), !region_ || region_->closed);
  }

  EnvConstructors* constructors_ = nullptr;
  std::shared_ptr<Region> region_;
  Napi::Reference<Napi::ArrayBuffer> bufferRef_;
};

// Maps an attached, checked region and wraps it. Takes over fd (the region's close protocol runs on
// any failure).
Napi::Object Adopt(Napi::Env env, EnvConstructors* constructors, int fd, const std::string& name,
                   const Header& header, bool created, uint8_t* mapped) {
  auto region = std::make_shared<Region>();
  region->fd = fd;
  region->name = name;
  region->headerSize = header.headerSize;
  region->dataSize = header.dataSize;
  region->mutexCount = header.mutexCount;
  region->mapLength = static_cast<size_t>(header.headerSize + header.dataSize);
  region->created = created;
  if (mapped != nullptr) {
    region->base = mapped;
  } else {
    void* base = mmap(nullptr, region->mapLength, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
      int err = errno;
      region.reset();  // runs the close protocol
      throw RegionSyscallError(env, err, "cannot map shared memory region " + Quoted(name), "mmap", name);
    }
    region->base = static_cast<uint8_t*>(base);
  }
  return SharedMemoryHandle::Wrap(env, constructors, std::move(region));
}

// Opens NAME; -1 if missing. Throws for foreign or incompatible regions.
Napi::Value OpenExisting(Napi::Env env, EnvConstructors* constructors, int dir, const std::string& name,
                         const uint64_t* expectSize, const uint32_t* expectMutexes) {
  int fd = AttachExisting(env, dir, name, nullptr);
  if (fd < 0) return Napi::Value();
  Header header;
  try {
    header = ReadHeader(env, fd, name);
  } catch (...) {
    // Not ours (or not this version's): leave it as it is, only drop our descriptor and lock.
    DetachFromName(dir, FileName(name), fd, HasOurMagic(fd));
    throw;
  }
  if (expectSize != nullptr && header.dataSize != *expectSize) {
    DetachFromName(dir, FileName(name), fd, true);
    throw RegionCodedError(env, "ERR_SHM_MISMATCH",
                           "shared memory region " + Quoted(name) + " exists with " + std::to_string(header.dataSize) +
                               " bytes, not " + std::to_string(*expectSize),
                           name);
  }
  if (expectMutexes != nullptr && header.mutexCount != *expectMutexes) {
    DetachFromName(dir, FileName(name), fd, true);
    throw RegionCodedError(env, "ERR_SHM_MISMATCH",
                           "shared memory region " + Quoted(name) + " exists with " +
                               std::to_string(header.mutexCount) + " mutex(es), not " +
                               std::to_string(*expectMutexes),
                           name);
  }
  return Adopt(env, constructors, fd, name, header, false, nullptr);
}

// openSharedMemory(name)
Napi::Value OpenSharedMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* constructors = static_cast<EnvConstructors*>(info.Data());
  std::string name = ArgName(info, 0);
  Napi::Value handle = OpenExisting(env, constructors, ShmDirectory(env), name, nullptr, nullptr);
  if (handle.IsEmpty()) {
    throw RegionErrnoError(env, ENOENT, "shared memory region " + Quoted(name) + " does not exist", "open", name);
  }
  return handle;
}

// Owns a mapping until it is handed over.
class MappingGuard {
 public:
  MappingGuard(void* base, size_t length) : base_(base), length_(length) {}
  ~MappingGuard() {
    if (base_ != nullptr) munmap(base_, length_);
  }
  MappingGuard(const MappingGuard&) = delete;
  MappingGuard& operator=(const MappingGuard&) = delete;
  uint8_t* Release() {
    void* base = base_;
    base_ = nullptr;
    return static_cast<uint8_t*>(base);
  }

 private:
  void* base_;
  size_t length_;
};

// For create: if FILE is a region of ours that nobody holds (its users died), remove it. True if the
// name is free now (removed, or gone meanwhile); false if it is in use or is not one of ours.
bool ReclaimIfStale(int dir, const std::string& file) {
  UniqueFd fd(::openat(dir, file.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (fd.Get() < 0) return errno == ENOENT;
  struct stat st;
  if (fstat(fd.Get(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  if (FlockRetrying(fd.Get(), LOCK_EX | LOCK_NB) != 0) return false;
  if (!NameLeadsTo(dir, file, fd.Get())) return true;
  if (!HasOurMagic(fd.Get())) return false;
  return ::unlinkat(dir, file.c_str(), 0) == 0 || errno == ENOENT;
}

// Links the unnamed file FD under FILE in /dev/shm. 0 or an errno (EEXIST if the name is taken).
int Publish(int dir, int fd, const std::string& file) {
  std::string self = "/proc/self/fd/" + std::to_string(fd);
  if (::linkat(AT_FDCWD, self.c_str(), dir, file.c_str(), AT_SYMLINK_FOLLOW) == 0) return 0;
  if (errno != ENOENT) return errno;
  // No /proc: AT_EMPTY_PATH (allowed for unprivileged callers on newer kernels).
  if (::linkat(fd, "", dir, file.c_str(), AT_EMPTY_PATH) == 0) return 0;
  return errno;
}

// createSharedMemory(name, size, mode, mutexCount, orOpen)
Napi::Value CreateSharedMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* constructors = static_cast<EnvConstructors*>(info.Data());
  std::string name = ArgName(info, 0);
  uint64_t size = ArgIndex(info, 1, "size");
  uint64_t mode = ArgIndex(info, 2, "mode");
  uint64_t mutexCount = ArgIndex(info, 3, "mutexCount");
  bool orOpen = ArgBool(info, 4, "orOpen");
  if (size > kMaxDataSize) ThrowRangeError(env, "size must be at most 4 GiB");
  if (mode > 0777) ThrowRangeError(env, "mode must be a permission mask from 0 to 0o777");
  if (mutexCount < 1 || mutexCount > kMaxMutexes) ThrowRangeError(env, "mutexCount must be from 1 to 64");
  int dir = ShmDirectory(env);
  std::string file = FileName(name);
  uint32_t mutexes = static_cast<uint32_t>(mutexCount);

  // A fast path for createOrOpen when the region is already there.
  if (orOpen) {
    Napi::Value existing = OpenExisting(env, constructors, dir, name, &size, &mutexes);
    if (!existing.IsEmpty()) return existing;
  }

  UniqueFd fd(::openat(dir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, static_cast<mode_t>(mode)));
  if (fd.Get() < 0) {
    if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL) {
      throw RegionCodedError(env, "ERR_UNSUPPORTED", "this system's /dev/shm cannot create unnamed files (O_TMPFILE)",
                             name);
    }
    {
      int err = errno;
      throw RegionSyscallError(env, err, "cannot create shared memory region " + Quoted(name), "open", name);
    }
  }
  // The creation mode went through the umask; the caller asked for exactly this one.
  if (fchmod(fd.Get(), static_cast<mode_t>(mode)) != 0) {
    {
      int err = errno;
      throw RegionSyscallError(env, err, "cannot set the permissions of shared memory region " + Quoted(name),
                               "fchmod", name);
    }
  }
  Header header;
  std::memset(&header, 0, sizeof(header));
  std::memcpy(header.magic, kMagic, sizeof(kMagic));
  header.version = kVersion;
  header.lockProtocol = kLockProtocol;
  header.dataSize = size;
  header.headerSize = HeaderSizeFor(mutexes);
  header.mutexCount = mutexes;
  header.mutexOffset = kMutexOffset;
  header.mutexSlotSize = sizeof(MutexSlot);
  header.pthreadMutexSize = sizeof(pthread_mutex_t);
  std::strncpy(header.abi, AbiTag(), sizeof(header.abi) - 1);
  header.creatorPid = static_cast<uint32_t>(getpid());
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  header.createdAtMs = static_cast<uint64_t>(now.tv_sec) * 1000 + static_cast<uint64_t>(now.tv_nsec / 1'000'000);
  size_t total = static_cast<size_t>(header.headerSize + size);

  // Reserve the memory now: a tmpfs page that cannot be allocated later would be a SIGBUS on write.
  int err = posix_fallocate(fd.Get(), 0, static_cast<off_t>(total));
  if (err != 0) {
    std::string what = "cannot allocate " + std::to_string(size) + " bytes for shared memory region " + Quoted(name);
    throw RegionSyscallError(env, err, what, "posix_fallocate", name);
  }
  void* mapped = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd.Get(), 0);
  if (mapped == MAP_FAILED) {
    {
      int err = errno;
      throw RegionSyscallError(env, err, "cannot map shared memory region " + Quoted(name), "mmap", name);
    }
  }
  MappingGuard mapping(mapped, total);
  uint8_t* base = static_cast<uint8_t*>(mapped);

  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
  for (uint32_t i = 0; i < mutexes; ++i) {
    auto* slot = reinterpret_cast<MutexSlot*>(base + kMutexOffset + static_cast<size_t>(i) * sizeof(MutexSlot));
    int rc = pthread_mutex_init(&slot->mutex, &attr);
    if (rc != 0) {
      pthread_mutexattr_destroy(&attr);
      throw RegionSyscallError(env, rc, "cannot initialise the mutexes of shared memory region " + Quoted(name),
                               "pthread_mutex_init", name);
    }
  }
  pthread_mutexattr_destroy(&attr);
  std::memcpy(base, &header, sizeof(header));

  // Our shared lock is taken before the name appears, so a published region always has a holder.
  if (FlockRetrying(fd.Get(), LOCK_SH) != 0) {
    {
      int err = errno;
      throw RegionSyscallError(env, err, "cannot lock shared memory region " + Quoted(name), "flock", name);
    }
  }

  for (int attempt = 0; attempt < kPublishAttempts; ++attempt) {
    int rc = Publish(dir, fd.Get(), file);
    if (rc == 0) return Adopt(env, constructors, fd.Release(), name, header, true, mapping.Release());
    if (rc != EEXIST) {
      throw RegionSyscallError(env, rc, "cannot create shared memory region " + Quoted(name), "linkat", name);
    }
    if (orOpen) {
      // Someone else created it first: use theirs (ours was never named and goes away with fd).
      Napi::Value existing = OpenExisting(env, constructors, dir, name, &size, &mutexes);
      if (!existing.IsEmpty()) return existing;
    } else if (!ReclaimIfStale(dir, file)) {
      throw RegionErrnoError(env, EEXIST, "shared memory region " + Quoted(name) + " already exists", "linkat", name);
    }
    // The name was stale (now reclaimed) or vanished meanwhile: publish again.
  }
  throw BusyError(env, name);
}

// cleanupSharedMemory(): removes every stale rawbright region this process may open. Returns their names.
Napi::Value CleanupSharedMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int dirFd = ShmDirectory(env);
  Napi::Array removed = Napi::Array::New(env);
  DIR* listing = opendir(kShmDirectory);
  if (listing == nullptr) throw ErrnoError(env, errno, "cannot list /dev/shm", "opendir", kShmDirectory);
  std::vector<std::string> names;
  size_t prefixLength = std::strlen(kPrefix);
  while (struct dirent* entry = readdir(listing)) {
    std::string file = entry->d_name;
    if (file.compare(0, prefixLength, kPrefix) != 0) continue;
    std::string name = file.substr(prefixLength);
    if (ValidName(name)) names.push_back(name);
  }
  closedir(listing);
  uint32_t count = 0;
  for (const std::string& name : names) {
    std::string file = FileName(name);
    UniqueFd fd(::openat(dirFd, file.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (fd.Get() < 0) continue;  // gone meanwhile, or another user's
    struct stat st;
    if (fstat(fd.Get(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (FlockRetrying(fd.Get(), LOCK_EX | LOCK_NB) != 0) continue;  // in use
    if (!NameLeadsTo(dirFd, file, fd.Get()) || !HasOurMagic(fd.Get())) continue;
    if (::unlinkat(dirFd, file.c_str(), 0) == 0) removed.Set(count++, Napi::String::New(env, name));
  }
  return removed;
}

}  // namespace

void InitSharedMemory(Napi::Env env, Napi::Object exports) {
  auto* constructors = new EnvConstructors();
  constructors->sharedMemory = Napi::Persistent(SharedMemoryHandle::Define(env));
  constructors->mutex = Napi::Persistent(MutexHandle::Define(env));
  napi_add_env_cleanup_hook(
      env, [](void* data) { delete static_cast<EnvConstructors*>(data); }, constructors);
  exports.Set("createSharedMemory", Napi::Function::New(env, CreateSharedMemory, "createSharedMemory", constructors));
  exports.Set("openSharedMemory", Napi::Function::New(env, OpenSharedMemory, "openSharedMemory", constructors));
  exports.Set("cleanupSharedMemory", Napi::Function::New(env, CleanupSharedMemory, "cleanupSharedMemory"));
  Napi::Object limits = Napi::Object::New(env);
  limits.Set("supported", Napi::Boolean::New(env, true));
  limits.Set("directory", kShmDirectory);
  limits.Set("prefix", kPrefix);
  limits.Set("maxNameLength", Napi::Number::New(env, static_cast<double>(kMaxNameLength)));
  limits.Set("maxSize", Napi::Number::New(env, static_cast<double>(kMaxDataSize)));
  limits.Set("maxMutexes", Napi::Number::New(env, kMaxMutexes));
  exports.Set("sharedMemoryLimits", limits);
}

#else  // not Linux

namespace {
Napi::Value Unsupported(const Napi::CallbackInfo& info) {
  throw CodedError(info.Env(), "Error", "ERR_UNSUPPORTED",
                   "shared memory with robust mutexes needs Linux (/dev/shm, robust futexes, O_TMPFILE)");
}
}  // namespace

void InitSharedMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("createSharedMemory", Napi::Function::New<Unsupported>(env, "createSharedMemory"));
  exports.Set("openSharedMemory", Napi::Function::New<Unsupported>(env, "openSharedMemory"));
  exports.Set("cleanupSharedMemory", Napi::Function::New<Unsupported>(env, "cleanupSharedMemory"));
  Napi::Object limits = Napi::Object::New(env);
  limits.Set("supported", Napi::Boolean::New(env, false));
  limits.Set("directory", "");
  limits.Set("prefix", "rawbright.");
  limits.Set("maxNameLength", Napi::Number::New(env, 240));
  limits.Set("maxSize", Napi::Number::New(env, 4294967296.0));
  limits.Set("maxMutexes", Napi::Number::New(env, 64));
  exports.Set("sharedMemoryLimits", limits);
}

#endif

}  // namespace rawbright
