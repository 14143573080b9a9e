// The SIGBUS guard: a page of a mapped file that another process truncated away raises SIGBUS when
// touched, which no JavaScript can catch and which V8 does not handle (its trap handler takes
// SIGSEGV only). Every mapping the addon makes (windows, overlays, shared memory regions) is recorded in a fixed table
// that a signal handler can read. When a SIGBUS falls inside one, the handler maps anonymous zero
// pages over the rest of that mapping (MAP_FIXED), so the faulting instruction can go on, and counts
// the fault against the mapping. The caller asks after each piece of work (mappingFaulted) and fails
// with ERR_FILE_TRUNCATED (ERR_SHM_TRUNCATED for a region): nothing the kernel computed on those zero
// pages reaches the file, since they are no longer the file's pages. Faults outside our mappings go to the handler that was there
// before (or the default action: the process dies as it would have).
//
// Async-signal safety: the handler reads only lock-free atomics and calls mmap and signal/raise,
// plain system calls on Linux. RAWBRIGHT_NO_SIGBUS_GUARD=1 leaves SIGBUS alone.
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "common.h"

namespace rawbright {

namespace {

// Watched mappings. A slot goes free -> claimed (being written) -> live -> free. The handler reads
// live slots only; the rest of the addon claims, fills and frees slots from ordinary code.
constexpr size_t kSlots = 4096;
constexpr int kFree = 0;
constexpr int kClaimed = 1;
constexpr int kLive = 2;

struct Watched {
  std::atomic<int> state{kFree};
  std::atomic<uintptr_t> start{0};
  std::atomic<uintptr_t> end{0};
  std::atomic<uint32_t> faults{0};
};

Watched g_watched[kSlots];
std::atomic<uint64_t> g_faults{0};
// 0 until the handler caught a fault in a watched mapping, then 1 for good. JavaScript reads it
// through an external ArrayBuffer (FaultFlag): its lock fast path runs only while it is 0.
alignas(64) std::atomic<uint32_t> g_faultFlag{0};
static_assert(sizeof(std::atomic<uint32_t>) == 4 && std::atomic<uint32_t>::is_always_lock_free,
              "JavaScript reads the fault flag as a 32-bit word");
std::atomic<bool> g_installed{false};
struct sigaction g_previous;
uintptr_t g_page = 4096;
std::once_flag g_install_once;

static_assert(std::atomic<uintptr_t>::is_always_lock_free, "the handler needs lock-free atomics");
static_assert(std::atomic<int>::is_always_lock_free, "the handler needs lock-free atomics");

// Hands the signal to whoever had it before us; with nobody, restores the default action so the
// fault, repeated when the handler returns, ends the process as it would have without us.
void Chain(int signal, siginfo_t* info, void* context) {
  if ((g_previous.sa_flags & SA_SIGINFO) != 0 && g_previous.sa_sigaction != nullptr) {
    g_previous.sa_sigaction(signal, info, context);
    return;
  }
  if ((g_previous.sa_flags & SA_SIGINFO) == 0 && g_previous.sa_handler != SIG_DFL &&
      g_previous.sa_handler != SIG_IGN) {
    g_previous.sa_handler(signal);
    return;
  }
  struct sigaction fallback;
  std::memset(&fallback, 0, sizeof fallback);
  fallback.sa_handler = SIG_DFL;
  sigemptyset(&fallback.sa_mask);
  sigaction(SIGBUS, &fallback, nullptr);
  // A SIGBUS sent with kill() is not repeated by returning: send it again.
  if (info == nullptr || info->si_code <= 0) raise(SIGBUS);
}

void OnSigbus(int signal, siginfo_t* info, void* context) {
  int savedErrno = errno;
  if (info != nullptr && info->si_code > 0) {
    uintptr_t address = reinterpret_cast<uintptr_t>(info->si_addr);
    for (Watched& slot : g_watched) {
      if (slot.state.load(std::memory_order_acquire) != kLive) continue;
      uintptr_t start = slot.start.load(std::memory_order_relaxed);
      uintptr_t end = slot.end.load(std::memory_order_relaxed);
      if (address < start || address >= end) continue;
      uintptr_t page = address - address % g_page;
      void* zeros = mmap(reinterpret_cast<void*>(page), end - page, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
      if (zeros == MAP_FAILED) break;
      slot.faults.fetch_add(1, std::memory_order_relaxed);
      g_faults.fetch_add(1, std::memory_order_relaxed);
      g_faultFlag.store(1, std::memory_order_seq_cst);
      errno = savedErrno;
      return;
    }
  }
  errno = savedErrno;
  Chain(signal, info, context);
}

void Install() {
  const char* off = std::getenv("RAWBRIGHT_NO_SIGBUS_GUARD");
  if (off != nullptr && off[0] != '\0' && std::strcmp(off, "0") != 0) return;
  g_page = static_cast<uintptr_t>(PageSize());
  struct sigaction action;
  std::memset(&action, 0, sizeof action);
  action.sa_sigaction = OnSigbus;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  if (sigaction(SIGBUS, &action, &g_previous) == 0) g_installed.store(true, std::memory_order_release);
}

Watched* Find(uintptr_t address, bool exactStart) {
  for (Watched& slot : g_watched) {
    if (slot.state.load(std::memory_order_acquire) != kLive) continue;
    uintptr_t start = slot.start.load(std::memory_order_relaxed);
    if (exactStart ? address == start : address >= start && address < slot.end.load(std::memory_order_relaxed)) {
      return &slot;
    }
  }
  return nullptr;
}

// mappingFaulted(buffer, offset): whether the mapping holding that byte took a SIGBUS since it was made.
Napi::Value MappingFaulted(const Napi::CallbackInfo& info) {
  Napi::ArrayBuffer buffer = ArgArrayBuffer(info, 0, "buffer");
  uint64_t offset = ArgIndex(info, 1, "offset");
  if (offset >= buffer.ByteLength()) ThrowRangeError(info.Env(), "offset is outside the buffer");
  Watched* slot = Find(reinterpret_cast<uintptr_t>(buffer.Data()) + offset, false);
  return Napi::Boolean::New(info.Env(), slot != nullptr && slot->faults.load(std::memory_order_relaxed) > 0);
}

Napi::Value SigbusFaults(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(g_faults.load(std::memory_order_relaxed)));
}

}  // namespace

int WatchMapping(void* start, size_t length) {
  if (!g_installed.load(std::memory_order_acquire) || length == 0) return -1;
  uintptr_t begin = reinterpret_cast<uintptr_t>(start);
  // A mapping made at the address of one that was not unwatched (V8 freed a memory with its
  // overlay) takes its place.
  UnwatchMapping(start);
  for (size_t index = 0; index < kSlots; ++index) {
    Watched& slot = g_watched[index];
    int expected = kFree;
    if (!slot.state.compare_exchange_strong(expected, kClaimed, std::memory_order_acq_rel)) continue;
    slot.start.store(begin, std::memory_order_relaxed);
    slot.end.store(begin + length, std::memory_order_relaxed);
    slot.faults.store(0, std::memory_order_relaxed);
    slot.state.store(kLive, std::memory_order_release);
    return static_cast<int>(index);
  }
  // Table full: this mapping goes unguarded (a SIGBUS in it ends the process, as without the guard).
  return -1;
}

bool WatchedMappingFaulted(int index, const void* start) {
  if (index < 0 || static_cast<size_t>(index) >= kSlots) return false;
  // Fast path for the hot lock/unlock calls: no SIGBUS was ever caught in this process.
  if (g_faults.load(std::memory_order_relaxed) == 0) return false;
  const Watched& slot = g_watched[index];
  return slot.state.load(std::memory_order_acquire) == kLive &&
         slot.start.load(std::memory_order_relaxed) == reinterpret_cast<uintptr_t>(start) &&
         slot.faults.load(std::memory_order_relaxed) > 0;
}

uint32_t* FaultFlag() { return reinterpret_cast<uint32_t*>(&g_faultFlag); }

void UnwatchMapping(void* start) {
  if (!g_installed.load(std::memory_order_acquire)) return;
  if (Watched* slot = Find(reinterpret_cast<uintptr_t>(start), true)) {
    slot->state.store(kFree, std::memory_order_release);
  }
}

void InitSigbus(Napi::Env env, Napi::Object exports) {
  std::call_once(g_install_once, Install);
  exports.Set("mappingFaulted", Napi::Function::New<MappingFaulted>(env, "mappingFaulted"));
  exports.Set("sigbusFaults", Napi::Function::New<SigbusFaults>(env, "sigbusFaults"));
  exports.Set("sigbusGuard", Napi::Boolean::New(env, g_installed.load(std::memory_order_acquire)));
}

}  // namespace rawbright
