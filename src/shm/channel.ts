/**
 * A named, bounded, multi-producer multi-consumer message queue in a shared memory region.
 *
 * Layout of the region's data (little-endian 32-bit words; see also the README):
 * ```
 * word 0  magic "RBCH"          word 1  layout version (2)
 * word 2  capacity (bytes, a power of two)
 * word 4  head: bytes ever taken (wraps at 2^32)     word 5  tail: bytes ever committed
 * word 6  data sequence (futex: bumped by every send)  word 7  space sequence (bumped by every receive)
 * word 8  receivers sleeping                          word 9  senders sleeping
 * byte 64 the ring: records [uint32 length | bit 31 = structured clone][payload, padded to 4 bytes]
 * ```
 * A record that would run past the ring's end is put at the ring's start instead, after a skip
 * marker (the word 0xFFFFFFFF: the rest of the ring is padding), committed with it by one tail
 * store, so every message a sender writes with sendWith() and a receiver leases with receiveView()
 * is one contiguous slot, read and written in place. Only a record too large for that (more than
 * the ring minus the bytes to its end) wraps around, and is then copied (version 2; version 1 had no
 * skip markers).
 * Every change of head or tail happens under the region's robust mutex, and each is one aligned
 * store made after the bytes it covers are in place: a sender killed mid-copy leaves the tail where
 * it was (the half-written record is never visible), a receiver killed mid-copy leaves the head where
 * it was (the message stays queued), and the next locker takes the dead holder's lock as abandoned.
 * Waiters sleep in the kernel on the sequence words (native/ipc.cc), never polling.
 */
import { invalidParameterError, RawbrightError } from '../errors.js';
import { isInteger } from '../validate.js';
import { deserializeValue, serializeValue } from './serialize.js';
import { type Mutex, type MutexGuard, type OpenSharedMemoryOptions, SharedMemory } from './shared-memory.js';
import {
  abortReason,
  type CheckedWait,
  checkWaitOptions,
  timeoutError,
  type WaitOptions,
  type WaitOutcome,
  WordWaiter,
} from './wait.js';

const MAGIC = 0x48434252; // "RBCH"
const LAYOUT_VERSION = 2;
const RING_OFFSET = 64;
const W_MAGIC = 0;
const W_VERSION = 1;
const W_CAPACITY = 2;
const W_HEAD = 4;
const W_TAIL = 5;
const W_DATA_SEQ = 6;
const W_SPACE_SEQ = 7;
const W_RECEIVERS = 8;
const W_SENDERS = 9;
const CLONE_BIT = 0x8000_0000;
const RECORD_HEADER = 4;
// The header word of a skip marker: the rest of the ring up to its end is padding (no message has
// this length: the largest is capacity - 4 <= 2^31 - 4).
const SKIP_WORD = 0xffff_ffff;
/** The smallest and largest ring, in bytes. */
export const MIN_CHANNEL_CAPACITY = 64;
export const MAX_CHANNEL_CAPACITY = 2 ** 31;
// How long open() waits for a region's creator to finish writing the channel header.
const OPEN_WAIT_MS = 1000;

export interface ChannelOptions extends OpenSharedMemoryOptions {
  /** Bytes of the ring, rounded up to a power of two, 64 B to 2 GiB [64 KiB]. A message needs 4 bytes more than its payload. */
  capacity?: number;
  /** Permission bits of a channel this call creates [0o600]. */
  mode?: number;
}

export interface SendOptions extends WaitOptions {
  /** Resolve only once a receiver has taken the message [false]. */
  ack?: boolean;
}

function checkCapacity(value: unknown): number {
  const capacity = value ?? 65536;
  if (!isInteger(capacity) || capacity < MIN_CHANNEL_CAPACITY || capacity > MAX_CHANNEL_CAPACITY) {
    throw invalidParameterError('capacity', `bytes from ${MIN_CHANNEL_CAPACITY} to 2 GiB`, value);
  }
  return 2 ** Math.ceil(Math.log2(capacity));
}

function checkOptions(value: unknown): ChannelOptions {
  if (value !== undefined && (value === null || typeof value !== 'object')) {
    throw invalidParameterError('options', 'an object', value);
  }
  return (value ?? {}) as ChannelOptions;
}

function regionOptions(options: ChannelOptions): { mode?: number; trustOwner?: number } {
  const result: { mode?: number; trustOwner?: number } = {};
  if (options.mode !== undefined) result.mode = options.mode;
  if (options.trustOwner !== undefined) result.trustOwner = options.trustOwner;
  return result;
}

// What a send that committed at once resolves with (one settled promise for all of them).
const settled: Promise<void> = Promise.resolve();

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function closedError(name: string, path: string): RawbrightError {
  return new RawbrightError('ERR_CLOSED', `channel "${name}" is closed`, { path });
}

const constructionToken = Symbol('Channel');

interface Encoded {
  /** The payload, or its length when `fill` writes it into the slot. */
  bytes: Uint8Array | number;
  clone: boolean;
  fill?: (slot: Uint8Array) => void;
}

/**
 * A message read in place by `receiveView()`: `data` is a view of the ring itself (a copy only for a
 * record that wraps around the ring's end, which a message of up to half the capacity never does). The channel stays locked until `release()` (or `using`),
 * which frees the slot; a holder that dies (or closes the channel) first leaves the message queued.
 */
export interface MessageLease extends Disposable {
  /** The payload bytes (V8 serialization when `structured`); valid only until release(). */
  readonly data: Uint8Array;
  /** Whether the payload is a serialized structured-clone value (read it with `value()`). */
  readonly structured: boolean;
  /** Whether data is a view of the ring (false: a copy, the record wrapped around the ring's end). */
  readonly inPlace: boolean;
  /** Whether release() has run. */
  readonly released: boolean;
  /** The message as `receive()` would return it (a copy of the bytes, or the deserialized value). */
  value(): unknown;
  /** Frees the slot and unlocks the channel. Releasing twice does nothing. */
  release(): void;
}

/** A message queue between processes (and threads); see the module comment for its layout. */
export class Channel<T = unknown> implements Disposable, AsyncIterable<T> {
  /** The channel's name (that of its shared memory region). */
  readonly name: string;
  /** The region's path, `/dev/shm/rawbright.<name>`. */
  readonly path: string;
  /** Bytes of the ring. */
  readonly capacity: number;
  /** The largest message payload (bytes, after serialization for non-Uint8Array values). */
  readonly maxMessageSize: number;
  /** Whether this call created the channel. */
  readonly created: boolean;

  readonly #region: SharedMemory;
  readonly #mutex: Mutex;
  readonly #words: Int32Array;
  readonly #ring: Uint8Array;
  readonly #view: DataView;
  readonly #mask: number;
  readonly #waiter: WordWaiter;
  #closed = false;
  #lease: { guard: MutexGuard; released: boolean } | undefined;

  /** @internal */
  constructor(token: symbol, region: SharedMemory) {
    if (token !== constructionToken) {
      throw new RawbrightError(
        'ERR_ILLEGAL_CONSTRUCTOR',
        'use Channel.create, Channel.open or Channel.createOrOpen',
      );
    }
    this.#region = region;
    this.#mutex = region.mutex;
    this.name = region.name;
    this.path = region.path;
    this.created = region.created;
    const buffer = region.buffer;
    this.#words = new Int32Array(buffer, 0, RING_OFFSET / 4);
    if (region.created) {
      const capacity = region.size - RING_OFFSET;
      this.#words[W_VERSION] = LAYOUT_VERSION;
      this.#words[W_CAPACITY] = capacity | 0;
      Atomics.store(this.#words, W_MAGIC, MAGIC);
    } else {
      const start = performance.now();
      while (Atomics.load(this.#words, W_MAGIC) === 0 && performance.now() - start < OPEN_WAIT_MS)
        sleepSync(1);
    }
    const capacity = this.#words[W_CAPACITY] >>> 0;
    if (
      Atomics.load(this.#words, W_MAGIC) !== MAGIC ||
      this.#words[W_VERSION] !== LAYOUT_VERSION ||
      capacity !== region.size - RING_OFFSET ||
      capacity < MIN_CHANNEL_CAPACITY ||
      (capacity & (capacity - 1)) !== 0
    ) {
      region.close();
      throw new RawbrightError(
        'ERR_CHANNEL_INVALID',
        `shared memory region "${this.name}" is not a channel`,
        {
          path: this.path,
        },
      );
    }
    this.capacity = capacity;
    this.maxMessageSize = capacity - RECORD_HEADER;
    this.#mask = capacity - 1;
    this.#ring = new Uint8Array(buffer, RING_OFFSET, capacity);
    this.#view = new DataView(buffer, RING_OFFSET, capacity);
    this.#waiter = new WordWaiter(buffer);
  }

  /**
   * Creates a channel (a new shared memory region of that name).
   * @throws `EEXIST` if the name is in use; `ERR_INVALID_ARG_VALUE` for a bad name or capacity.
   */
  static create<T = unknown>(name: string, options?: ChannelOptions): Channel<T> {
    const given = checkOptions(options);
    const capacity = checkCapacity(given.capacity);
    return new Channel<T>(
      constructionToken,
      SharedMemory.create(name, RING_OFFSET + capacity, regionOptions(given)),
    );
  }

  /**
   * Opens an existing channel.
   * @throws `ENOENT` if there is none; `ERR_CHANNEL_INVALID` if the region is not a channel.
   */
  static open<T = unknown>(name: string, options?: OpenSharedMemoryOptions): Channel<T> {
    const given = checkOptions(options);
    return new Channel<T>(constructionToken, SharedMemory.open(name, regionOptions(given)));
  }

  /** Opens the channel, or creates it; an existing one must have the same capacity (`ERR_SHM_MISMATCH`). */
  static createOrOpen<T = unknown>(name: string, options?: ChannelOptions): Channel<T> {
    const given = checkOptions(options);
    const capacity = checkCapacity(given.capacity);
    return new Channel<T>(
      constructionToken,
      SharedMemory.createOrOpen(name, RING_OFFSET + capacity, regionOptions(given)),
    );
  }

  /** Whether close() has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Messages queued now (a snapshot). */
  get size(): number {
    this.#checkOpen();
    let count = 0;
    const head = Atomics.load(this.#words, W_HEAD) >>> 0;
    const tail = Atomics.load(this.#words, W_TAIL) >>> 0;
    const used = (tail - head) >>> 0;
    if (used > this.capacity) return 0;
    for (let at = 0; at < used && count < used; ) {
      const position = (head + at) & this.#mask;
      const word = this.#view.getUint32(position, true);
      if (word === SKIP_WORD) {
        at += this.capacity - position;
        continue;
      }
      at += RECORD_HEADER + (((word & ~CLONE_BIT) + 3) & ~3);
      count += 1;
    }
    return count;
  }

  /**
   * Queues a message without waiting.
   * @returns false if the queue has no room for it now (or another process holds the lock this moment).
   * @throws `ERR_CHANNEL_MESSAGE_TOO_LARGE` if it could never fit; `ERR_NOT_SERIALIZABLE`.
   */
  trySend(value: T): boolean {
    this.#checkOpen();
    this.#checkLease();
    const encoded = this.#encode(value);
    const guard = this.#mutex.tryLock();
    if (guard === null) return false;
    return this.#put(encoded, guard) >= 0;
  }

  /**
   * Queues a message, waiting for room. Resolves once the message is committed (visible to
   * receivers), or with `ack: true` once a receiver has taken it (QuickIPC's "poke, then wait until
   * it was read"); an ack that times out leaves the message queued.
   * @throws `ETIMEDOUT`; the signal's reason on abort; `ERR_CLOSED` if the channel is closed meanwhile;
   *   `ERR_CHANNEL_MESSAGE_TOO_LARGE`; `ERR_NOT_SERIALIZABLE`.
   */
  send(value: T, options?: SendOptions): Promise<void> {
    // Not async (the spin path's latency: no promise of its own); the checks' errors become rejections.
    let wait: CheckedWait;
    let ack: unknown;
    let encoded: Encoded;
    try {
      this.#checkOpen();
      wait = checkWaitOptions(options);
      ack = options?.ack ?? false;
      if (typeof ack !== 'boolean') throw invalidParameterError('ack', 'a boolean', ack);
      encoded = this.#encode(value);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#sendEncoded(encoded, wait, ack);
  }

  // Resolves (with undefined) once the message is committed, or with ack once it was taken.
  #sendEncoded(encoded: Encoded, wait: CheckedWait, ack: boolean): Promise<void> {
    const attempt = () =>
      this.#locked(wait, (guard) => {
        const at = this.#put(encoded, guard);
        return at >= 0 ? at : undefined;
      });
    if (!ack) return this.#until(W_SPACE_SEQ, W_SENDERS, attempt, wait, 'room in channel', true);
    // Then until the head has passed `end` (the message ending there was taken).
    return this.#until(W_SPACE_SEQ, W_SENDERS, attempt, wait, 'room in channel', false).then((end) =>
      this.#until(
        W_SPACE_SEQ,
        W_SENDERS,
        () => ((((Atomics.load(this.#words, W_HEAD) >>> 0) - end) | 0) >= 0 ? true : undefined),
        wait,
        'a receiver to take the message from channel',
        true,
      ),
    );
  }

  /**
   * The one wait loop of send, ack, receive and receiveView: reads sequence word `seqWord`, tries
   * `attempt` (which takes the lock itself, never across an await once it holds it), and while it
   * gives undefined, sleeps in the kernel until the word moves, counted in word `waitersWord` so the
   * other side knows to wake it. With `discard` it resolves with undefined instead of the result.
   * Not async: as long as no attempt waits for the lock and no sleep is needed (the spin path), it
   * runs synchronously and returns a settled promise; it throws nothing (errors are rejections).
   */
  #until<R>(
    seqWord: number,
    waitersWord: number,
    attempt: () => R | undefined | Promise<R | undefined>,
    wait: CheckedWait,
    what: string,
    discard: true,
  ): Promise<void>;
  #until<R>(
    seqWord: number,
    waitersWord: number,
    attempt: () => R | undefined | Promise<R | undefined>,
    wait: CheckedWait,
    what: string,
    discard: false,
  ): Promise<R>;
  #until<R>(
    seqWord: number,
    waitersWord: number,
    attempt: () => R | undefined | Promise<R | undefined>,
    wait: CheckedWait,
    what: string,
    discard: boolean,
  ): Promise<R | undefined> {
    try {
      for (;;) {
        this.#checkOpen();
        this.#checkLease();
        if (wait.signal?.aborted) throw abortReason(wait.signal);
        const seq = Atomics.load(this.#words, seqWord);
        const tried = attempt();
        if (tried instanceof Promise) {
          return this.#untilSlow(seqWord, waitersWord, attempt, wait, what, discard, seq, tried);
        }
        if (tried !== undefined) return discard ? (settled as Promise<undefined>) : Promise.resolve(tried);
        // With spin: busy-wait for the word to move before counting in as a sleeper (so the other
        // side makes no futexWake syscall for a waiter that is spinning), then try again at once.
        if (!this.#waiter.spin(seqWord, seq, wait)) {
          return this.#untilSlow(seqWord, waitersWord, attempt, wait, what, discard, seq, undefined);
        }
      }
    } catch (error) {
      return Promise.reject(error);
    }
  }

  // The rest of #until once it must await: the attempt's wait for the lock (`pending`), or, without
  // one, a sleep on the sequence word that read `seq` (the attempt and the spin just failed).
  async #untilSlow<R>(
    seqWord: number,
    waitersWord: number,
    attempt: () => R | undefined | Promise<R | undefined>,
    wait: CheckedWait,
    what: string,
    discard: boolean,
    seqSeen: number,
    pending: Promise<R | undefined> | undefined,
  ): Promise<R | undefined> {
    let seq = seqSeen;
    let result: R | undefined = pending === undefined ? undefined : await pending;
    let spun = pending === undefined;
    for (;;) {
      if (result !== undefined) return discard ? undefined : result;
      if (spun || !this.#waiter.spin(seqWord, seq, wait)) {
        Atomics.add(this.#words, waitersWord, 1);
        let outcome: WaitOutcome;
        try {
          outcome = await this.#waiter.sleep(seqWord, seq, wait);
        } finally {
          if (!this.#closed) Atomics.sub(this.#words, waitersWord, 1);
        }
        this.#settle(outcome, wait, what);
      }
      spun = false;
      this.#checkOpen();
      this.#checkLease();
      if (wait.signal?.aborted) throw abortReason(wait.signal);
      seq = Atomics.load(this.#words, seqWord);
      const tried = attempt();
      // No turn of the event loop when the attempt did not have to wait for the lock.
      result = tried instanceof Promise ? ((await tried) as R | undefined) : tried;
    }
  }

  /**
   * Takes the oldest message without waiting; undefined if there is none now (or another process
   * holds the lock this moment).
   */
  tryReceive(): T | undefined {
    this.#checkOpen();
    this.#checkLease();
    const guard = this.#mutex.tryLock();
    if (guard === null) return undefined;
    return this.#take(guard);
  }

  /**
   * Takes the oldest message, waiting for one.
   * @throws `ETIMEDOUT`; the signal's reason on abort; `ERR_CLOSED` if the channel is closed meanwhile.
   */
  receive(options?: WaitOptions): Promise<T> {
    // Not async: an async function returning #until's promise would cost two more microtask turns
    // per message (the spin path's latency). The checks' errors become rejections all the same.
    let wait: CheckedWait;
    try {
      this.#checkOpen();
      wait = checkWaitOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#until(
      W_DATA_SEQ,
      W_RECEIVERS,
      () => (this.#empty() ? undefined : this.#locked(wait, (guard) => this.#take(guard))),
      wait,
      'a message in channel',
      false,
    );
  }

  /**
   * Takes the oldest message without copying it out: the lease's `data` is the message in the ring,
   * read in place; `release()` (or `using`) frees it. The channel is locked for senders and other
   * receivers until then, so release promptly. A holder that dies or closes first leaves it queued.
   * @throws like receive(); `ERR_CHANNEL_LEASED` if this Channel object holds an unreleased lease.
   */
  receiveView(options?: WaitOptions): Promise<MessageLease> {
    let wait: CheckedWait;
    try {
      this.#checkOpen();
      wait = checkWaitOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#until(
      W_DATA_SEQ,
      W_RECEIVERS,
      () => (this.#empty() ? undefined : this.#locked(wait, (guard) => this.#takeView(guard))),
      wait,
      'a message in channel',
      false,
    );
  }

  /**
   * Queues a message of `length` raw bytes that `fill` writes straight into its slot in the ring
   * (no intermediate buffer; a message of up to half the capacity always gets a contiguous slot,
   * a larger one may wrap around the ring's end and is then filled in a buffer and copied). `fill` runs synchronously
   * under the channel's lock and must not keep the view. Options as for send().
   * @throws like send(); whatever `fill` throws (nothing is queued then).
   */
  async sendWith(length: number, fill: (slot: Uint8Array) => void, options?: SendOptions): Promise<void> {
    this.#checkOpen();
    if (!isInteger(length) || length < 0 || length > this.maxMessageSize) {
      if (isInteger(length) && length > this.maxMessageSize) {
        throw new RawbrightError(
          'ERR_CHANNEL_MESSAGE_TOO_LARGE',
          `the message needs ${length + RECORD_HEADER} bytes but channel "${this.name}" holds ${this.capacity}`,
          { path: this.path },
        );
      }
      throw invalidParameterError('length', `bytes from 0 to ${this.maxMessageSize}`, length);
    }
    if (typeof fill !== 'function') throw invalidParameterError('fill', 'a function', fill);
    const wait = checkWaitOptions(options);
    const ack = options?.ack ?? false;
    if (typeof ack !== 'boolean') throw invalidParameterError('ack', 'a boolean', ack);
    await this.#sendEncoded({ bytes: length, clone: false, fill }, wait, ack);
  }

  /** Receives messages until the channel is closed in this process. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    while (!this.#closed) {
      try {
        yield await this.receive();
      } catch (error) {
        if (this.#closed) return;
        throw error;
      }
    }
  }

  /**
   * Closes the channel in this process: pending sends and receives reject with `ERR_CLOSED`; the
   * region's name goes when its last user closes. Closing twice does nothing.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#lease !== undefined && !this.#lease.released) {
      // The slot stays queued: the message was not released.
      this.#lease.released = true;
      this.#lease.guard.unlock();
    }
    this.#waiter.close();
    this.#region.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  // Whether the ring is empty now, read without the lock: a receiver looks before it locks, so a
  // waiting receiver (and a spinning one) never takes the lock from a sender for nothing. Safe
  // because the sequence word is read first: a message committed after this look moves it.
  #empty(): boolean {
    return Atomics.load(this.#words, W_HEAD) === Atomics.load(this.#words, W_TAIL);
  }

  #checkOpen(): void {
    if (this.#closed) throw closedError(this.name, this.path);
  }

  #settle(outcome: string, wait: CheckedWait, what: string): void {
    if (outcome === 'closed' || this.#closed) throw closedError(this.name, this.path);
    if (outcome === 'aborted' && wait.signal !== undefined) throw abortReason(wait.signal);
    if (outcome === 'timeout') throw timeoutError(wait.timeout, `${what} "${this.name}"`, this.path);
  }

  // Runs `body` under the channel's lock: at once when it is free, else once a wait for it ends.
  // With `spin`, a lock held by another process this instant is tried again for up to that long
  // (holds are a copy long) before the wait for it, which costs a turn of the event loop.
  #locked<R>(wait: CheckedWait, body: (guard: MutexGuard) => R): R | Promise<R> {
    let guard = this.#mutex.tryLock();
    if (guard === null && wait.spin > 0) {
      const end = performance.now() + wait.spin / 1000;
      do guard = this.#mutex.tryLock();
      while (guard === null && performance.now() < end);
    }
    return guard !== null ? body(guard) : this.#lock(wait).then(body);
  }

  async #lock(wait: CheckedWait): Promise<MutexGuard> {
    const remaining =
      wait.deadline === Number.POSITIVE_INFINITY ? undefined : Math.max(0, wait.deadline - performance.now());
    let held: MutexGuard;
    try {
      held = await this.#mutex.lock({ timeout: remaining });
    } catch (error) {
      if (this.#closed) throw closedError(this.name, this.path);
      throw error;
    }
    if (this.#closed) throw closedError(this.name, this.path);
    return held;
  }

  #checkLease(): void {
    if (this.#lease !== undefined && !this.#lease.released) {
      throw new RawbrightError(
        'ERR_CHANNEL_LEASED',
        `channel "${this.name}" is locked by an unreleased receiveView() lease of this object`,
        { path: this.path },
      );
    }
  }

  #encode(value: T): Encoded {
    if (value === undefined) throw invalidParameterError('value', 'a message other than undefined', value);
    const clone = !(value instanceof Uint8Array);
    const bytes = clone ? serializeValue(value) : (value as unknown as Uint8Array);
    if (bytes.length > this.maxMessageSize) {
      throw new RawbrightError(
        'ERR_CHANNEL_MESSAGE_TOO_LARGE',
        `the message needs ${bytes.length + RECORD_HEADER} bytes but channel "${this.name}" holds ${this.capacity}`,
        { path: this.path },
      );
    }
    return { bytes, clone };
  }

  #corrupt(guard: MutexGuard): never {
    guard.unlock();
    throw new RawbrightError('ERR_CHANNEL_CORRUPT', `channel "${this.name}" holds damaged positions`, {
      path: this.path,
    });
  }

  // Under the lock: copy the record into free space, then commit it by moving the tail.
  // Returns where the record ends (its tail position), or -1 if there is no room.
  #put(encoded: Encoded, guard: MutexGuard): number {
    const head = Atomics.load(this.#words, W_HEAD) >>> 0;
    const tail = Atomics.load(this.#words, W_TAIL) >>> 0;
    const used = (tail - head) >>> 0;
    if (used > this.capacity || tail % 4 !== 0) this.#corrupt(guard);
    const { bytes, clone, fill } = encoded;
    const length = typeof bytes === 'number' ? bytes : bytes.length;
    const record = RECORD_HEADER + ((length + 3) & ~3);
    // A record that would wrap around the ring's end starts at the ring's start instead, after a
    // skip marker, so it is one contiguous slot (written and read in place); only a record too large
    // for that (the skip and it together beyond the ring) still wraps.
    const toEnd = this.capacity - (tail & this.#mask);
    const skip = toEnd < record && toEnd + record <= this.capacity ? toEnd : 0;
    if (this.capacity - used < skip + record) {
      guard.unlock();
      return -1;
    }
    const start = (tail + skip) >>> 0;
    if (typeof bytes === 'number') {
      const at = (start + RECORD_HEADER) & this.#mask;
      const inPlace = at + length <= this.capacity;
      const slot = inPlace ? this.#ring.subarray(at, at + length) : new Uint8Array(length);
      try {
        fill?.(slot);
      } catch (error) {
        guard.unlock();
        throw error;
      }
      if (!inPlace) this.#copyIn((start + RECORD_HEADER) >>> 0, slot);
    } else {
      this.#copyIn((start + RECORD_HEADER) >>> 0, bytes);
    }
    this.#view.setUint32(start & this.#mask, (length | (clone ? CLONE_BIT : 0)) >>> 0, true);
    if (skip > 0) this.#view.setUint32(tail & this.#mask, SKIP_WORD, true);
    const end = (start + record) >>> 0;
    Atomics.store(this.#words, W_TAIL, end | 0);
    guard.unlock();
    Atomics.add(this.#words, W_DATA_SEQ, 1);
    if (Atomics.load(this.#words, W_RECEIVERS) !== 0) this.#waiter.wake(W_DATA_SEQ);
    return end;
  }

  // The record at `head` (after a skip marker, if one is there): its header word, payload length,
  // payload position and where it ends; undefined if none is queued. Corrupt positions throw.
  #oldest(
    guard: MutexGuard,
  ): { word: number; length: number; start: number; end: number; head: number } | undefined {
    const head = Atomics.load(this.#words, W_HEAD) >>> 0;
    const tail = Atomics.load(this.#words, W_TAIL) >>> 0;
    const used = (tail - head) >>> 0;
    if (used > this.capacity || head % 4 !== 0) this.#corrupt(guard);
    if (used === 0) {
      guard.unlock();
      return undefined;
    }
    let start = head;
    let word = this.#view.getUint32(head & this.#mask, true);
    if (word === SKIP_WORD) {
      const skip = this.capacity - (head & this.#mask);
      if (skip >= used) this.#corrupt(guard);
      start = (head + skip) >>> 0;
      word = this.#view.getUint32(start & this.#mask, true);
    }
    const length = (word & ~CLONE_BIT) >>> 0;
    const end = (start + RECORD_HEADER + ((length + 3) & ~3)) >>> 0;
    if ((end - head) >>> 0 > used || word === SKIP_WORD) this.#corrupt(guard);
    return { word, length, start: (start + RECORD_HEADER) >>> 0, end, head };
  }

  // Frees the records up to `end` (one store), unlocks, wakes sleeping senders.
  #free(end: number, guard: MutexGuard): void {
    Atomics.store(this.#words, W_HEAD, end | 0);
    guard.unlock();
    Atomics.add(this.#words, W_SPACE_SEQ, 1);
    if (Atomics.load(this.#words, W_SENDERS) !== 0) this.#waiter.wake(W_SPACE_SEQ);
  }

  // Under the lock: copy the oldest record out, then free it by moving the head.
  #take(guard: MutexGuard): T | undefined {
    const oldest = this.#oldest(guard);
    if (oldest === undefined) return undefined;
    const bytes = this.#copyOut(oldest.start, oldest.length);
    this.#free(oldest.end, guard);
    return ((oldest.word & CLONE_BIT) !== 0 ? deserializeValue(bytes) : bytes) as T;
  }

  // Under the lock: lease the oldest record in place; release() frees it and unlocks.
  #takeView(guard: MutexGuard): MessageLease | undefined {
    const oldest = this.#oldest(guard);
    if (oldest === undefined) return undefined;
    const { length, end } = oldest;
    const at = oldest.start & this.#mask;
    const inPlace = at + length <= this.capacity;
    const data = inPlace ? this.#ring.subarray(at, at + length) : this.#copyOut(oldest.start, length);
    const structured = (oldest.word & CLONE_BIT) !== 0;
    const state = { guard, released: false };
    this.#lease = state;
    const release = (): void => {
      if (state.released) return;
      state.released = true;
      this.#free(end, guard);
    };
    return {
      data,
      structured,
      inPlace,
      get released() {
        return state.released;
      },
      value: () => {
        if (state.released) {
          throw new RawbrightError('ERR_LEASE_RELEASED', 'the message lease was already released');
        }
        return structured ? deserializeValue(data) : data.slice();
      },
      release,
      [Symbol.dispose]: release,
    };
  }

  #copyIn(position: number, bytes: Uint8Array): void {
    const at = position & this.#mask;
    const first = Math.min(bytes.length, this.capacity - at);
    this.#ring.set(first === bytes.length ? bytes : bytes.subarray(0, first), at);
    if (first < bytes.length) this.#ring.set(bytes.subarray(first), 0);
  }

  #copyOut(position: number, length: number): Uint8Array {
    const at = position & this.#mask;
    const first = Math.min(length, this.capacity - at);
    // One allocation and copy when the payload does not wrap (every message up to half the ring).
    if (first === length) return this.#ring.slice(at, at + length);
    const out = new Uint8Array(length);
    out.set(this.#ring.subarray(at, at + first));
    if (first < length) out.set(this.#ring.subarray(0, length - first), first);
    return out;
  }
}
