// rawbright-reference: the native program `rawbright bench file` measures rawbright against. It does
// the same job as `rawbright brighten` (a saturating add on every colour sample of a raw RGBA16 file,
// in place) the way a careful C++ programmer would, with no JavaScript, no WebAssembly and no journal:
//
//   rawbright-reference mmap  FILE --by N [--type uint16|int16] [--channels rgb|rgba] [--window BYTES] [--no-populate]
//       maps the file window by window (mmap(NULL, …): the kernel picks a 2 MiB-aligned address for
//       file mappings, so the address and the file offset agree modulo 2 MiB), prefaults each window
//       with MADV_POPULATE_WRITE, runs the vectorised loop over it and unmaps it. --window 0 maps the
//       whole file at once. [--window 64 MiB]
//   rawbright-reference pread FILE --by N [...] [--window BYTES]
//       pread into one buffer, the loop, pwrite back. [--window 64 MiB]
//   rawbright-reference disk  FILE --size BYTES
//       writes SIZE bytes to FILE (created or truncated) through a 64 MiB buffer and fdatasyncs: the
//       disk's write bandwidth with fsync, the ceiling of durable runs.
//
// It prints one JSON object on stdout: mode, bytes, seconds (the job, from open to close), gbps
// (10^9 bytes per second), peakRssBytes, and for mmap whether every window was 2 MiB-congruent.
// Errors go to stderr with exit status 1 (2 for usage errors).
//
// It is built from source by `npm install` (the rawbright-reference target in binding.gyp) so the
// comparison runs on the same compiler flags and CPU as the addon, and it includes the addon's own
// kernel (native/brighten_kernel.h), so the only difference measured is everything around it.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../../native/brighten_kernel.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace {

constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint64_t kFolio = 2 * kMiB;

using rawbright::kernel::MakePlan;
using rawbright::kernel::Plan;

// The addon's own kernel (AVX2 where the CPU has it, SSE2 otherwise, scalar off x86).
void Brighten(uint8_t* p, size_t length, const Plan& plan) { rawbright::kernel::BrightenRange(p, length, plan); }

[[noreturn]] void Fail(const std::string& what, int code = 1) {
  std::fprintf(stderr, "rawbright-reference: %s\n", what.c_str());
  std::exit(code);
}

[[noreturn]] void FailErrno(const std::string& what, const std::string& path) {
  Fail(what + " " + path + ": " + std::strerror(errno));
}

struct Args {
  std::string mode;
  std::string path;
  bool hasDelta = false;
  int32_t delta = 0;
  bool isSigned = false;
  bool alpha = false;
  uint64_t window = 64 * kMiB;
  uint64_t size = 0;
  bool populate = true;
};

uint64_t ParseCount(const char* text, const char* flag) {
  char* end = nullptr;
  errno = 0;
  unsigned long long value = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-') {
    Fail(std::string(flag) + " must be a whole number of bytes, not " + text, 2);
  }
  return value;
}

Args ParseArgs(int argc, char** argv) {
  if (argc < 3) Fail("usage: rawbright-reference mmap|pread|disk FILE [options]", 2);
  Args args;
  args.mode = argv[1];
  args.path = argv[2];
  for (int i = 3; i < argc; ++i) {
    std::string flag = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) Fail(flag + " needs a value", 2);
      return argv[++i];
    };
    if (flag == "--by") {
      const char* text = value();
      char* end = nullptr;
      long delta = std::strtol(text, &end, 10);
      if (end == text || *end != '\0' || delta < -65535 || delta > 65535 || delta == 0) {
        Fail(std::string("--by must be a non-zero whole number from -65535 to 65535, not ") + text, 2);
      }
      args.delta = static_cast<int32_t>(delta);
      args.hasDelta = true;
    } else if (flag == "--type") {
      std::string type = value();
      if (type != "uint16" && type != "int16") Fail("--type must be uint16 or int16", 2);
      args.isSigned = type == "int16";
    } else if (flag == "--channels") {
      std::string channels = value();
      if (channels != "rgb" && channels != "rgba") Fail("--channels must be rgb or rgba", 2);
      args.alpha = channels == "rgba";
    } else if (flag == "--window") {
      args.window = ParseCount(value(), "--window");
    } else if (flag == "--size") {
      args.size = ParseCount(value(), "--size");
    } else if (flag == "--no-populate") {
      args.populate = false;
    } else {
      Fail("unknown option " + flag, 2);
    }
  }
  if (args.mode != "mmap" && args.mode != "pread" && args.mode != "disk") {
    Fail("the mode must be mmap, pread or disk, not " + args.mode, 2);
  }
  if ((args.mode == "mmap" || args.mode == "pread") && !args.hasDelta) Fail("--by is required", 2);
  if (args.mode == "pread" && args.window == 0) Fail("--window must be positive for pread", 2);
  if (args.window % 8 != 0) Fail("--window must be a multiple of 8", 2);
  if (args.mode == "disk" && args.size == 0) Fail("--size is required for disk", 2);
  return args;
}

int OpenReadWrite(const std::string& path, uint64_t* size) {
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) FailErrno("cannot open", path);
  struct stat st;
  if (fstat(fd, &st) != 0) FailErrno("cannot stat", path);
  if (!S_ISREG(st.st_mode)) Fail(path + " is not a regular file");
  if (st.st_size % 8 != 0) Fail(path + " is not a whole number of 8-byte pixels");
  *size = static_cast<uint64_t>(st.st_size);
  return fd;
}

// Returns whether every window's address agreed with its file offset modulo 2 MiB.
bool RunMmap(const Args& args, const Plan& plan, uint64_t* bytes) {
  uint64_t size = 0;
  int fd = OpenReadWrite(args.path, &size);
  const uint64_t window = args.window == 0 ? size : args.window;
  // Windows start at multiples of the window size; a window that is not a page multiple is rounded
  // down so every mapping starts on a page (the last window takes the rest).
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  const uint64_t step = window < page ? page : window - window % page;
  bool aligned = true;
  for (uint64_t offset = 0; offset < size; offset += step) {
    uint64_t length = size - offset < step ? size - offset : step;
    void* base = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, static_cast<off_t>(offset));
    if (base == MAP_FAILED) FailErrno("cannot map", args.path);
    if (reinterpret_cast<uintptr_t>(base) % kFolio != offset % kFolio) aligned = false;
    if (args.populate && madvise(base, length, MADV_POPULATE_WRITE) != 0 && errno != EINVAL) {
      FailErrno("cannot populate", args.path);
    }
    Brighten(static_cast<uint8_t*>(base), length, plan);
    if (munmap(base, length) != 0) FailErrno("cannot unmap", args.path);
  }
  close(fd);
  *bytes = size;
  return aligned;
}

void ReadFully(int fd, uint8_t* buffer, uint64_t length, uint64_t offset, const std::string& path) {
  for (uint64_t done = 0; done < length;) {
    ssize_t n = pread(fd, buffer + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) FailErrno("cannot read", path);
    if (n == 0) Fail(path + " became shorter while it was being read");
    done += static_cast<uint64_t>(n);
  }
}

void WriteFully(int fd, const uint8_t* buffer, uint64_t length, uint64_t offset, const std::string& path) {
  for (uint64_t done = 0; done < length;) {
    ssize_t n = pwrite(fd, buffer + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) FailErrno("cannot write", path);
    done += static_cast<uint64_t>(n);
  }
}

void RunPread(const Args& args, const Plan& plan, uint64_t* bytes) {
  uint64_t size = 0;
  int fd = OpenReadWrite(args.path, &size);
  const uint64_t window = args.window < size ? args.window : size;
  std::vector<uint8_t> buffer(window);
  for (uint64_t offset = 0; offset < size; offset += window) {
    uint64_t length = size - offset < window ? size - offset : window;
    ReadFully(fd, buffer.data(), length, offset, args.path);
    Brighten(buffer.data(), length, plan);
    WriteFully(fd, buffer.data(), length, offset, args.path);
  }
  close(fd);
  *bytes = size;
}

void RunDisk(const Args& args, uint64_t* bytes) {
  int fd = open(args.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) FailErrno("cannot create", args.path);
  const uint64_t chunk = 64 * kMiB;
  std::vector<uint8_t> buffer(chunk);
  // Non-zero, non-repeating bytes, so nothing below the file system can shortcut them.
  uint64_t state = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i + 8 <= buffer.size(); i += 8) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    std::memcpy(&buffer[i], &state, 8);
  }
  for (uint64_t offset = 0; offset < args.size; offset += chunk) {
    uint64_t length = args.size - offset < chunk ? args.size - offset : chunk;
    WriteFully(fd, buffer.data(), length, offset, args.path);
  }
  if (fdatasync(fd) != 0) FailErrno("cannot sync", args.path);
  close(fd);
  *bytes = args.size;
}

}  // namespace

int main(int argc, char** argv) {
  Args args = ParseArgs(argc, argv);
  const Plan plan = MakePlan(args.delta, args.isSigned, args.alpha);
  const auto start = std::chrono::steady_clock::now();
  uint64_t bytes = 0;
  std::string extra;
  if (args.mode == "mmap") {
    bool aligned = RunMmap(args, plan, &bytes);
    extra = std::string(",\"aligned\":") + (aligned ? "true" : "false") +
            ",\"populate\":" + (args.populate ? "true" : "false");
  } else if (args.mode == "pread") {
    RunPread(args, plan, &bytes);
  } else {
    RunDisk(args, &bytes);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  std::printf("{\"mode\":\"%s\",\"bytes\":%llu,\"seconds\":%.9f,\"gbps\":%.6f,\"window\":%llu,\"peakRssBytes\":%lld%s}\n",
              args.mode.c_str(), static_cast<unsigned long long>(bytes), seconds,
              seconds > 0 ? static_cast<double>(bytes) / seconds / 1e9 : 0.0,
              static_cast<unsigned long long>(args.window), static_cast<long long>(usage.ru_maxrss) * 1024,
              extra.c_str());
  return 0;
}
