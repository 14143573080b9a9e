// unlinkDetached: removes a file at once and leaves any wait for its pages to a detached process.
//
// Removing the last name of an inode whose pages are under writeback makes unlink() wait for that writeback
// (the inode is evicted, and its pages with it). A journal's pages are written back behind the gigabytes the
// run just dirtied, so a run's final unlink of its journal waited ~0.5 s on 2 GiB (ext4, 0.4 GB/s disk) after
// the work was done. Here the name goes first while a descriptor still holds the inode (so unlink only drops
// the name), and the descriptor's last close (the eviction, and its wait) happens in a grandchild that left the
// caller's session: the caller returns and exits at once, and a kill of the grandchild loses nothing (the
// kernel closes the descriptor all the same). The processes cost ~1.4 ms, so they are made only when
// cachestat(2) (Linux 6.5+) says some of the file's pages are under writeback; elsewhere, always.
#include <errno.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

namespace rawbright {

namespace {

// cachestat(2): its number is the same on every architecture that has it (the syscall table is unified).
#if defined(__linux__) && !defined(__NR_cachestat)
#define __NR_cachestat 451
#endif

// Whether some of the file's pages may be under writeback: false only when cachestat says none are.
bool MayBeUnderWriteback(int fd) {
#ifdef __linux__
  struct {
    uint64_t offset, length;
  } range = {0, 0};  // length 0: to the end of the file
  struct {
    uint64_t cache, dirty, writeback, evicted, recentlyEvicted;
  } stat = {};
  if (syscall(__NR_cachestat, fd, &range, &stat, 0u) == 0) return stat.writeback > 0;
#endif
  return true;
}

void CloseRange(int first, int last) {
  if (first > last) return;
#ifdef __NR_close_range
  if (syscall(__NR_close_range, static_cast<unsigned>(first), static_cast<unsigned>(last), 0u) == 0) return;
#endif
  for (int fd = first; fd <= last && fd < 65536; fd++) close(fd);
}

// In the grandchild: every descriptor but `keep` and `done` closed, so that no lock, pipe or file of the
// caller's stays held; then `done` (which tells the caller so), then `keep` (the wait).
[[noreturn]] void CloseAllAndExit(int keep, int done) {
  int low = keep < done ? keep : done;
  int high = keep < done ? done : keep;
  CloseRange(0, low - 1);
  CloseRange(low + 1, high - 1);
  CloseRange(high + 1, 0x7fffffff);
  close(done);
  close(keep);
  _exit(0);
}

bool CloseOnExecPipe(int ends[2]) {
#ifdef __linux__
  return pipe2(ends, O_CLOEXEC) == 0;
#else
  if (pipe(ends) != 0) return false;
  fcntl(ends[0], F_SETFD, FD_CLOEXEC);
  fcntl(ends[1], F_SETFD, FD_CLOEXEC);
  return true;
#endif
}

}  // namespace

// unlinkDetached(path, always = false): unlink(path), its inode's final release left to a detached process
// when its pages may be under writeback (or `always`: tests). Throws what unlink throws (ENOENT, EACCES, ...);
// if no process can be made, releases it here (waiting).
Napi::Value UnlinkDetached(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = ArgString(info, 0, "path");
  bool always = info.Length() > 1 && info[1].ToBoolean().Value();
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (unlink(path.c_str()) != 0) {
    int err = errno;
    if (fd >= 0) close(fd);
    throw ErrnoError(env, err, "cannot remove " + path, "unlink", path);
  }
  if (fd < 0) return env.Undefined();  // not openable (a FIFO, no read permission): unlinked, waited for
  if (!always && !MayBeUnderWriteback(fd)) {
    close(fd);  // the last reference: the pages go now, with nothing to wait for
    return env.Undefined();
  }
  // The caller's descriptors (its files, their OFD and flock locks, its output pipes) are shared with the
  // children until the grandchild has closed them: the caller waits for that, on this pipe's end of file.
  int done[2];
  if (!CloseOnExecPipe(done)) {
    close(fd);
    return env.Undefined();
  }
  pid_t child = fork();
  if (child == 0) {
    // Only async-signal-safe calls from here: this is a copy of a multithreaded process.
    if (fork() == 0) {
      setsid();
      CloseAllAndExit(fd, done[1]);
    }
    _exit(0);
  }
  close(done[1]);
  if (child > 0) {
    int status;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    char byte;
    while (read(done[0], &byte, 1) < 0 && errno == EINTR) {
    }
  }
  close(done[0]);
  close(fd);
  return env.Undefined();
}

void InitDetach(Napi::Env env, Napi::Object exports) {
  exports.Set("unlinkDetached", Napi::Function::New<UnlinkDetached>(env, "unlinkDetached"));
}

}  // namespace rawbright
