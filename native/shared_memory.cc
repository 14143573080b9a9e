// Named, non-persisted shared memory between processes, with process-shared mutexes inside.
//
// Where a region lives: /dev/shm/rawbright.<name> (what shm_open uses on Linux), laid out as
//   [header: magic, version, sizes, ABI tag | mutex slots, one lock word each][data: `size` bytes]
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
// Who is trusted. /dev/shm is writable by every user, so a name may hold anything. open and
// createOrOpen join only a region whose file belongs to this process's effective uid, or to the one
// uid the caller says it trusts (trustOwner): otherwise another user could pre-create a name (mode
// 0666) and read what we write there. Nothing is ever removed unless it is provably a region: a
// regular file with one name, owned as above, whose header passes every check of a format we know and
// whose size is the one the header states.
//
// The mutexes are lock words of our own, not pthread mutexes. A region may be writable by other users
// on purpose (mode 0660, 0666), and a glibc robust mutex keeps list pointers in the shared memory that
// glibc follows and asserts on: whoever can write the memory could crash, abort or steer every process
// that locks it. A lock word is only ever read as a number:
//   0                  free
//   1                  free, but its last holder closed its region (or its thread ended) without
//                      unlocking: the next locker is told "abandoned"
//   token (>= 1024)    held by the attachment (one open/create of the region) that drew that token
//   | 1 << 31          someone may be sleeping on the word (futex): unlock must wake one
// Any other value is not one we write; it counts as held by nobody alive.
// Liveness is kept by the kernel too: every attachment draws a random token and holds an
// open-file-description write lock (F_OFD_SETLK) on byte kLivenessBase + token of the region's file
// while it is attached; the kernel drops it with the descriptor, however the process ends, whatever
// PID namespace it lives in. A locker that finds the word held by a token whose byte nobody has
// write-locked (F_OFD_GETLK) knows that holder is gone: it takes the word over with a compare-and-swap
// and reports "abandoned". Waiting is FUTEX_WAIT on the word (not FUTEX_PRIVATE: across processes) in
// slices of at most kMaxSliceNs, so a holder that died without waking anyone is noticed that soon.
// What another user who can write the region can still do: change the data, break mutual exclusion by
// rewriting a lock word (the holder's unlock then reports ERR_SHM_LOCK_BROKEN), hold a lock or fake a
// live holder for as long as they like (lock() then waits for its timeout), refuse us new attachments
// (ERR_SHM_BUSY). What they cannot do: make this process crash, abort, or wait past its timeout.
// Nothing read from the region after open is used as a pointer, size or index, and the header
// fields that size the mapping are copied and checked once, at open.
//
// Threads: the lock belongs to the Mutex object (one per attachment and index), not to a thread.
// tryLock (and the uncontended path of lock) and unlock run on the JavaScript thread; a lock that must
// wait is waited for by a thread per Mutex object (started on first need), which takes the word and
// hands the result to JavaScript through a thread-safe function made per waiting request.
// JavaScript's fast path (src/shm/shared-memory.ts, fastLock() below) takes a free word (0 -> token)
// and frees one that shows exactly the token (token -> 0) with Atomics.compareExchange on the word,
// with no call here, while the SIGBUS guard has caught no fault in the process; every other case
// (a holder, the waiters bit, an abandoned or forged word, a fault) comes here, the hold handed over
// with adopt() first. The words and their protocol are the same either way.
//
// Truncation: the mapping is watched by the SIGBUS guard (sigbus.cc). If another process truncates the
// file, touching a lost page puts zeros there instead of killing the process, and every lock
// operation from then on fails with ERR_SHM_TRUNCATED.
#include <napi.h>

#if defined(__linux__)
#include <dirent.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
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
// Format 2: lock words of our own. Format 1 held glibc robust mutexes in the same slots.
constexpr uint32_t kVersion = 2;
constexpr uint32_t kOldestKnownVersion = 1;
// The meaning of the flock protocol above. Every version of rawbright must keep it, so that one
// version can safely reclaim a stale region made by another.
constexpr uint32_t kLockProtocol = 1;
constexpr uint32_t kMutexOffset = 128;
constexpr uint32_t kMutexSlotSize = 64;  // one cache line per lock word
constexpr uint32_t kLockWordSize = 4;
constexpr uint32_t kMaxMutexes = 64;
constexpr uint64_t kMaxDataSize = 1ull << 40;  // 1 TiB; past 4 GiB reached through windows
constexpr uint64_t kMaxBufferSize = 1ull << 32;  // Node 20's ArrayBuffer limit: one buffer or window
// How long an opener retries to join a region whose exclusive lock someone holds for a moment.
constexpr int kSharedLockAttempts = 2000;  // × 1 ms
constexpr int kPublishAttempts = 100;

// The lock word (see the top of this file).
constexpr uint32_t kWaiters = 1u << 31;
constexpr uint32_t kFree = 0;
constexpr uint32_t kReleasedByClose = 1;
constexpr uint32_t kFirstToken = 1024;
// Liveness locks sit far past any data, so they never overlap a byte range anyone else might lock.
constexpr off_t kLivenessBase = off_t{1} << 40;
constexpr int kTokenAttempts = 64;
// A waiting lock sleeps in slices that grow from the first to the longest: after each it looks
// whether the holder still lives and whether it was cancelled (close, teardown).
constexpr int64_t kFirstSliceNs = 1'000'000;
constexpr int64_t kMaxSliceNs = 20'000'000;

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t lockProtocol;
  uint64_t dataSize;
  uint64_t headerSize;  // where the data starts; a multiple of the page size
  uint32_t mutexCount;
  uint32_t mutexOffset;
  uint32_t mutexSlotSize;
  uint32_t lockWordSize;  // format 1: sizeof(pthread_mutex_t)
  char abi[32];           // the architecture: lock words are shared between identical ones only
  uint32_t creatorPid;
  uint32_t reserved;
  uint64_t createdAtMs;
};
static_assert(sizeof(Header) <= kMutexOffset, "the header fits before the first mutex slot");
static_assert(offsetof(Header, version) == 8 && offsetof(Header, dataSize) == 16, "format 1's offsets are kept");

const char* AbiTag() {
#if defined(__x86_64__)
  return "x86_64";
#elif defined(__aarch64__)
  return "aarch64";
#elif defined(__i386__)
  return "i386";
#elif defined(__arm__)
  return "arm";
#elif defined(__riscv) && __riscv_xlen == 64
  return "riscv64";
#else
  return "other";
#endif
}

uint64_t HeaderSizeFor(uint32_t mutexCount) {
  uint64_t bytes = kMutexOffset + static_cast<uint64_t>(mutexCount) * kMutexSlotSize;
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

Napi::Error NotARegionError(Napi::Env env, const std::string& name) {
  return RegionCodedError(env, "ERR_SHM_INVALID",
                          "shared memory region " + Quoted(name) + " is not a rawbright shared memory region", name);
}

Napi::Error ReadOnlyError(Napi::Env env, const std::string& name, const std::string& what) {
  return RegionCodedError(env, "ERR_SHM_READ_ONLY",
                          "shared memory region " + Quoted(name) + " is open read-only and " + what, name);
}

Napi::Error ForeignOwnerError(Napi::Env env, const std::string& name, uid_t owner) {
  std::string uid = std::to_string(owner);
  return RegionCodedError(env, "ERR_SHM_FOREIGN_OWNER",
                          "shared memory region " + Quoted(name) + " belongs to uid " + uid +
                              ", not to this user (uid " + std::to_string(geteuid()) + "); pass { trustOwner: " +
                              uid + " } to use it",
                          name);
}

Napi::Error TruncatedError(Napi::Env env, const std::string& name) {
  return RegionCodedError(env, "ERR_SHM_TRUNCATED",
                          "shared memory region " + Quoted(name) +
                              " was truncated by another process; its lost pages now read as zeros here",
                          name);
}

Napi::Error LockBrokenError(Napi::Env env, const std::string& name) {
  return RegionCodedError(env, "ERR_SHM_LOCK_BROKEN",
                          "the mutex of shared memory region " + Quoted(name) +
                              " was taken over by another process while this one held it",
                          name);
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

// The uid the caller trusts besides its own, or -1 for none (argument undefined).
int64_t ArgTrustedOwner(const Napi::CallbackInfo& info, size_t i) {
  if (i >= info.Length() || info[i].IsUndefined()) return -1;
  uint64_t uid = ArgIndex(info, i, "trustOwner");
  if (uid >= 0xFFFFFFFFull) ThrowRangeError(info.Env(), "trustOwner must be a uid from 0 to 2^32 - 2");
  return static_cast<int64_t>(uid);
}

bool OwnerAllowed(uid_t owner, int64_t trusted) {
  return owner == geteuid() || (trusted >= 0 && static_cast<int64_t>(owner) == trusted);
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

// Results of OpenCandidate besides 0 and an errno.
constexpr int kNotRegularFile = -1;
constexpr int kForeignOwner = -2;

// Opens FILE in /dev/shm for reading and writing if it is a regular file (never a FIFO, a device or a
// symbolic link: they are refused before any open) owned by this user or TRUSTED. 0 with *fd and *st
// set; ENOENT if there is no such name; kNotRegularFile; kForeignOwner (with *st, for its owner); or
// another errno.
int OpenCandidate(int dir, const std::string& file, int64_t trusted, UniqueFd* fd, struct stat* st,
                  bool readOnly = false) {
  if (fstatat(dir, file.c_str(), st, AT_SYMLINK_NOFOLLOW) != 0) return errno;
  if (!S_ISREG(st->st_mode)) return kNotRegularFile;
  if (!OwnerAllowed(st->st_uid, trusted)) return kForeignOwner;
  fd->Reset(::openat(dir, file.c_str(), (readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY));
  if (fd->Get() < 0) return errno == ELOOP ? kNotRegularFile : errno;
  // The name may have been replaced between the look and the open: what counts is the file we hold.
  if (fstat(fd->Get(), st) != 0) return errno;
  if (!S_ISREG(st->st_mode)) return kNotRegularFile;
  if (!OwnerAllowed(st->st_uid, trusted)) return kForeignOwner;
  return 0;
}

// What a file's header says about it.
enum class Verdict {
  kCurrent,       // a region of this format and architecture
  kOlderFormat,   // a well-formed region of an older format we know
  kOtherAbi,      // a well-formed region of this format, for another architecture
  kOtherVersion,  // a format we do not know
  kDamaged,       // our magic, but sizes that do not hold together
  kNotRegion,     // not one of ours
};

struct Inspection {
  Verdict verdict = Verdict::kNotRegion;
  Header header;
  // Provably a region (well-formed in a format we know), so it may be removed once stale.
  bool Removable() const {
    return verdict == Verdict::kCurrent || verdict == Verdict::kOlderFormat || verdict == Verdict::kOtherAbi;
  }
};

// Reads the header of the file open as FD, whose status is ST, and checks all of it against the file.
Inspection Inspect(int fd, const struct stat& st) {
  Inspection result;
  Header& header = result.header;
  std::memset(&header, 0, sizeof(header));
  // A region has exactly one name: O_TMPFILE, then one linkat.
  if (!S_ISREG(st.st_mode) || st.st_nlink != 1) return result;
  if (::pread(fd, &header, sizeof(header), 0) != static_cast<ssize_t>(sizeof(header)) ||
      std::memcmp(header.magic, kMagic, sizeof(kMagic)) != 0) {
    return result;
  }
  header.abi[sizeof(header.abi) - 1] = '\0';
  if (header.version < kOldestKnownVersion) {
    result.verdict = Verdict::kDamaged;
    return result;
  }
  if (header.version > kVersion || header.lockProtocol != kLockProtocol) {
    result.verdict = Verdict::kOtherVersion;
    return result;
  }
  // Formats 1 and 2 share this layout.
  bool wellFormed = header.mutexOffset == kMutexOffset && header.mutexSlotSize == kMutexSlotSize &&
                    header.mutexCount >= 1 && header.mutexCount <= kMaxMutexes &&
                    header.headerSize == HeaderSizeFor(header.mutexCount) && header.dataSize <= kMaxDataSize &&
                    static_cast<uint64_t>(st.st_size) == header.headerSize + header.dataSize;
  if (!wellFormed) {
    result.verdict = Verdict::kDamaged;
  } else if (header.version != kVersion) {
    result.verdict = Verdict::kOlderFormat;
  } else if (std::strcmp(header.abi, AbiTag()) != 0 || header.lockWordSize != kLockWordSize) {
    result.verdict = Verdict::kOtherAbi;
  } else {
    result.verdict = Verdict::kCurrent;
  }
  return result;
}

// The error for a header that is not a current region's.
Napi::Error HeaderError(Napi::Env env, const std::string& name, const Inspection& inspection) {
  const Header& header = inspection.header;
  switch (inspection.verdict) {
    case Verdict::kOlderFormat:
    case Verdict::kOtherVersion:
      return RegionCodedError(env, "ERR_SHM_INCOMPATIBLE",
                              "shared memory region " + Quoted(name) +
                                  " was made by another version of rawbright (format " +
                                  std::to_string(header.version) + ", this one reads " + std::to_string(kVersion) +
                                  ")",
                              name);
    case Verdict::kOtherAbi:
      return RegionCodedError(env, "ERR_SHM_INCOMPATIBLE",
                              "shared memory region " + Quoted(name) + " was made for " + header.abi +
                                  " and its mutexes cannot be shared with this process (" + AbiTag() + ")",
                              name);
    case Verdict::kDamaged:
      return RegionCodedError(env, "ERR_SHM_INVALID", "shared memory region " + Quoted(name) + " has a damaged header",
                              name);
    case Verdict::kCurrent:
    case Verdict::kNotRegion:
      break;
  }
  return NotARegionError(env, name);
}

// The close protocol: if no one else holds the region (the exclusive lock is free), remove its name,
// provided the name still leads to this file. Then close the descriptor (which drops its locks).
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

// Opens the region published under NAME and joins it (shared lock, name re-checked). Refuses a region
// owned by anyone but this user and TRUSTED (ERR_SHM_FOREIGN_OWNER). A region that nobody holds is
// stale (its users died without closing): it is removed if it is provably a region, and NAME counts
// as missing. Returns the descriptor, or -1 if NAME does not exist (now).
int AttachExisting(Napi::Env env, int dir, const std::string& name, int64_t trusted, bool readOnly) {
  std::string file = FileName(name);
  for (int attempt = 0; attempt < kPublishAttempts; ++attempt) {
    UniqueFd fd;
    struct stat st;
    int rc = OpenCandidate(dir, file, trusted, &fd, &st, readOnly);
    if (rc == ENOENT) return -1;
    if (rc == kNotRegularFile) throw NotARegionError(env, name);
    if (rc == kForeignOwner) throw ForeignOwnerError(env, name, st.st_uid);
    if (rc != 0) throw RegionSyscallError(env, rc, "cannot open shared memory region " + Quoted(name), "open", name);
    if (FlockRetrying(fd.Get(), LOCK_EX | LOCK_NB) == 0) {
      // No one holds it. Live regions always have at least one shared holder (the creator takes its
      // lock before publishing), so this one is stale, or it was never one of ours.
      if (!NameLeadsTo(dir, file, fd.Get())) continue;  // replaced while we looked
      Inspection inspection = Inspect(fd.Get(), st);
      if (!inspection.Removable()) throw HeaderError(env, name, inspection);
      if (::unlinkat(dir, file.c_str(), 0) != 0 && errno != ENOENT) {
        int err = errno;
        throw RegionSyscallError(env, err, "cannot remove stale shared memory region " + Quoted(name), "unlink",
                                 name);
      }
      return -1;
    }
    if (errno != EWOULDBLOCK) {
      int err = errno;
      throw RegionSyscallError(env, err, "cannot lock shared memory region " + Quoted(name), "flock", name);
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

// ---------------------------------------------------------------------------------------------
// Lock words and liveness.

uint32_t LoadWord(uint32_t* word) { return __atomic_load_n(word, __ATOMIC_ACQUIRE); }

// On failure *expected holds the word's current value.
bool SwapWord(uint32_t* word, uint32_t* expected, uint32_t desired) {
  return __atomic_compare_exchange_n(word, expected, desired, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

// FUTEX_WAIT on a shared mapping: woken by any process's FUTEX_WAKE on the same file page.
long FutexWait(uint32_t* word, uint32_t expected, int64_t timeoutNs) {
  struct timespec relative;
  relative.tv_sec = static_cast<time_t>(timeoutNs / 1'000'000'000);
  relative.tv_nsec = static_cast<long>(timeoutNs % 1'000'000'000);
  return syscall(SYS_futex, word, FUTEX_WAIT, expected, &relative, nullptr, 0);
}

void FutexWake(uint32_t* word, int count) { syscall(SYS_futex, word, FUTEX_WAKE, count, nullptr, nullptr, 0); }

uint32_t RandomToken() {
  uint32_t bits = 0;
  if (getrandom(&bits, sizeof(bits), GRND_NONBLOCK) != static_cast<ssize_t>(sizeof(bits))) {
    static std::atomic<uint32_t> counter{0};
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    bits = static_cast<uint32_t>(now.tv_nsec) * 2654435761u ^ static_cast<uint32_t>(getpid()) * 40503u ^
           counter.fetch_add(0x9E3779B9u);
  }
  return kFirstToken + bits % (kWaiters - kFirstToken);
}

struct flock LivenessRange(uint32_t token, short type) {
  struct flock range;
  std::memset(&range, 0, sizeof(range));
  range.l_type = type;
  range.l_whence = SEEK_SET;
  range.l_start = kLivenessBase + static_cast<off_t>(token);
  range.l_len = 1;
  range.l_pid = 0;  // required for OFD locks
  return range;
}

// Draws a token no live attachment has and takes its liveness lock on FD. 0 or an errno.
int ClaimToken(int fd, uint32_t* token) {
  for (int attempt = 0; attempt < kTokenAttempts; ++attempt) {
    uint32_t candidate = RandomToken();
    struct flock range = LivenessRange(candidate, F_WRLCK);
    if (fcntl(fd, F_OFD_SETLK, &range) == 0) {
      *token = candidate;
      return 0;
    }
    if (errno != EAGAIN && errno != EACCES && errno != EINTR) return errno;
  }
  return EAGAIN;
}

// Whether some attachment still holds TOKEN's liveness lock. Probing with a read lock sees only write
// locks, so users who may merely read the file cannot fake a live holder. If the kernel cannot
// answer, the holder counts as alive: a live lock is never taken away on a guess.
bool TokenAlive(int fd, uint32_t token) {
  struct flock probe = LivenessRange(token, F_RDLCK);
  if (fcntl(fd, F_OFD_GETLK, &probe) != 0) return true;
  return probe.l_type != F_UNLCK;
}

// ---------------------------------------------------------------------------------------------
// Region: one attachment of this process (one open or create) to a shared memory region.

class MutexOwner;

// The result of a lock attempt, as JavaScript sees it.
enum LockStatus : int { kBusy = -1, kAcquired = 0, kAbandoned = 1, kTimedOut = 2 };

struct Region {
  int fd = -1;
  uint8_t* base = nullptr;
  size_t mapLength = 0;
  int watchSlot = -1;  // the mapping's slot in the SIGBUS guard
  uint64_t headerSize = 0;
  uint64_t dataSize = 0;
  uint32_t mutexCount = 0;
  uint32_t token = 0;  // this attachment's lock-word token (its liveness lock is held on fd)
  uid_t owner = 0;
  std::string name;
  bool created = false;
  bool closed = false;
  // Opened with access 'read': the descriptor is O_RDONLY and the mapping PROT_READ, so no write can
  // reach the region; JavaScript gets copies (read()), never a view, and no mutexes (no token).
  bool readOnly = false;
  // Bit i: a Mutex object of this attachment holds lock word i (so a word that shows our token
  // without it was forged). Read by the waiting threads too.
  std::atomic<uint64_t> heldHere{0};
  // The Mutex object of each index (one per attachment and index); stopped before the memory is
  // unmapped. JS thread only.
  std::vector<std::weak_ptr<MutexOwner>> owners;

  Region() = default;
  Region(const Region&) = delete;
  Region& operator=(const Region&) = delete;
  ~Region() { Close(nullptr); }

  uint32_t* Word(uint32_t index) {
    return reinterpret_cast<uint32_t*>(base + kMutexOffset + static_cast<size_t>(index) * kMutexSlotSize);
  }
  uint8_t* Data() { return base + headerSize; }
  // Whether a page of the mapping was truncated away under us (and is zeros here now).
  bool Faulted() const { return WatchedMappingFaulted(watchSlot, base); }
  void Close(napi_env env);

  // One attempt to take lock word INDEX. kAcquired or kAbandoned (then it is ours), or kBusy with the
  // word's value in *seen. markWaiters keeps the waiters bit on the taken word: a waiter that slept
  // cannot know whether others still sleep, so its unlock must wake one.
  int TryAcquire(uint32_t index, bool markWaiters, uint32_t* seen) {
    uint32_t* word = Word(index);
    uint64_t bit = uint64_t{1} << index;
    uint32_t value = LoadWord(word);
    for (;;) {
      uint32_t holder = value & ~kWaiters;
      bool abandoned;
      if (holder == kFree) {
        abandoned = false;
      } else if (holder == kReleasedByClose) {
        abandoned = true;
      } else if (holder == token ? (heldHere.load() & bit) != 0
                                 : holder >= kFirstToken && TokenAlive(fd, holder)) {
        *seen = value;
        return kBusy;
      } else {
        abandoned = true;  // its holder is gone, or the word holds a value no rawbright writes
      }
      uint32_t desired = token | (value & kWaiters) | (markWaiters ? kWaiters : 0);
      if (SwapWord(word, &value, desired)) {
        heldHere.fetch_or(bit);
        return abandoned ? kAbandoned : kAcquired;
      }
    }
  }

  // Releases lock word INDEX, which this attachment holds, to kFree (unlock) or kReleasedByClose
  // (closed without unlocking), and wakes a sleeper if there is one. False if the word no longer
  // shows our token: someone took it over, and it is left as they made it.
  bool Release(uint32_t index, uint32_t to) {
    heldHere.fetch_and(~(uint64_t{1} << index));
    uint32_t* word = Word(index);
    uint32_t value = LoadWord(word);
    for (;;) {
      if ((value & ~kWaiters) != token) return false;
      if (SwapWord(word, &value, to)) {
        if ((value & kWaiters) != 0) FutexWake(word, 1);
        return true;
      }
    }
  }
};

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

// Errors a waiting lock reports besides errnos.
constexpr int kErrTruncated = -1;

// One lock word of one attachment, with the thread that waits for it when a lock must wait.
class MutexOwner : public std::enable_shared_from_this<MutexOwner> {
 public:
  MutexOwner(std::shared_ptr<Region> region, uint32_t index) : region_(std::move(region)), index_(index) {}
  MutexOwner(const MutexOwner&) = delete;
  MutexOwner& operator=(const MutexOwner&) = delete;
  ~MutexOwner() { Shutdown(nullptr); }

  void CheckOpen(Napi::Env env) const {
    if (region_->closed || stopped_) throw ClosedError(env, region_->name);
  }

  bool Held() const { return held_; }

  // On the JavaScript thread. kBusy if anyone (this object included) holds it.
  int TryLock(Napi::Env env) {
    CheckOpen(env);
    if (held_ || pending_) return kBusy;
    if (region_->Faulted()) throw TruncatedError(env, region_->name);
    uint32_t seen = 0;
    int status = region_->TryAcquire(index_, false, &seen);
    // The word itself may have been on a page truncated away: then what we took is a private zero.
    if (region_->Faulted()) {
      if (status != kBusy) region_->heldHere.fetch_and(~(uint64_t{1} << index_));
      throw TruncatedError(env, region_->name);
    }
    if (status != kBusy) held_ = true;
    return status;
  }

  // On the JavaScript thread: JavaScript's fast path took the word itself (compare-exchange free ->
  // token on the lock words buffer) while this object was idle; from now on the hold is this
  // object's, as if TryLock had taken it (unlock, close and the truncation checks see it). Throws
  // ERR_SHM_TRUNCATED, not holding, if the region was truncated (the word taken was a private zero).
  void Adopt(Napi::Env env) {
    CheckOpen(env);
    if (held_ || pending_) {
      throw CodedError(env, "Error", "ERR_MUTEX_BUSY", "this mutex object is already locked or locking");
    }
    held_ = true;
    region_->heldHere.fetch_or(uint64_t{1} << index_);
    if (region_->Faulted()) {
      held_ = false;
      region_->heldHere.fetch_and(~(uint64_t{1} << index_));
      throw TruncatedError(env, region_->name);
    }
  }

  // After JavaScript's fast path released the word: ERR_SHM_TRUNCATED if the region was truncated
  // (what was written under the lock may be lost), as Unlock reports it.
  void CheckFault(Napi::Env env) const {
    if (region_->Faulted()) throw TruncatedError(env, region_->name);
  }

  // Hands a waiting lock to the waiting thread; the promise settles with a LockStatus or an error.
  Napi::Promise LockAsync(Napi::Env env, Napi::Object self, int64_t timeoutMs) {
    CheckOpen(env);
    if (held_ || pending_) {
      throw CodedError(env, "Error", "ERR_MUTEX_BUSY", "this mutex object is already locked or locking");
    }
    if (region_->Faulted()) throw TruncatedError(env, region_->name);
    if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
    Napi::Promise::Deferred deferred = Napi::Promise::Deferred::New(env);
    // The waiting thread holds this function's only thread count and releases it when the request
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

  // On the JavaScript thread: releases the word. The hold ends even when this throws.
  void Unlock(Napi::Env env) {
    CheckOpen(env);
    if (!held_) throw CodedError(env, "Error", "ERR_NOT_LOCKED", "the mutex is not locked by this Mutex object");
    held_ = false;
    if (region_->Faulted()) {
      region_->heldHere.fetch_and(~(uint64_t{1} << index_));
      throw TruncatedError(env, region_->name);
    }
    bool ours = region_->Release(index_, kFree);
    if (region_->Faulted()) throw TruncatedError(env, region_->name);
    if (!ours) throw LockBrokenError(env, region_->name);
  }

  // On the JavaScript thread, when the waiting thread has finished a request.
  void Complete(Napi::Env env, const LockCompletion& completion) {
    if (!pending_ || completion.requestId != pendingId_) return;  // cancelled by close meanwhile
    Napi::Promise::Deferred deferred = *pending_;
    pending_.reset();
    selfRef_.Reset();
    if (completion.status == kAcquired || completion.status == kAbandoned) {
      {
        std::lock_guard<std::mutex> guard(mutex_);
        acquiredByThread_ = false;
      }
      held_ = true;
    }
    if (completion.err != 0) {
      deferred.Reject(LockError(env, completion.err).Value());
      return;
    }
    deferred.Resolve(Napi::Number::New(env, completion.status));
  }

  // Stops the waiting thread and lets go of the word if this object holds it, marking it so the
  // next locker hears it was abandoned. With an env, a pending lock is rejected with ERR_CLOSED.
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
      // A sleeping wait wakes at once (other processes' sleepers wake too and look again).
      if (!region_->closed) FutexWake(region_->Word(index_), INT_MAX);
      thread_.join();
    }
    // A lock the waiting thread took but JavaScript never received: nobody used it, plain unlock.
    if (acquiredByThread_) {
      acquiredByThread_ = false;
      if (!region_->closed) region_->Release(index_, kFree);
    }
    if (held_) {
      held_ = false;
      if (!region_->closed) region_->Release(index_, kReleasedByClose);
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

  Napi::Error LockError(Napi::Env env, int err) const {
    if (err == kErrTruncated) return TruncatedError(env, region_->name);
    return RegionSyscallError(env, err, "waiting for the mutex of shared memory region " + Quoted(region_->name) +
                                            " failed", "futex", region_->name);
  }

 private:
  enum class Command { kIdle, kLock, kLockRunning, kStop };

  static int64_t MonotonicNs() {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
  }

  // On the waiting thread: waits for the word until deadlineNs (-1: forever). Returns a LockStatus;
  // kBusy if cancelled or failed (then *err is set).
  int Wait(int64_t deadlineNs, int* err) {
    uint32_t* word = region_->Word(index_);
    int64_t slice = kFirstSliceNs;
    bool slept = false;
    for (;;) {
      if (cancel_.load()) return kBusy;
      uint32_t seen = 0;
      int status = region_->TryAcquire(index_, slept, &seen);
      if (region_->Faulted()) {
        if (status != kBusy) region_->heldHere.fetch_and(~(uint64_t{1} << index_));
        *err = kErrTruncated;
        return kBusy;
      }
      if (status != kBusy) return status;
      int64_t now = MonotonicNs();
      if (deadlineNs >= 0 && now >= deadlineNs) return kTimedOut;
      // Tell the holder someone sleeps, then sleep while the word stays as we saw it.
      if ((seen & kWaiters) == 0) {
        uint32_t expected = seen;
        if (!SwapWord(word, &expected, seen | kWaiters)) continue;  // it changed: look again
        seen |= kWaiters;
      }
      int64_t wait = deadlineNs >= 0 ? std::min(slice, deadlineNs - now) : slice;
      slept = true;
      if (FutexWait(word, seen, wait) != 0) {
        if (errno == ETIMEDOUT) {
          slice = std::min(slice * 2, kMaxSliceNs);
        } else if (errno == EFAULT) {
          // The kernel could not reach the page: the file was truncated under the word.
          *err = kErrTruncated;
          return kBusy;
        } else if (errno != EAGAIN && errno != EINTR) {
          *err = errno;
          return kBusy;
        }
      }
    }
  }

  // The waiting thread: waits for the word when JavaScript asks, reports, and waits for the next ask.
  void Run() {
    // Process-directed signals belong to Node's own threads. Faults stay unblocked: a blocked
    // SIGBUS raised by this thread's own access would kill the process instead of reaching the guard.
    sigset_t blocked;
    sigfillset(&blocked);
    for (int fault : {SIGBUS, SIGSEGV, SIGFPE, SIGILL}) sigdelset(&blocked, fault);
    pthread_sigmask(SIG_BLOCK, &blocked, nullptr);
    std::unique_lock<std::mutex> guard(mutex_);
    for (;;) {
      wake_.wait(guard, [this] { return command_ == Command::kLock || command_ == Command::kStop; });
      if (command_ == Command::kStop) {
        // A lock request that was cancelled before this thread picked it up.
        if (static_cast<napi_threadsafe_function>(completion_) != nullptr) completion_.Release();
        completion_ = CompletionFunction();
        return;
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
      if (status == kAcquired || status == kAbandoned) acquiredByThread_ = true;
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
  uint32_t index_;
  // JavaScript thread only:
  bool held_ = false;
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
  bool acquiredByThread_ = false;  // taken by the waiting thread, not yet handed to JavaScript
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
  for (const std::weak_ptr<MutexOwner>& weak : owners) {
    if (std::shared_ptr<MutexOwner> owner = weak.lock()) owner->Shutdown(env);
  }
  owners.clear();
  closed = true;
  if (base != nullptr) {
    if (watchSlot >= 0) UnwatchMapping(base);
    munmap(base, mapLength);
  }
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
    // Writable and configurable, as JavaScript methods are: the fast path's tests count the calls
    // that still reach the addon by wrapping them.
    constexpr auto kMethod = static_cast<napi_property_attributes>(napi_writable | napi_configurable);
    return DefineClass(env, "MutexHandle",
                       {
                           InstanceMethod<&MutexHandle::TryLock>("tryLock", kMethod),
                           InstanceMethod<&MutexHandle::LockAsync>("lockAsync", kMethod),
                           InstanceMethod<&MutexHandle::Unlock>("unlock", kMethod),
                           InstanceMethod<&MutexHandle::IsHeld>("isHeld", kMethod),
                           InstanceMethod<&MutexHandle::Adopt>("adopt", kMethod),
                           InstanceMethod<&MutexHandle::CheckFault>("checkFault", kMethod),
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
  Napi::Value Adopt(const Napi::CallbackInfo& info) {
    Owner(info.Env()).Adopt(info.Env());
    return info.Env().Undefined();
  }
  Napi::Value CheckFault(const Napi::CallbackInfo& info) {
    Owner(info.Env()).CheckFault(info.Env());
    return info.Env().Undefined();
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
                           InstanceMethod<&SharedMemoryHandle::Truncated>("truncated"),
                           InstanceMethod<&SharedMemoryHandle::Read>("read"),
                           InstanceMethod<&SharedMemoryHandle::Window>("window"),
                           InstanceMethod<&SharedMemoryHandle::Close>("close"),
                           InstanceMethod<&SharedMemoryHandle::IsClosed>("isClosed"),
                           InstanceMethod<&SharedMemoryHandle::FastLock>("fastLock"),
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
    if (region.readOnly) throw ReadOnlyError(env, region.name, "has no writable buffer: use read()");
    if (region.dataSize > kMaxBufferSize) {
      throw RegionCodedError(env, "ERR_SHM_TOO_LARGE",
                             "shared memory region " + Quoted(region.name) + " has " +
                                 std::to_string(region.dataSize) +
                                 " bytes, more than one ArrayBuffer can hold (4 GiB): use window(offset, length)",
                             region.name);
    }
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
    result.Set("owner", Napi::Number::New(env, static_cast<double>(region_->owner)));
    result.Set("readOnly", Napi::Boolean::New(env, region_->readOnly));
    return result;
  }

  // mutex(index): the Mutex object of that index (one per attachment and index).
  Napi::Value Mutex(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint64_t index = ArgIndex(info, 0, "index");
    Region& region = Open(env);
    if (region.readOnly) throw ReadOnlyError(env, region.name, "cannot lock its mutexes");
    if (index >= region.mutexCount) {
      throw CodedError(env, "RangeError", "ERR_OUT_OF_RANGE",
                       "shared memory region " + Quoted(region.name) + " has " + std::to_string(region.mutexCount) +
                           " mutex(es); index " + std::to_string(index) + " is past the last");
    }
    std::shared_ptr<MutexOwner> owner = region.owners[index].lock();
    if (!owner) {
      owner = std::make_shared<MutexOwner>(region_, static_cast<uint32_t>(index));
      region.owners[index] = owner;
    }
    Napi::Object object = constructors_->mutex.New({});
    MutexHandle::Unwrap(object)->Attach(std::move(owner));
    return object;
  }

  // window(offset, length): an external ArrayBuffer over those data bytes (at most 4 GiB), made anew
  // each call; close() detaches every one.
  Napi::Value Window(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint64_t offset = ArgIndex(info, 0, "offset");
    uint64_t length = ArgIndex(info, 1, "length");
    Region& region = Open(env);
    if (region.readOnly) throw ReadOnlyError(env, region.name, "has no writable windows: use read()");
    if (offset > region.dataSize || length > region.dataSize - offset) {
      throw CodedError(env, "RangeError", "ERR_OUT_OF_RANGE",
                       "bytes " + std::to_string(offset) + " to " + std::to_string(offset + length) +
                           " are past the end of shared memory region " + Quoted(region.name) + " (" +
                           std::to_string(region.dataSize) + " bytes)");
    }
    if (length > kMaxBufferSize) {
      throw CodedError(env, "RangeError", "ERR_OUT_OF_RANGE", "a window is at most 4 GiB");
    }
    if (length == 0) return Napi::ArrayBuffer::New(env, 0);
    Napi::ArrayBuffer window = Napi::ArrayBuffer::New(env, region.Data() + offset, static_cast<size_t>(length),
                                                      FinalizeRegionBuffer, new std::shared_ptr<Region>(region_));
    // Forget windows already collected, then remember this one for close().
    windowRefs_.erase(std::remove_if(windowRefs_.begin(), windowRefs_.end(),
                                     [](const Napi::Reference<Napi::ArrayBuffer>& ref) { return ref.Value().IsEmpty(); }),
                      windowRefs_.end());
    windowRefs_.push_back(Napi::Weak(window));
    return window;
  }

  // read(offset, length): a copy of those data bytes in a new ArrayBuffer (the mapping is watched, so
  // a truncated page copies as zeros).
  Napi::Value Read(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint64_t offset = ArgIndex(info, 0, "offset");
    uint64_t length = ArgIndex(info, 1, "length");
    Region& region = Open(env);
    if (offset > region.dataSize || length > region.dataSize - offset) {
      throw CodedError(env, "RangeError", "ERR_OUT_OF_RANGE",
                       "bytes " + std::to_string(offset) + " to " + std::to_string(offset + length) +
                           " are past the end of shared memory region " + Quoted(region.name) + " (" +
                           std::to_string(region.dataSize) + " bytes)");
    }
    Napi::ArrayBuffer copy = Napi::ArrayBuffer::New(env, static_cast<size_t>(length));
    if (length != 0) std::memcpy(copy.Data(), region.Data() + offset, static_cast<size_t>(length));
    return copy;
  }

  // truncated(): whether another process cut the file below the mapping (touched or not yet).
  Napi::Value Truncated(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Region& region = Open(env);
    struct stat st;
    bool shorter = fstat(region.fd, &st) == 0 && static_cast<uint64_t>(st.st_size) < region.mapLength;
    return Napi::Boolean::New(env, region.Faulted() || shorter);
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
    for (Napi::Reference<Napi::ArrayBuffer>& ref : windowRefs_) {
      Napi::ArrayBuffer window = ref.Value();
      if (!window.IsEmpty() && !window.IsDetached() && window.ByteLength() > 0) window.Detach();
    }
    windowRefs_.clear();
    if (!lockWordsRef_.IsEmpty()) {
      Napi::ArrayBuffer words = lockWordsRef_.Value();
      if (!words.IsEmpty() && !words.IsDetached() && words.ByteLength() > 0) words.Detach();
      lockWordsRef_.Reset();
    }
    region_->Close(env);
    return env.Undefined();
  }

  Napi::Value IsClosed(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), !region_ || region_->closed);
  }

  // fastLock(): what JavaScript's lock fast path needs, or undefined when it must not take one (a
  // read-only attachment has no token; an unwatched mapping could SIGBUS in JavaScript): `words`, an
  // external ArrayBuffer over the lock word slots (word i at byte i * slotSize; close() detaches it),
  // `slotSize`, this attachment's `token`, and `faults`, a 4-byte external ArrayBuffer over the
  // SIGBUS guard's flag (0 until the process caught a fault in a watched mapping). The fast path
  // takes a free word (0 -> token) and frees a word that shows exactly the token (token -> 0) with
  // compare-exchange while `faults` is 0, and hands anything else to tryLock/unlock (see Adopt).
  Napi::Value FastLock(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Region& region = Open(env);
    if (region.readOnly || region.token == 0 || region.watchSlot < 0) return env.Undefined();
    if (lockWordsRef_.IsEmpty() || lockWordsRef_.Value().IsEmpty()) {
      Napi::ArrayBuffer words = Napi::ArrayBuffer::New(env, region.base + kMutexOffset,
                                                       static_cast<size_t>(region.mutexCount) * kMutexSlotSize,
                                                       FinalizeRegionBuffer, new std::shared_ptr<Region>(region_));
      lockWordsRef_ = Napi::Weak(words);
    }
    if (faultsRef_.IsEmpty() || faultsRef_.Value().IsEmpty()) {
      faultsRef_ = Napi::Weak(Napi::ArrayBuffer::New(env, FaultFlag(), sizeof(uint32_t), [](Napi::Env, void*) {}));
    }
    Napi::Object result = Napi::Object::New(env);
    result.Set("words", lockWordsRef_.Value());
    result.Set("slotSize", Napi::Number::New(env, kMutexSlotSize));
    result.Set("token", Napi::Number::New(env, region.token));
    result.Set("faults", faultsRef_.Value());
    return result;
  }

  EnvConstructors* constructors_ = nullptr;
  std::shared_ptr<Region> region_;
  Napi::Reference<Napi::ArrayBuffer> bufferRef_;
  std::vector<Napi::Reference<Napi::ArrayBuffer>> windowRefs_;
  Napi::Reference<Napi::ArrayBuffer> lockWordsRef_;
  Napi::Reference<Napi::ArrayBuffer> faultsRef_;
};

// Owns a watched mapping until it is handed over.
class MappingGuard {
 public:
  MappingGuard(void* base, size_t length) : base_(base), length_(length), slot_(WatchMapping(base, length)) {}
  ~MappingGuard() {
    if (base_ == nullptr) return;
    if (slot_ >= 0) UnwatchMapping(base_);
    munmap(base_, length_);
  }
  MappingGuard(const MappingGuard&) = delete;
  MappingGuard& operator=(const MappingGuard&) = delete;
  int Slot() const { return slot_; }
  uint8_t* Release() {
    void* base = base_;
    base_ = nullptr;
    return static_cast<uint8_t*>(base);
  }

 private:
  void* base_;
  size_t length_;
  int slot_;
};

// What Adopt needs besides the descriptor: the checked header, who owns the file, and for create the
// mapping and token already made.
struct Attachment {
  Header header;
  uid_t owner = 0;
  bool created = false;
  uint8_t* mapped = nullptr;
  int watchSlot = -1;
  uint32_t token = 0;
  bool readOnly = false;
};

// Maps an attached, checked region (unless already mapped), registers its liveness token, and wraps
// it. Takes over fd: the region's close protocol runs on any failure.
Napi::Object Adopt(Napi::Env env, EnvConstructors* constructors, int fd, const std::string& name,
                   const Attachment& attachment) {
  const Header& header = attachment.header;
  auto region = std::make_shared<Region>();
  region->fd = fd;
  region->name = name;
  region->headerSize = header.headerSize;
  region->dataSize = header.dataSize;
  region->mutexCount = header.mutexCount;
  region->owners.resize(header.mutexCount);
  region->mapLength = static_cast<size_t>(header.headerSize + header.dataSize);
  region->created = attachment.created;
  region->owner = attachment.owner;
  region->readOnly = attachment.readOnly;
  if (attachment.mapped != nullptr) {
    region->base = attachment.mapped;
    region->watchSlot = attachment.watchSlot;
  } else {
    int protection = attachment.readOnly ? PROT_READ : PROT_READ | PROT_WRITE;
    void* base = mmap(nullptr, region->mapLength, protection, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
      int err = errno;
      region.reset();  // runs the close protocol
      throw RegionSyscallError(env, err, "cannot map shared memory region " + Quoted(name), "mmap", name);
    }
    region->base = static_cast<uint8_t*>(base);
    // Watched from the first moment: the file may already be shorter than it was when checked.
    region->watchSlot = WatchMapping(base, region->mapLength);
  }
  if (attachment.token != 0) {
    region->token = attachment.token;
  } else if (!attachment.readOnly) {
    int err = ClaimToken(fd, &region->token);
    if (err != 0) {
      region.reset();
      if (err == EAGAIN) {
        throw RegionCodedError(env, "ERR_SHM_BUSY",
                               "shared memory region " + Quoted(name) + " has no room for another user", name);
      }
      throw RegionSyscallError(env, err, "cannot join shared memory region " + Quoted(name), "fcntl", name);
    }
  }
  return SharedMemoryHandle::Wrap(env, constructors, std::move(region));
}

// Opens NAME; an empty value if missing. Throws for foreign, invalid or incompatible regions.
Napi::Value OpenExisting(Napi::Env env, EnvConstructors* constructors, int dir, const std::string& name,
                         int64_t trusted, const uint64_t* expectSize, const uint32_t* expectMutexes,
                         bool readOnly = false) {
  int fd = AttachExisting(env, dir, name, trusted, readOnly);
  if (fd < 0) return Napi::Value();
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    DetachFromName(dir, FileName(name), fd, false);
    throw RegionSyscallError(env, err, "cannot read shared memory region " + Quoted(name), "fstat", name);
  }
  Inspection inspection = Inspect(fd, st);
  if (inspection.verdict != Verdict::kCurrent) {
    // Not ours, or not this version's: removed only if it provably is a region and we were its last user.
    DetachFromName(dir, FileName(name), fd, inspection.Removable());
    throw HeaderError(env, name, inspection);
  }
  const Header& header = inspection.header;
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
  Attachment attachment;
  attachment.header = header;
  attachment.owner = st.st_uid;
  attachment.readOnly = readOnly;
  return Adopt(env, constructors, fd, name, attachment);
}

// openSharedMemory(name, trustOwner?, readOnly = false)
Napi::Value OpenSharedMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* constructors = static_cast<EnvConstructors*>(info.Data());
  std::string name = ArgName(info, 0);
  int64_t trusted = ArgTrustedOwner(info, 1);
  bool readOnly = info.Length() > 2 && !info[2].IsUndefined() && ArgBool(info, 2, "readOnly");
  Napi::Value handle =
      OpenExisting(env, constructors, ShmDirectory(env), name, trusted, nullptr, nullptr, readOnly);
  if (handle.IsEmpty()) {
    throw RegionErrnoError(env, ENOENT, "shared memory region " + Quoted(name) + " does not exist", "open", name);
  }
  return handle;
}

// For create: if FILE holds a region of this user's that nobody holds (its users died), remove it.
// True if the name is free now (removed, or gone meanwhile); false if it is in use, is another user's,
// or is not provably a region.
bool ReclaimIfStale(int dir, const std::string& file) {
  UniqueFd fd;
  struct stat st;
  int rc = OpenCandidate(dir, file, -1, &fd, &st);
  if (rc == ENOENT) return true;
  if (rc != 0) return false;
  if (FlockRetrying(fd.Get(), LOCK_EX | LOCK_NB) != 0) return false;
  if (!NameLeadsTo(dir, file, fd.Get())) return true;
  if (!Inspect(fd.Get(), st).Removable()) return false;
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

// createSharedMemory(name, size, mode, mutexCount, orOpen, trustOwner?, reserve = true)
Napi::Value CreateSharedMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto* constructors = static_cast<EnvConstructors*>(info.Data());
  std::string name = ArgName(info, 0);
  uint64_t size = ArgIndex(info, 1, "size");
  uint64_t mode = ArgIndex(info, 2, "mode");
  uint64_t mutexCount = ArgIndex(info, 3, "mutexCount");
  bool orOpen = ArgBool(info, 4, "orOpen");
  int64_t trusted = ArgTrustedOwner(info, 5);
  bool reserve = info.Length() <= 6 || info[6].IsUndefined() || ArgBool(info, 6, "reserve");
  if (size > kMaxDataSize) ThrowRangeError(env, "size must be at most 1 TiB");
  if (mode > 0777) ThrowRangeError(env, "mode must be a permission mask from 0 to 0o777");
  if (mutexCount < 1 || mutexCount > kMaxMutexes) ThrowRangeError(env, "mutexCount must be from 1 to 64");
  int dir = ShmDirectory(env);
  std::string file = FileName(name);
  uint32_t mutexes = static_cast<uint32_t>(mutexCount);

  // A fast path for createOrOpen when the region is already there.
  if (orOpen) {
    Napi::Value existing = OpenExisting(env, constructors, dir, name, trusted, &size, &mutexes);
    if (!existing.IsEmpty()) return existing;
  }

  UniqueFd fd(::openat(dir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, static_cast<mode_t>(mode)));
  if (fd.Get() < 0) {
    if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL) {
      throw RegionCodedError(env, "ERR_UNSUPPORTED", "this system's /dev/shm cannot create unnamed files (O_TMPFILE)",
                             name);
    }
    int err = errno;
    throw RegionSyscallError(env, err, "cannot create shared memory region " + Quoted(name), "open", name);
  }
  // The creation mode went through the umask; the caller asked for exactly this one.
  if (fchmod(fd.Get(), static_cast<mode_t>(mode)) != 0) {
    int err = errno;
    throw RegionSyscallError(env, err, "cannot set the permissions of shared memory region " + Quoted(name), "fchmod",
                             name);
  }
  Attachment attachment;
  attachment.created = true;
  attachment.owner = geteuid();
  Header& header = attachment.header;
  std::memset(&header, 0, sizeof(header));
  std::memcpy(header.magic, kMagic, sizeof(kMagic));
  header.version = kVersion;
  header.lockProtocol = kLockProtocol;
  header.dataSize = size;
  header.headerSize = HeaderSizeFor(mutexes);
  header.mutexCount = mutexes;
  header.mutexOffset = kMutexOffset;
  header.mutexSlotSize = kMutexSlotSize;
  header.lockWordSize = kLockWordSize;
  std::strncpy(header.abi, AbiTag(), sizeof(header.abi) - 1);
  header.creatorPid = static_cast<uint32_t>(getpid());
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  header.createdAtMs = static_cast<uint64_t>(now.tv_sec) * 1000 + static_cast<uint64_t>(now.tv_nsec / 1'000'000);
  size_t total = static_cast<size_t>(header.headerSize + size);

  // Reserve the memory now: a tmpfs page that cannot be allocated later would be a SIGBUS on write.
  // Unreserved (reserve: false), the file only gets its size and tmpfs allocates each page on first
  // touch; what can be checked now is that /dev/shm has room for the whole region at this moment. A
  // page that cannot be allocated later faults like a truncated one (the SIGBUS guard: zeros,
  // ERR_SHM_TRUNCATED from the lock operations, truncated = true).
  int err = 0;
  if (reserve) {
    err = posix_fallocate(fd.Get(), 0, static_cast<off_t>(total));
    if (err != 0) {
      std::string what = "cannot allocate " + std::to_string(size) + " bytes for shared memory region " + Quoted(name);
      throw RegionSyscallError(env, err, what, "posix_fallocate", name);
    }
  } else {
    struct statvfs space;
    if (fstatvfs(fd.Get(), &space) == 0 && space.f_blocks != 0 &&
        static_cast<unsigned __int128>(space.f_bavail) * space.f_frsize < total) {
      throw RegionErrnoError(env, ENOSPC,
                             "/dev/shm has no room for the " + std::to_string(size) + " bytes of shared memory region " +
                                 Quoted(name),
                             "fstatvfs", name);
    }
    if (ftruncate(fd.Get(), static_cast<off_t>(total)) != 0) {
      int truncErr = errno;
      throw RegionSyscallError(env, truncErr, "cannot size shared memory region " + Quoted(name), "ftruncate", name);
    }
  }
  void* mapped = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd.Get(), 0);
  if (mapped == MAP_FAILED) {
    int mapErr = errno;
    throw RegionSyscallError(env, mapErr, "cannot map shared memory region " + Quoted(name), "mmap", name);
  }
  MappingGuard mapping(mapped, total);
  // The file's pages start as zeros, and a zero lock word is a free mutex: only the header is written.
  std::memcpy(mapped, &header, sizeof(header));

  err = ClaimToken(fd.Get(), &attachment.token);
  if (err != 0) throw RegionSyscallError(env, err, "cannot set up shared memory region " + Quoted(name), "fcntl", name);

  // Our shared lock is taken before the name appears, so a published region always has a holder.
  if (FlockRetrying(fd.Get(), LOCK_SH) != 0) {
    int lockErr = errno;
    throw RegionSyscallError(env, lockErr, "cannot lock shared memory region " + Quoted(name), "flock", name);
  }

  for (int attempt = 0; attempt < kPublishAttempts; ++attempt) {
    int rc = Publish(dir, fd.Get(), file);
    if (rc == 0) {
      attachment.watchSlot = mapping.Slot();
      attachment.mapped = mapping.Release();
      return Adopt(env, constructors, fd.Release(), name, attachment);
    }
    if (rc != EEXIST) {
      throw RegionSyscallError(env, rc, "cannot create shared memory region " + Quoted(name), "linkat", name);
    }
    if (orOpen) {
      // Someone else created it first: use theirs (ours was never named and goes away with fd).
      Napi::Value existing = OpenExisting(env, constructors, dir, name, trusted, &size, &mutexes);
      if (!existing.IsEmpty()) return existing;
    } else if (!ReclaimIfStale(dir, file)) {
      throw RegionErrnoError(env, EEXIST, "shared memory region " + Quoted(name) + " already exists", "linkat", name);
    }
    // The name was stale (now reclaimed) or vanished meanwhile: publish again.
  }
  throw BusyError(env, name);
}

// unlinkSharedMemory(name): removes NAME if it is provably a region of this user's (whether or not
// anyone has it open: like shm_unlink, processes that have it keep using its memory until they close,
// and the name is free for a new region at once). True if removed, false if there was no such name.
Napi::Value UnlinkSharedMemory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = ArgName(info, 0);
  int dir = ShmDirectory(env);
  std::string file = FileName(name);
  for (int attempt = 0; attempt < kPublishAttempts; ++attempt) {
    UniqueFd fd;
    struct stat st;
    int rc = OpenCandidate(dir, file, -1, &fd, &st);
    if (rc == ENOENT) return Napi::Boolean::New(env, false);
    if (rc == kNotRegularFile) throw NotARegionError(env, name);
    if (rc == kForeignOwner) throw ForeignOwnerError(env, name, st.st_uid);
    if (rc != 0) throw RegionSyscallError(env, rc, "cannot open shared memory region " + Quoted(name), "open", name);
    Inspection inspection = Inspect(fd.Get(), st);
    if (!inspection.Removable()) throw HeaderError(env, name, inspection);
    if (!NameLeadsTo(dir, file, fd.Get())) continue;  // replaced while we looked
    if (::unlinkat(dir, file.c_str(), 0) == 0) return Napi::Boolean::New(env, true);
    if (errno == ENOENT) return Napi::Boolean::New(env, false);
    int err = errno;
    throw RegionSyscallError(env, err, "cannot remove shared memory region " + Quoted(name), "unlink", name);
  }
  throw BusyError(env, name);
}

// cleanupSharedMemory(): removes every stale region of this user's. Returns their names.
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
    UniqueFd fd;
    struct stat st;
    if (OpenCandidate(dirFd, file, -1, &fd, &st) != 0) continue;  // gone, another user's, or not a file
    if (FlockRetrying(fd.Get(), LOCK_EX | LOCK_NB) != 0) continue;  // in use
    if (!NameLeadsTo(dirFd, file, fd.Get()) || !Inspect(fd.Get(), st).Removable()) continue;
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
  exports.Set("unlinkSharedMemory", Napi::Function::New(env, UnlinkSharedMemory, "unlinkSharedMemory"));
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
                   "shared memory needs Linux (/dev/shm, futexes, open file description locks, O_TMPFILE)");
}
}  // namespace

void InitSharedMemory(Napi::Env env, Napi::Object exports) {
  exports.Set("createSharedMemory", Napi::Function::New<Unsupported>(env, "createSharedMemory"));
  exports.Set("openSharedMemory", Napi::Function::New<Unsupported>(env, "openSharedMemory"));
  exports.Set("cleanupSharedMemory", Napi::Function::New<Unsupported>(env, "cleanupSharedMemory"));
  exports.Set("unlinkSharedMemory", Napi::Function::New<Unsupported>(env, "unlinkSharedMemory"));
  Napi::Object limits = Napi::Object::New(env);
  limits.Set("supported", Napi::Boolean::New(env, false));
  limits.Set("directory", "");
  limits.Set("prefix", "rawbright.");
  limits.Set("maxNameLength", Napi::Number::New(env, 240));
  limits.Set("maxSize", Napi::Number::New(env, 1099511627776.0));
  limits.Set("maxMutexes", Napi::Number::New(env, 64));
  exports.Set("sharedMemoryLimits", limits);
}

#endif

}  // namespace rawbright
