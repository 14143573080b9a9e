// Named persisted maps, in the manner of .NET's MemoryMappedFile.CreateFromFile(path, mode, mapName)
// and OpenExisting(mapName): a process that opens a file under a name writes a record of it (device,
// inode, path) into a per-user folder, and another process finds the same file again by that name.
//
// One registry file per name, <folder>/<name>.map, mode 0600 in a 0700 folder the user owns. Every
// user of the name (the process that registered it and each one that opened it) holds a read lock
// on its first byte: an open file description lock (F_OFD_SETLK), which the kernel drops when the
// process dies however it dies, so liveness needs no pid files and no polling. A registrant takes
// the write lock while it writes the record and turns it into its read lock atomically (fcntl lock
// conversions are atomic; flock's are not). The last user to close upgrades to the write lock, which
// succeeds only when no other user holds a read lock, and removes the file. A registry file nobody
// holds a lock on belongs to processes that died: a new registration overwrites it, an open removes
// it and reports the name as unknown.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common.h"
#include "file.h"

namespace rawbright {

namespace {

constexpr const char* kHeader = "rawbright-map 1\n";
// Holder lines past this size are no longer appended (they only help to follow a rename).
constexpr off_t kMaxRecordBytes = 64 * 1024;
constexpr int kAttempts = 8;

Napi::Error NameError(Napi::Env env, const std::string& code, const std::string& message,
                      const std::string& path = std::string()) {
  Napi::Error error = CodedError(env, "Error", code, message);
  if (!path.empty()) error.Set("path", Napi::String::New(env, path));
  return error;
}

std::string Quoted(const std::string& name) { return "'" + name + "'"; }

std::string ParentOf(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string Octal(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// Closes a descriptor when it goes out of scope, unless released.
struct Descriptor {
  int fd = -1;
  explicit Descriptor(int value = -1) : fd(value) {}
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  ~Descriptor() {
    if (fd >= 0) ::close(fd);
  }
  int Release() {
    int value = fd;
    fd = -1;
    return value;
  }
};

#ifdef F_OFD_SETLK
// A lock on byte 0 of the registry file, owned by this open file description. 0 or an errno.
int SetLock(int fd, short type, bool wait) {
  struct flock lock = {};
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  lock.l_start = 0;
  lock.l_len = 1;
  int rc;
  do rc = fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &lock);
  while (rc != 0 && errno == EINTR);
  return rc == 0 ? 0 : errno;
}

// True when another open file description (another user of the name) holds a lock on byte 0.
bool OthersHold(int fd) {
  struct flock lock = {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  lock.l_start = 0;
  lock.l_len = 1;
  if (fcntl(fd, F_OFD_GETLK, &lock) != 0) return true;  // cannot tell: never remove what may be in use
  return lock.l_type != F_UNLCK;
}
#endif

// True while FILE in DIRFD is still the registry file open as FD (not removed or replaced since).
bool StillLinked(int dirFd, const std::string& file, int fd) {
  struct stat linked, open;
  if (fstatat(dirFd, file.c_str(), &linked, AT_SYMLINK_NOFOLLOW) != 0 || fstat(fd, &open) != 0) return false;
  return linked.st_dev == open.st_dev && linked.st_ino == open.st_ino;
}

// Opens (with create: makes) the user's registry folder, refusing one that another user could
// change: the folder must be the user's own, mode 0700 or stricter, and its parent must be owned by
// the user or root and either closed to others or sticky (as /dev/shm and /tmp are), so nobody else
// can rename the folder away and put their own in its place.
int OpenPrivateDirectory(Napi::Env env, const std::string& dir, bool create) {
  std::string parent = ParentOf(dir);
  struct stat st;
  if (::stat(parent.c_str(), &st) != 0) {
    throw ErrnoError(env, errno, "cannot use the folder for map names " + parent, "stat", parent);
  }
  uid_t me = geteuid();
  if ((st.st_uid != me && st.st_uid != 0) || ((st.st_mode & 0022) != 0 && (st.st_mode & S_ISVTX) == 0)) {
    throw NameError(env, "ERR_UNSAFE_RUNTIME_DIR",
                    "cannot keep map names in " + parent + ": other users can change it (owner uid " +
                        std::to_string(st.st_uid) + ", mode " + Octal(st.st_mode) + ")",
                    parent);
  }
  if (create && ::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    throw ErrnoError(env, errno, "cannot make the folder for map names " + dir, "mkdir", dir);
  }
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return -1;
    if (errno == ELOOP || errno == ENOTDIR) {
      throw NameError(env, "ERR_UNSAFE_RUNTIME_DIR", "cannot keep map names in " + dir + ": it is not a folder", dir);
    }
    throw ErrnoError(env, errno, "cannot open the folder for map names " + dir, "open", dir);
  }
  Descriptor guard(fd);
  if (fstat(fd, &st) != 0) throw ErrnoError(env, errno, "cannot read the folder for map names " + dir, "fstat", dir);
  if (st.st_uid != me || (st.st_mode & 0077) != 0) {
    throw NameError(env, "ERR_UNSAFE_RUNTIME_DIR",
                    "cannot keep map names in " + dir + ": it is not a folder only you can use (owner uid " +
                        std::to_string(st.st_uid) + ", mode " + Octal(st.st_mode) + ")",
                    dir);
  }
  return guard.Release();
}

// Opens <name>.map in the folder, refusing anything rawbright did not make for this user there.
// Returns -1 (errno ENOENT) when it does not exist and create is false.
int OpenRegistryFile(Napi::Env env, int dirFd, const std::string& dir, const std::string& name, bool create) {
  std::string file = name + ".map";
  std::string path = dir + "/" + file;
  int flags = O_RDWR | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | (create ? O_CREAT : 0);
  int fd = ::openat(dirFd, file.c_str(), flags, 0600);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT && !create) return -1;
    struct stat planted;
    if ((err == EACCES || err == EPERM) && fstatat(dirFd, file.c_str(), &planted, AT_SYMLINK_NOFOLLOW) == 0 &&
        planted.st_uid != geteuid()) {
      throw NameError(env, "ERR_NAME_NOT_OWNED",
                      "the map name " + Quoted(name) + " belongs to another user (uid " +
                          std::to_string(planted.st_uid) + ")",
                      path);
    }
    errno = err;
    if (errno == ELOOP) {
      throw NameError(env, "ERR_NAME_INVALID", "the registration of the map " + Quoted(name) + " is a symbolic link", path);
    }
    throw ErrnoError(env, errno, "cannot open the registration of the map " + Quoted(name), "open", path);
  }
  Descriptor guard(fd);
  struct stat st;
  if (fstat(fd, &st) != 0) throw ErrnoError(env, errno, "cannot read the registration of " + Quoted(name), "fstat", path);
  if (st.st_uid != geteuid()) {
    throw NameError(env, "ERR_NAME_NOT_OWNED",
                    "the map name " + Quoted(name) + " belongs to another user (uid " + std::to_string(st.st_uid) + ")",
                    path);
  }
  // No links at all: removed by its last user a moment ago, which the callers notice and retry.
  if (!S_ISREG(st.st_mode) || st.st_nlink > 1 || (st.st_mode & 0077) != 0) {
    throw NameError(env, "ERR_NAME_INVALID",
                    "the registration of the map " + Quoted(name) + " is not a file rawbright made (mode " +
                        Octal(st.st_mode) + ", " + std::to_string(st.st_nlink) + " links)",
                    path);
  }
  return guard.Release();
}

// Removes a registry file that nobody holds: only if the write lock can be had and the name still
// refers to it. Closes fd.
void Reclaim(int dirFd, const std::string& file, int fd) {
#ifdef F_OFD_SETLK
  if (SetLock(fd, F_WRLCK, false) == 0 && StillLinked(dirFd, file, fd)) unlinkat(dirFd, file.c_str(), 0);
#endif
  ::close(fd);
}

struct Holder {
  long pid;
  int fd;
};

struct Record {
  std::string access;
  uint64_t dev = 0;
  uint64_t ino = 0;
  std::string path;
  std::vector<Holder> holders;
};

std::string HolderLine(int dataFd) {
  return "holder " + std::to_string(static_cast<long>(getpid())) + " " + std::to_string(dataFd) + "\n";
}

// The record: header, access, dev, ino, a length-prefixed path (any bytes but NUL), holder lines.
std::string FormatRecord(const std::string& access, const struct stat& st, const std::string& path, int dataFd) {
  return std::string(kHeader) + "access " + access + "\ndev " + std::to_string(static_cast<uint64_t>(st.st_dev)) +
         "\nino " + std::to_string(static_cast<uint64_t>(st.st_ino)) + "\npath " + std::to_string(path.size()) + " " +
         path + "\n" + HolderLine(dataFd);
}

bool ReadUnsigned(const std::string& text, size_t* at, uint64_t* value) {
  size_t start = *at;
  uint64_t result = 0;
  while (*at < text.size() && text[*at] >= '0' && text[*at] <= '9') {
    result = result * 10 + static_cast<uint64_t>(text[*at] - '0');
    ++*at;
  }
  *value = result;
  return *at > start;
}

bool Expect(const std::string& text, size_t* at, const std::string& word) {
  if (text.compare(*at, word.size(), word) != 0) return false;
  *at += word.size();
  return true;
}

bool ParseRecord(const std::string& text, Record* record) {
  size_t at = 0;
  uint64_t length = 0;
  if (!Expect(text, &at, kHeader) || !Expect(text, &at, "access ")) return false;
  size_t end = text.find('\n', at);
  if (end == std::string::npos) return false;
  record->access = text.substr(at, end - at);
  at = end + 1;
  if (record->access != "read" && record->access != "readwrite" && record->access != "copy") return false;
  if (!Expect(text, &at, "dev ") || !ReadUnsigned(text, &at, &record->dev) || !Expect(text, &at, "\nino ") ||
      !ReadUnsigned(text, &at, &record->ino) || !Expect(text, &at, "\npath ") || !ReadUnsigned(text, &at, &length) ||
      !Expect(text, &at, " ") || length == 0 || length > text.size() - at) {
    return false;
  }
  record->path = text.substr(at, static_cast<size_t>(length));
  at += static_cast<size_t>(length);
  if (!Expect(text, &at, "\n")) return false;
  // Holder lines are appended by other users without a lock, and a read can see half of one (a
  // write is not atomic against reads across a page boundary): a last line without its newline is
  // an append still under way, and is left out.
  while (at < text.size() && text.find('\n', at) != std::string::npos) {
    uint64_t pid = 0, fd = 0;
    if (!Expect(text, &at, "holder ") || !ReadUnsigned(text, &at, &pid) || !Expect(text, &at, " ") ||
        !ReadUnsigned(text, &at, &fd) || !Expect(text, &at, "\n")) {
      return false;
    }
    if (pid > 0 && pid < (1ull << 31) && fd < (1ull << 31)) record->holders.push_back({static_cast<long>(pid), static_cast<int>(fd)});
  }
  return true;
}

std::string ReadAll(int fd, int* err) {
  std::string text;
  char chunk[4096];
  off_t position = 0;
  for (;;) {
    ssize_t n = ::pread(fd, chunk, sizeof chunk, position);
    if (n < 0) {
      if (errno == EINTR) continue;
      *err = errno;
      return text;
    }
    if (n == 0) break;
    text.append(chunk, static_cast<size_t>(n));
    position += n;
    if (position > 16 * kMaxRecordBytes) break;
  }
  *err = 0;
  return text;
}

bool WriteAll(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

bool SameFile(const struct stat& st, const Record& record) {
  return static_cast<uint64_t>(st.st_dev) == record.dev && static_cast<uint64_t>(st.st_ino) == record.ino;
}

// Opens LOCATION, which was just seen to be the recorded file, and checks it still is once open.
// O_NONBLOCK so that a FIFO swapped in meanwhile cannot block; it is cleared afterwards.
int OpenChecked(const std::string& location, bool writable, const Record& record, int* err) {
  int fd = ::open(location.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    *err = errno;
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || !SameFile(st, record)) {
    ::close(fd);
    *err = ESTALE;
    return -1;
  }
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  *err = 0;
  return fd;
}

// Opens the file a record names. At its recorded path when that is still the same file (device and
// inode); when nothing is at that path any more, the file was renamed: it is reached through a live
// user's descriptor (/proc/<pid>/fd/<n>, same user), and its path is what that link says now. A
// different file at the recorded path (the file was replaced) and a deleted file are refused.
int OpenRecordedFile(Napi::Env env, const std::string& name, const Record& record, bool writable, std::string* path) {
  struct stat st;
  int err = 0;
  if (::stat(record.path.c_str(), &st) == 0) {
    if (SameFile(st, record)) {
      int fd = OpenChecked(record.path, writable, record, &err);
      if (fd >= 0) {
        *path = record.path;
        return fd;
      }
      if (err != ESTALE) throw ErrnoError(env, err, "cannot open " + record.path, "open", record.path);
    }
    throw NameError(env, "ERR_FILE_REPLACED",
                    "cannot open the map " + Quoted(name) + ": " + record.path +
                        " was replaced by another file since it was mapped",
                    record.path);
  }
  if (errno != ENOENT && errno != ENOTDIR) throw ErrnoError(env, errno, "cannot open " + record.path, "stat", record.path);
  bool deleted = false;
  for (auto holder = record.holders.rbegin(); holder != record.holders.rend(); ++holder) {
    std::string link = "/proc/" + std::to_string(holder->pid) + "/fd/" + std::to_string(holder->fd);
    if (::stat(link.c_str(), &st) != 0 || !SameFile(st, record)) continue;
    if (st.st_nlink == 0) {
      deleted = true;
      continue;
    }
    char target[4096];
    ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
    if (n <= 0 || target[0] != '/') continue;
    int fd = OpenChecked(link, writable, record, &err);
    if (fd < 0) {
      if (err == ESTALE || err == ENOENT) continue;
      throw ErrnoError(env, err, "cannot open the map " + Quoted(name) + " (renamed from " + record.path + ")", "open");
    }
    *path = std::string(target, static_cast<size_t>(n));
    return fd;
  }
  if (deleted) {
    throw NameError(env, "ERR_FILE_DELETED",
                    "cannot open the map " + Quoted(name) + ": " + record.path + " was deleted since it was mapped",
                    record.path);
  }
  throw NameError(env, "ERR_FILE_MOVED",
                  "cannot open the map " + Quoted(name) + ": " + record.path +
                      " is gone and the file's new place cannot be found",
                  record.path);
}

Napi::Error UnknownName(Napi::Env env, const std::string& name) {
  Napi::Error error = ErrnoErrorWithMessage(env, ENOENT, "no open map is named " + Quoted(name), "open");
  return error;
}

#ifndef F_OFD_SETLK
[[noreturn]] void NoLocks(Napi::Env env) {
  throw ErrnoErrorWithMessage(env, ENOSYS, "named maps need open file description locks (Linux 3.15 or later)", "fcntl");
}
#endif

// The path this process opened the data file as, made absolute for other processes.
std::string AbsolutePathOf(int fd, const std::string& path) {
  char target[4096];
  std::string link = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
  if (n > 0 && target[0] == '/') return std::string(target, static_cast<size_t>(n));
  if (char* real = ::realpath(path.c_str(), nullptr)) {
    std::string result = real;
    std::free(real);
    return result;
  }
  return path;
}

}  // namespace

// registerName(directory, name, access): makes this handle the first user of NAME. EEXIST while the
// name has a live user; a record left by dead users is overwritten.
Napi::Value FileHandle::RegisterName(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dir = ArgString(info, 0, "directory");
  std::string name = ArgString(info, 1, "name");
  std::string access = ArgString(info, 2, "access");
  int dataFd = Fd(env);
  if (nameFd_ >= 0) throw NameError(env, "ERR_INVALID_STATE", path_ + " is already registered under a name", path_);
#ifndef F_OFD_SETLK
  NoLocks(env);
#else
  struct stat data;
  if (fstat(dataFd, &data) != 0) throw ErrnoError(env, errno, "cannot read " + path_, "fstat", path_);
  std::string record = FormatRecord(access, data, AbsolutePathOf(dataFd, path_), dataFd);
  std::string file = name + ".map";
  Descriptor dirFd(OpenPrivateDirectory(env, dir, true));
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    Descriptor fd(OpenRegistryFile(env, dirFd.fd, dir, name, true));
    int err = SetLock(fd.fd, F_WRLCK, false);
    if (err == EAGAIN || err == EACCES) {
      throw ErrnoErrorWithMessage(env, EEXIST, "the map name " + Quoted(name) + " is already in use", "fcntl");
    }
    if (err != 0) throw ErrnoError(env, err, "cannot lock the registration of " + Quoted(name), "fcntl");
    // Removed by its last user between our open and our lock: make a fresh one.
    if (!StillLinked(dirFd.fd, file, fd.fd)) continue;
    if (ftruncate(fd.fd, 0) != 0 || !WriteAll(fd.fd, record)) {
      int failure = errno;
      unlinkat(dirFd.fd, file.c_str(), 0);
      throw ErrnoError(env, failure, "cannot register the map name " + Quoted(name), "write", dir + "/" + file);
    }
    SetLock(fd.fd, F_RDLCK, false);  // a conversion: atomic, and always granted to the write-lock holder
    nameFd_ = fd.Release();
    nameDirFd_ = dirFd.Release();
    nameFile_ = file;
    return env.Undefined();
  }
  throw ErrnoErrorWithMessage(env, EBUSY, "the map name " + Quoted(name) + " keeps changing hands; try again", "fcntl");
#endif
}

// releaseName(): gives up the name but keeps the file open (at process exit, for 'exit' handlers
// that still read the file).
Napi::Value FileHandle::ReleaseNameMethod(const Napi::CallbackInfo& info) {
  ReleaseName();
  return info.Env().Undefined();
}

// Gives up this handle's share of its name; the last user removes the registry file.
void FileHandle::ReleaseName() {
  if (nameFd_ < 0) return;
  Reclaim(nameDirFd_, nameFile_, nameFd_);
  ::close(nameDirFd_);
  nameFd_ = -1;
  nameDirFd_ = -1;
  nameFile_.clear();
}

// openNamedFile(directory, name, access): { handle, path, access } for the file registered as NAME,
// opened anew with ACCESS ('read', 'readwrite' or 'copy'), the new handle counted as a user of the
// name. ENOENT for an unknown name (a registration whose users all died is removed on the way).
Napi::Value FileHandle::OpenNamed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string dir = ArgString(info, 0, "directory");
  std::string name = ArgString(info, 1, "name");
  std::string access = ArgString(info, 2, "access");
  bool writable = access == "readwrite";
#ifndef F_OFD_SETLK
  NoLocks(env);
#else
  std::string file = name + ".map";
  Descriptor dirFd(OpenPrivateDirectory(env, dir, false));
  if (dirFd.fd < 0) throw UnknownName(env, name);
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    int opened = OpenRegistryFile(env, dirFd.fd, dir, name, false);
    if (opened < 0) throw UnknownName(env, name);
    Descriptor fd(opened);
    // Checked before locking, so that a stale registration is not locked (a lock would make a
    // concurrent registrant see the name as in use) and after, in case the users died meanwhile.
    if (!OthersHold(fd.fd)) {
      Reclaim(dirFd.fd, file, fd.Release());
      throw UnknownName(env, name);
    }
    int err = SetLock(fd.fd, F_RDLCK, true);  // waits only while a registrant writes its record
    if (err != 0) throw ErrnoError(env, err, "cannot lock the registration of " + Quoted(name), "fcntl");
    if (!StillLinked(dirFd.fd, file, fd.fd)) continue;
    if (!OthersHold(fd.fd)) {
      Reclaim(dirFd.fd, file, fd.Release());
      throw UnknownName(env, name);
    }
    std::string text = ReadAll(fd.fd, &err);
    if (err != 0) throw ErrnoError(env, err, "cannot read the registration of " + Quoted(name), "read");
    Record record;
    if (!ParseRecord(text, &record)) {
      throw NameError(env, "ERR_NAME_INVALID", "the registration of the map " + Quoted(name) + " is damaged",
                      dir + "/" + file);
    }
    if (writable && record.access != "readwrite") {
      throw NameError(env, "ERR_READ_ONLY",
                      "cannot open the map " + Quoted(name) + " 'readwrite': it was mapped '" + record.access + "'",
                      record.path);
    }
    std::string path;
    Descriptor data(OpenRecordedFile(env, name, record, writable, &path));
    // Another holder to follow a later rename through; a full record simply stops growing.
    struct stat st;
    if (fstat(fd.fd, &st) == 0 && st.st_size < kMaxRecordBytes) WriteAll(fd.fd, HolderLine(data.fd));
    Napi::Object handle = FileHandle::Wrap(env, data.Release(), path, writable);
    FileHandle* self = Napi::ObjectWrap<FileHandle>::Unwrap(handle);
    self->nameFd_ = fd.Release();
    self->nameDirFd_ = dirFd.Release();
    self->nameFile_ = file;
    Napi::Object result = Napi::Object::New(env);
    result.Set("handle", handle);
    result.Set("path", Napi::String::New(env, path));
    result.Set("access", Napi::String::New(env, record.access));
    return result;
  }
  throw ErrnoErrorWithMessage(env, EBUSY, "the map name " + Quoted(name) + " keeps changing hands; try again", "fcntl");
#endif
}

}  // namespace rawbright
