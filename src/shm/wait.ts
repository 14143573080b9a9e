/**
 * Waiting for a 32-bit word of a shared memory region to change, without blocking the event loop:
 * an optional spin (for the lowest latency), then a kernel sleep (FUTEX_WAIT) on a thread of the
 * addon's (native/ipc.cc). Used by Channel, Event and Semaphore.
 *
 * The spin is plain JavaScript: an Atomics.load of the word per turn, the clock read once every
 * SPIN_CHECK turns, and every SPIN_YIELD_MS a sched_yield (the one native call and syscall: it lets
 * a peer that shares this core run), no timer. A spinning waiter is not counted in the
 * primitive's sleepers word (only one about to sleep in the kernel is), so the other side does not
 * make a futexWake syscall for it.
 */
import { type NativeFutexWaiter, native } from '../addon.js';
import { invalidParameterError, RawbrightError } from '../errors.js';
import { isInteger } from '../validate.js';

// setTimeout's limit: longer waits are "forever".
const MAX_TIMEOUT_MS = 2 ** 31 - 1;
/** The longest spin a caller may ask for, in microseconds. */
const MAX_SPIN_US = 1_000_000;
/** Spin turns between two reads of the clock. */
const SPIN_CHECK = 64;
/**
 * A spin yields its core (sched_yield) every this many ms: when the process it waits for was put on
 * the same core, a pure spin kept it from running until the spin ran out (the round trip became
 * twice the spin plus two wake-ups on a loaded machine).
 */
const SPIN_YIELD_MS = 0.002;

export type WaitOutcome = 'changed' | 'timeout' | 'aborted' | 'closed';

export interface WaitOptions {
  /** Milliseconds before giving up with `ETIMEDOUT` [forever]. 0 tries once. */
  timeout?: number;
  /** Aborting it rejects the wait with the signal's reason (an `AbortError` by default). */
  signal?: AbortSignal;
  /**
   * Microseconds to busy-wait (a core spinning, the event loop blocked; the core yielded to other
   * runnable threads every 2 µs) before sleeping in the kernel [0]. Lowers latency when the other side answers within that time. A Channel also
   * retries its lock for up to that long when another process holds it.
   */
  spin?: number;
}

export interface CheckedWait {
  /** performance.now() deadline, Infinity for none. */
  deadline: number;
  timeout: number;
  signal: AbortSignal | undefined;
  spin: number;
}

export function checkWaitOptions(value: unknown): CheckedWait {
  if (value !== undefined && (value === null || typeof value !== 'object')) {
    throw invalidParameterError('options', 'an object', value);
  }
  const given = (value ?? {}) as Record<string, unknown>;
  const timeout = (given.timeout ?? Number.POSITIVE_INFINITY) as number;
  if (
    timeout !== Number.POSITIVE_INFINITY &&
    !(typeof timeout === 'number' && Number.isFinite(timeout) && timeout >= 0 && timeout <= MAX_TIMEOUT_MS)
  ) {
    throw invalidParameterError(
      'timeout',
      `milliseconds from 0 to ${MAX_TIMEOUT_MS}, or Infinity`,
      given.timeout,
    );
  }
  const signal = given.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw invalidParameterError('signal', 'an AbortSignal', signal);
  }
  const spin = given.spin ?? 0;
  if (!isInteger(spin) || spin < 0 || spin > MAX_SPIN_US) {
    throw invalidParameterError('spin', `microseconds from 0 to ${MAX_SPIN_US}`, given.spin);
  }
  return {
    deadline: timeout === Number.POSITIVE_INFINITY ? timeout : performance.now() + timeout,
    timeout,
    signal,
    spin,
  };
}

export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted', 'AbortError');
}

export function timeoutError(timeout: number, what: string, path: string): RawbrightError {
  return new RawbrightError('ETIMEDOUT', `timed out after ${timeout} ms waiting for ${what}`, { path });
}

/** The futex waiters of one region: a pool, each used for one wait at a time. */
export class WordWaiter {
  readonly #buffer: ArrayBuffer;
  readonly #words: Int32Array;
  readonly #free: NativeFutexWaiter[] = [];
  readonly #busy = new Set<NativeFutexWaiter>();
  #closed = false;
  // The last spin ended right after a sched_yield (the word moved while this thread had given up
  // its core, so the other side shares the core): the next one yields at once instead of after 2 µs.
  #yieldFirst = false;

  constructor(buffer: ArrayBuffer) {
    this.#buffer = buffer;
    this.#words = new Int32Array(buffer, 0, Math.floor(buffer.byteLength / 4));
  }

  /**
   * Busy-waits (synchronously) for up to `wait.spin` µs, and no later than the deadline, for word
   * `index` to differ from `expected`. True if it did.
   */
  spin(index: number, expected: number, wait: CheckedWait): boolean {
    if (wait.spin <= 0) return false;
    const words = this.#words;
    const start = performance.now();
    const end = Math.min(start + wait.spin / 1000, wait.deadline);
    let yieldAt = this.#yieldFirst ? start : start + SPIN_YIELD_MS;
    let yielded = false;
    for (;;) {
      for (let turn = 0; turn < SPIN_CHECK; turn++) {
        if (Atomics.load(words, index) !== expected) {
          // Moved while this thread had yielded the core: the other side runs on this core.
          this.#yieldFirst = yielded && turn === 0;
          return true;
        }
      }
      yielded = false;
      const now = performance.now();
      if (now >= end) return false;
      if (now >= yieldAt) {
        native.schedYield();
        yielded = true;
        yieldAt = now + SPIN_YIELD_MS;
      }
    }
  }

  /**
   * Resolves once word `index` (of 4 bytes) may differ from `expected` (spurious wake-ups happen:
   * callers look again), or the deadline passed, or the signal aborted, or close() ran: a kernel
   * sleep, never a spin (callers spin() first when asked to).
   */
  async sleep(index: number, expected: number, wait: CheckedWait): Promise<WaitOutcome> {
    if (this.#closed) return 'closed';
    if (wait.signal?.aborted) return 'aborted';
    const remaining = wait.deadline === Number.POSITIVE_INFINITY ? -1 : wait.deadline - performance.now();
    if (wait.deadline !== Number.POSITIVE_INFINITY && remaining <= 0) return 'timeout';
    const waiter = this.#free.pop() ?? new native.FutexWaiter(this.#buffer);
    this.#busy.add(waiter);
    let aborted = false;
    const onAbort = (): void => {
      aborted = true;
      waiter.cancel();
    };
    wait.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const status = await waiter.wait(index * 4, expected, remaining);
      if (this.#closed) return 'closed';
      if (aborted || wait.signal?.aborted) return 'aborted';
      if (status === 1) return 'timeout';
      return 'changed';
    } finally {
      wait.signal?.removeEventListener('abort', onAbort);
      this.#busy.delete(waiter);
      if (this.#closed) waiter.close();
      else this.#free.push(waiter);
    }
  }

  /** Wakes every waiter on word `index`, in every process. */
  wake(index: number): void {
    native.futexWake(this.#buffer, index * 4, 2 ** 31 - 1);
  }

  /** Ends every wait (they resolve 'closed') and stops the threads, before the region is unmapped. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const waiter of this.#busy) waiter.close();
    for (const waiter of this.#free) waiter.close();
    this.#free.length = 0;
  }
}

/**
 * Waits until `attempt` succeeds, sleeping on word `index` between tries: the shared loop of the
 * Event and Semaphore waits. `attempt` must read the word's value first and return it when it fails.
 */
export async function waitUntil(
  words: Int32Array,
  waiter: WordWaiter,
  index: number,
  waitersIndex: number,
  attempt: () => { done: true } | { done: false; seen: number },
  wait: CheckedWait,
  isClosed: () => boolean,
  errors: { closed: () => Error; timeout: () => Error },
): Promise<void> {
  for (;;) {
    if (isClosed()) throw errors.closed();
    if (wait.signal?.aborted) throw abortReason(wait.signal);
    const result = attempt();
    if (result.done) return;
    // Spinning first, not counted as a sleeper: a change seen here is tried again at once.
    if (waiter.spin(index, result.seen, wait)) continue;
    Atomics.add(words, waitersIndex, 1);
    let outcome: WaitOutcome;
    try {
      outcome = await waiter.sleep(index, result.seen, wait);
    } finally {
      if (!isClosed()) Atomics.sub(words, waitersIndex, 1);
    }
    if (outcome === 'closed' || isClosed()) throw errors.closed();
    if (outcome === 'aborted' && wait.signal !== undefined) throw abortReason(wait.signal);
    if (outcome === 'timeout') throw errors.timeout();
  }
}
