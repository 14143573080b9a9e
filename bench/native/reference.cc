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
// comparison runs on the same compiler flags and CPU as the addon. The kernel below mirrors
// native/brighten.cc (AVX2 when the CPU has it, SSE2 otherwise, scalar off x86).
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

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define REFERENCE_X86 1
#endif

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace {

constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint64_t kFolio = 2 * kMiB;

enum class Op { kAddU, kSubU, kAddS, kAddS3 };

// The same decomposition as native/brighten.cc: uint16 is one saturating add or subtract; int16 is
// one signed saturating add, or three same-sign ones when |delta| exceeds the int16 range.
struct Plan {
  Op op;
  int32_t d1, d2, d3;
  bool alpha;
};

Plan MakePlan(int32_t delta, bool isSigned, bool alpha) {
  Plan plan{Op::kAddU, 0, 0, 0, alpha};
  if (!isSigned) {
    plan.op = delta > 0 ? Op::kAddU : Op::kSubU;
    plan.d1 = delta > 0 ? delta : -delta;
  } else if (delta >= -32768 && delta <= 32767) {
    plan.op = Op::kAddS;
    plan.d1 = delta;
  } else {
    plan.op = Op::kAddS3;
    plan.d1 = delta > 0 ? 32767 : -32768;
    int32_t rest = delta - plan.d1;
    plan.d2 = delta > 0 ? (rest < 32767 ? rest : 32767) : (rest > -32768 ? rest : -32768);
    plan.d3 = rest - plan.d2;
  }
  return plan;
}

// Scalar pixels, for the tail and for CPUs without the x86 paths. Little-endian samples.
void BrightenScalar(uint8_t* p, uint8_t* end, const Plan& plan) {
  const bool isSigned = plan.op == Op::kAddS || plan.op == Op::kAddS3;
  const int32_t lo = isSigned ? -32768 : 0;
  const int32_t hi = isSigned ? 32767 : 65535;
  const int32_t delta = plan.op == Op::kSubU ? -plan.d1 : plan.d1 + plan.d2 + plan.d3;
  const int samples = plan.alpha ? 4 : 3;
  for (; p + 8 <= end; p += 8) {
    for (int s = 0; s < samples; ++s) {
      uint8_t* q = p + 2 * s;
      uint16_t raw = static_cast<uint16_t>(q[0] | (q[1] << 8));
      int32_t x = isSigned ? static_cast<int32_t>(static_cast<int16_t>(raw)) : static_cast<int32_t>(raw);
      int32_t y = x + delta;
      y = y < lo ? lo : (y > hi ? hi : y);
      q[0] = static_cast<uint8_t>(y & 0xff);
      q[1] = static_cast<uint8_t>((y >> 8) & 0xff);
    }
  }
}

#if REFERENCE_X86

__m128i Lanes128(int32_t d, bool alpha) {
  const int16_t v = static_cast<int16_t>(d);
  const int16_t a = alpha ? v : 0;
  return _mm_setr_epi16(v, v, v, a, v, v, v, a);
}

template <Op op>
inline __m128i Apply128(__m128i x, __m128i d1, __m128i d2, __m128i d3) {
  if constexpr (op == Op::kAddU) return _mm_adds_epu16(x, d1);
  if constexpr (op == Op::kSubU) return _mm_subs_epu16(x, d1);
  if constexpr (op == Op::kAddS) return _mm_adds_epi16(x, d1);
  if constexpr (op == Op::kAddS3) return _mm_adds_epi16(_mm_adds_epi16(_mm_adds_epi16(x, d1), d2), d3);
}

template <Op op>
void LoopSse2(uint8_t* p, uint8_t* end, const Plan& plan) {
  const __m128i d1 = Lanes128(plan.d1, plan.alpha);
  const __m128i d2 = Lanes128(plan.d2, plan.alpha);
  const __m128i d3 = Lanes128(plan.d3, plan.alpha);
  for (; end - p >= 64; p += 64) {
    __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16));
    __m128i c = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 32));
    __m128i e = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 48));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), Apply128<op>(a, d1, d2, d3));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p + 16), Apply128<op>(b, d1, d2, d3));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p + 32), Apply128<op>(c, d1, d2, d3));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p + 48), Apply128<op>(e, d1, d2, d3));
  }
  for (; end - p >= 16; p += 16) {
    __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), Apply128<op>(a, d1, d2, d3));
  }
  BrightenScalar(p, end, plan);
}

#define REFERENCE_AVX2 __attribute__((target("avx2")))

REFERENCE_AVX2 __m256i Lanes256(int32_t d, bool alpha) {
  const int16_t v = static_cast<int16_t>(d);
  const int16_t a = alpha ? v : 0;
  return _mm256_setr_epi16(v, v, v, a, v, v, v, a, v, v, v, a, v, v, v, a);
}

template <Op op>
REFERENCE_AVX2 inline __m256i Apply256(__m256i x, __m256i d1, __m256i d2, __m256i d3) {
  if constexpr (op == Op::kAddU) return _mm256_adds_epu16(x, d1);
  if constexpr (op == Op::kSubU) return _mm256_subs_epu16(x, d1);
  if constexpr (op == Op::kAddS) return _mm256_adds_epi16(x, d1);
  if constexpr (op == Op::kAddS3) return _mm256_adds_epi16(_mm256_adds_epi16(_mm256_adds_epi16(x, d1), d2), d3);
}

template <Op op>
REFERENCE_AVX2 void LoopAvx2(uint8_t* p, uint8_t* end, const Plan& plan) {
  const __m256i d1 = Lanes256(plan.d1, plan.alpha);
  const __m256i d2 = Lanes256(plan.d2, plan.alpha);
  const __m256i d3 = Lanes256(plan.d3, plan.alpha);
  for (; end - p >= 128; p += 128) {
    __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
    __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 64));
    __m256i e = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 96));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), Apply256<op>(a, d1, d2, d3));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p + 32), Apply256<op>(b, d1, d2, d3));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p + 64), Apply256<op>(c, d1, d2, d3));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p + 96), Apply256<op>(e, d1, d2, d3));
  }
  for (; end - p >= 32; p += 32) {
    __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), Apply256<op>(a, d1, d2, d3));
  }
  LoopSse2<op>(p, end, plan);
}

template <Op op>
void Loop(uint8_t* p, uint8_t* end, const Plan& plan) {
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) LoopAvx2<op>(p, end, plan);
  else LoopSse2<op>(p, end, plan);
}

void Brighten(uint8_t* p, size_t length, const Plan& plan) {
  uint8_t* end = p + length;
  switch (plan.op) {
    case Op::kAddU: return Loop<Op::kAddU>(p, end, plan);
    case Op::kSubU: return Loop<Op::kSubU>(p, end, plan);
    case Op::kAddS: return Loop<Op::kAddS>(p, end, plan);
    case Op::kAddS3: return Loop<Op::kAddS3>(p, end, plan);
  }
}

#else

void Brighten(uint8_t* p, size_t length, const Plan& plan) { BrightenScalar(p, p + length, plan); }

#endif  // REFERENCE_X86

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
