// Kernel-sleeping waits on a 32-bit word in shared memory, for the IPC primitives (src/shm/channel.ts,
// event.ts, semaphore.ts): FUTEX_WAIT / FUTEX_WAKE on an address inside a region's data, shared
// between processes (not FUTEX_PRIVATE).
//
// The event loop never blocks: a FutexWaiter owns one thread that sleeps in FUTEX_WAIT on request and
// hands the outcome back to JavaScript through a thread-safe function. One thread per waiter (not the
// libuv pool), so pending waits can never starve file system work. JavaScript keeps a small pool of
// waiters per primitive and uses each for one wait at a time.
//
// The waiter holds a reference to the region's ArrayBuffer, and close() (which the primitive's close
// calls before it closes the region) cancels and joins the thread, so the word is never waited on
// after its mapping is gone.
//
// A worker thread that is terminated (or an environment torn down) while a wait is in flight
// finalizes the thread-safe function before the waiter objects: its finalizer stops and joins the
// waiter's thread first, and from then on the thread never calls it (the outcome is dropped: nobody
// is left to await it).
#include <napi.h>

#if defined(__linux__)
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <mutex>
#include <thread>
#endif

#include "common.h"

namespace rawbright {

#if defined(__linux__)

namespace {

// Outcomes handed to JavaScript.
constexpr int kWoken = 0;      // woken, or the word no longer held the expected value
constexpr int kTimedOut = 1;   // the timeout passed
constexpr int kCancelled = 2;  // cancel() or close()

long Futex(uint32_t* word, int op, uint32_t value, const struct timespec* timeout) {
  return syscall(SYS_futex, word, op, value, timeout, nullptr, 0);
}

class FutexWaiter;

// Tells the thread-safe function's finalizer which waiter (if any, still) owns it.
struct Link {
  FutexWaiter* waiter;
};

void FinalizeCompletion(Napi::Env env, Link* link, FutexWaiter* context);

struct Outcome {
  Napi::Promise::Deferred* deferred;
  int status;
};

void DeliverOutcome(Napi::Env env, Napi::Function, FutexWaiter* waiter, Outcome* outcome);

using OutcomeFunction = Napi::TypedThreadSafeFunction<FutexWaiter, Outcome, DeliverOutcome>;

// The word must be 4-byte aligned and inside the buffer.
uint32_t* WordAt(const Napi::CallbackInfo& info, Napi::ArrayBuffer buffer, size_t argIndex) {
  uint64_t offset = ArgIndex(info, argIndex, "byteOffset");
  if (offset % 4 != 0 || offset + 4 > buffer.ByteLength()) {
    throw CodedError(info.Env(), "RangeError", "ERR_OUT_OF_RANGE",
                     "the futex word must be 4-byte aligned and inside the buffer");
  }
  return reinterpret_cast<uint32_t*>(static_cast<uint8_t*>(buffer.Data()) + offset);
}

class FutexWaiter : public Napi::ObjectWrap<FutexWaiter> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "FutexWaiter",
                       {InstanceMethod<&FutexWaiter::Wait>("wait"), InstanceMethod<&FutexWaiter::Cancel>("cancel"),
                        InstanceMethod<&FutexWaiter::Close>("close")});
  }

  explicit FutexWaiter(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FutexWaiter>(info) {
    Napi::ArrayBuffer buffer = ArgArrayBuffer(info, 0, "buffer");
    buffer_ = Napi::Persistent(buffer);
    data_ = static_cast<uint8_t*>(buffer.Data());
    length_ = buffer.ByteLength();
  }

  ~FutexWaiter() override { Stop(); }

 private:
  // wait(byteOffset, expected, timeoutMs): Promise<0 | 1 | 2>; timeoutMs < 0 waits forever.
  Napi::Value Wait(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (closed_) throw CodedError(env, "Error", "ERR_CLOSED", "the waiter is closed");
    if (busy_) throw CodedError(env, "Error", "ERR_BUSY", "the waiter already has a wait in flight");
    Napi::ArrayBuffer buffer = buffer_.Value();
    if (buffer.ByteLength() != length_ || buffer.Data() != data_) {
      throw CodedError(env, "Error", "ERR_CLOSED", "the shared memory region is closed");
    }
    uint32_t* word = WordAt(info, buffer, 0);
    uint32_t expected = info[1].As<Napi::Number>().Uint32Value();
    double timeoutMs = info[2].As<Napi::Number>().DoubleValue();
    auto* deferred = new Napi::Promise::Deferred(env);
    Napi::Promise promise = deferred->Promise();
    if (!started_) {
      link_ = new Link{this};
      completion_ = OutcomeFunction::New(env, "rawbright futex wait", 0, 1, this, FinalizeCompletion, link_);
      completion_.Unref(env);
      thread_ = std::thread([this] { Run(); });
      started_ = true;
    }
    // Alive (and keeping the event loop alive) until the outcome is delivered.
    completion_.Ref(env);
    Ref();
    busy_ = true;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      request_ = Request{word, expected, timeoutMs, deferred};
      pending_ = true;
      cancelled_ = false;
    }
    wake_.notify_one();
    return promise;
  }

  // Ends the wait in flight (it resolves with 2). Wakes every waiter on the word, in every process:
  // they see a spurious wake-up and look again.
  void Cancel(const Napi::CallbackInfo&) { CancelWait(); }

  void Close(const Napi::CallbackInfo&) { Stop(); }

  void CancelWait() {
    uint32_t* word = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      cancelled_ = true;
      if (pending_ || inWait_) word = request_.word;
    }
    wake_.notify_one();
    if (word != nullptr) Futex(word, FUTEX_WAKE, INT_MAX, nullptr);
  }

  void Stop() {
    if (closed_) return;
    closed_ = true;
    if (!started_) return;
    StopThread();
    // From here the finalizer of the thread-safe function may run at any time: it must not reach us.
    link_->waiter = nullptr;
    completion_.Release();
  }

  void StopThread() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    CancelWait();
    thread_.join();
  }

  struct Request {
    uint32_t* word = nullptr;
    uint32_t expected = 0;
    double timeoutMs = -1;
    Napi::Promise::Deferred* deferred = nullptr;
  };

  void Run() {
    for (;;) {
      Request request;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [this] { return pending_ || stopping_; });
        if (!pending_) return;
        request = request_;
        pending_ = false;
        inWait_ = true;
      }
      int status = WaitOn(request);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        inWait_ = false;
      }
      // Under the lock, so the finalizer (CompletionGone) cannot end the function mid-call. The queue is
      // unbounded and holds one item at most (one wait in flight per waiter): the call never blocks.
      std::lock_guard<std::mutex> lock(mutex_);
      if (completionGone_) {
        delete request.deferred;
        return;
      }
      completion_.BlockingCall(new Outcome{request.deferred, status});
      if (stopping_) return;
    }
  }

  int WaitOn(const Request& request) {
    struct timespec deadline {};
    bool forever = request.timeoutMs < 0;
    if (!forever) {
      clock_gettime(CLOCK_MONOTONIC, &deadline);
      double ns = request.timeoutMs * 1e6;
      if (ns > 1e18) ns = 1e18;
      int64_t total = deadline.tv_nsec + static_cast<int64_t>(ns);
      deadline.tv_sec += total / 1'000'000'000;
      deadline.tv_nsec = total % 1'000'000'000;
    }
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (cancelled_ || stopping_) return kCancelled;
      }
      if (__atomic_load_n(request.word, __ATOMIC_SEQ_CST) != request.expected) return kWoken;
      struct timespec remaining {};
      if (!forever) {
        struct timespec now {};
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t left = (deadline.tv_sec - now.tv_sec) * 1'000'000'000 + (deadline.tv_nsec - now.tv_nsec);
        if (left <= 0) return kTimedOut;
        remaining.tv_sec = left / 1'000'000'000;
        remaining.tv_nsec = left % 1'000'000'000;
      }
      long rc = Futex(request.word, FUTEX_WAIT, request.expected, forever ? nullptr : &remaining);
      if (rc == 0) {
        // A wake-up: real (the word changed, or a wake of ours) or spurious. Looked at again above,
        // except that a cancel must be seen first.
        std::lock_guard<std::mutex> lock(mutex_);
        if (cancelled_ || stopping_) return kCancelled;
        return kWoken;
      }
      if (errno == EAGAIN) return kWoken;
      if (errno == ETIMEDOUT) return kTimedOut;
      if (errno != EINTR) return kWoken;  // EFAULT and the like: let JavaScript look at the word
    }
  }

  Napi::Reference<Napi::ArrayBuffer> buffer_;
  uint8_t* data_ = nullptr;
  size_t length_ = 0;
  OutcomeFunction completion_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable wake_;
  Request request_;
  bool pending_ = false;
  bool inWait_ = false;
  bool cancelled_ = false;
  bool stopping_ = false;
  bool completionGone_ = false;  // the environment finalized the thread-safe function
  bool started_ = false;
  Link* link_ = nullptr;
  bool closed_ = false;
  // JavaScript-thread state.
  bool busy_ = false;

 public:
  // The thread-safe function is being finalized before close() (environment teardown): stop the
  // thread, which must not call it again.
  void CompletionGone() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      completionGone_ = true;
    }
    closed_ = true;
    StopThread();
  }

  // The outcome reached JavaScript: the waiter may take its next wait.
  void Settled(Napi::Env env) {
    busy_ = false;
    if (!closed_) completion_.Unref(env);
    Unref();
  }
};

void FinalizeCompletion(Napi::Env, Link* link, FutexWaiter*) {
  if (link->waiter != nullptr) link->waiter->CompletionGone();
  delete link;
}

void DeliverOutcome(Napi::Env env, Napi::Function, FutexWaiter* waiter, Outcome* outcome) {
  if (env != nullptr) {
    waiter->Settled(env);
    outcome->deferred->Resolve(Napi::Number::New(env, outcome->status));
  }
  delete outcome->deferred;
  delete outcome;
}

// futexWake(buffer, byteOffset, count): wakes up to count waiters on the word, in any process.
Napi::Value FutexWake(const Napi::CallbackInfo& info) {
  Napi::ArrayBuffer buffer = ArgArrayBuffer(info, 0, "buffer");
  uint32_t* word = WordAt(info, buffer, 1);
  int count = static_cast<int>(std::min<double>(info[2].As<Napi::Number>().DoubleValue(), INT_MAX));
  long woken = Futex(word, FUTEX_WAKE, static_cast<uint32_t>(count), nullptr);
  return Napi::Number::New(info.Env(), woken < 0 ? 0 : static_cast<double>(woken));
}

// schedYield(): gives the CPU to another runnable thread on this core, if there is one (a spin
// calls it now and then, so a peer scheduled on the same core can run and answer).
Napi::Value SchedYield(const Napi::CallbackInfo& info) {
  sched_yield();
  return info.Env().Undefined();
}

}  // namespace

void InitIpc(Napi::Env env, Napi::Object exports) {
  exports.Set("schedYield", Napi::Function::New(env, SchedYield, "schedYield"));
  exports.Set("FutexWaiter", FutexWaiter::Define(env));
  exports.Set("futexWake", Napi::Function::New(env, FutexWake, "futexWake"));
}

#else

void InitIpc(Napi::Env env, Napi::Object exports) {}

#endif

}  // namespace rawbright
