/**
 * Named shared memory between processes, in the manner of .NET's `MemoryMappedFile.CreateNew` /
 * `OpenExisting`, with robust process-shared mutexes inside the region.
 *
 * ## Owners
 * `/dev/shm` is writable by every user, so another user can create a name before you do. `open` and
 * `createOrOpen` therefore join only a region whose file belongs to this process's effective user;
 * a region of any other user is refused with `ERR_SHM_FOREIGN_OWNER` (the message names its uid)
 * unless that uid is passed as `{ trustOwner: uid }`. `create` always makes a region of its own.
 *
 * ## Lifetime (non-persisted)
 * A region lives in `/dev/shm/rawbright.<name>`. Every process that has it open holds a shared
 * `flock` on it; the kernel drops that lock when the process ends, however it ends.
 * - When the last user closes it ({@link SharedMemory.close}, `using`, the process's `'exit'` event —
 *   which covers a normal end, `process.exit()` and an uncaught exception —, a worker thread ending,
 *   or garbage collection of a region nobody references), its name is removed at once and the
 *   memory is freed when the last mapping goes.
 * - When the last users die without closing (SIGKILL, a crash, a signal such as SIGTERM or Ctrl-C
 *   left to its default action, the OOM killer), the kernel releases their locks but cannot remove
 *   the name: the file (and its memory) stays in `/dev/shm` until the next
 *   {@link SharedMemory.create} / {@link SharedMemory.open} / {@link SharedMemory.createOrOpen} of that
 *   name (which notices nobody holds it and removes it; `open` then reports `ENOENT`) or a
 *   {@link SharedMemory.cleanup} sweep, or a reboot.
 * - A region is never visible half-made: it is built unnamed and linked under its name only once
 *   complete, so `create` is atomic and a crash while creating leaves nothing behind.
 *
 * ## Safety
 * The region is memory shared with other processes: they can change any byte at any time. Guard
 * shared data with the region's {@link Mutex}. Only processes of users allowed by the region's mode
 * can open it (0600 by default: the creating user).
 * - The mutexes are lock words of rawbright's own (a futex, and a kernel file lock per user that tells
 *   a live holder from a dead one), never glibc mutexes, whose internal pointers in shared memory
 *   would let anyone who can write the region crash or abort every process that locks it. A lock
 *   word that another process forged or scribbled over gives an abandoned lock or an error
 *   (`ERR_SHM_LOCK_BROKEN`), never a crash, an abort or a wait past the timeout. An uncontended
 *   tryLock/unlock is one `Atomics.compareExchange` on the word (no call into the addon); every
 *   other case, and every lock operation once the process caught a SIGBUS, goes the native way.
 * - A process that truncates the region's file makes the lost pages read as zeros here instead of
 *   raising SIGBUS: {@link SharedMemory.truncated} turns true, and from the first touch of a lost page
 *   every lock operation fails with `ERR_SHM_TRUNCATED`. `RAWBRIGHT_NO_SIGBUS_GUARD=1` turns that guard
 *   off.
 * - Users who may write the region (mode 0660, 0666) can still change its data and break mutual
 *   exclusion, or hold a lock as long as they like: share a region only with users you trust with
 *   its contents.
 */

import {
  type NativeFastLock,
  type NativeMutexHandle,
  type NativeSharedMemoryHandle,
  native,
} from '../addon.js';
import { asRawbrightError, invalidParameterError, RawbrightError } from '../errors.js';
import { isInteger, options as optionsObject } from '../validate.js';

const limits = native.sharedMemoryLimits;

/** The longest region name. */
export const MAX_SHARED_MEMORY_NAME_LENGTH: number = limits.maxNameLength;
/** The largest region: 1 TiB. Past 4 GiB (the largest ArrayBuffer in Node.js 20), it is reached in windows. */
export const MAX_SHARED_MEMORY_SIZE: number = limits.maxSize;
/** The largest {@link SharedMemory.buffer} or {@link SharedMemory.window}: 4 GiB. */
export const MAX_SHARED_MEMORY_WINDOW: number = 2 ** 32;
/** The most mutexes one region can hold. */
export const MAX_SHARED_MEMORY_MUTEXES: number = limits.maxMutexes;

const NAME_PATTERN = /^[A-Za-z0-9._-]+$/;
// setTimeout's limit: longer waits are "forever" (Infinity or no timeout).
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export interface OpenSharedMemoryOptions {
  /**
   * A uid whose regions this call may join besides the caller's own [none]. Without it, `open` and
   * `createOrOpen` refuse a region whose file belongs to another user (`ERR_SHM_FOREIGN_OWNER`):
   * otherwise that user could create the name first and read everything written there.
   */
  trustOwner?: number;
}

/** How {@link SharedMemory.open} joins a region. */
export type SharedMemoryAccess = 'read' | 'readwrite';

export interface OpenOnlySharedMemoryOptions extends OpenSharedMemoryOptions {
  /**
   * `'readwrite'` [default] or `'read'`: the file is opened read-only (so a region whose mode lets
   * this user read but not write, e.g. another user's 0644 region, can be joined) and mapped
   * `PROT_READ`. Nothing can be written: {@link SharedMemory.buffer} and the mutexes throw
   * `ERR_SHM_READ_ONLY`, and {@link SharedMemory.read} gives copies.
   */
  access?: SharedMemoryAccess;
}

export interface SharedMemoryOptions extends OpenSharedMemoryOptions {
  /** Permission bits of a region this call creates [0o600: the creating user only]. */
  mode?: number;
  /** How many mutexes the region holds (1 to 64) [1]. With createOrOpen, an existing region must match. */
  mutexes?: number;
  /**
   * Whether a region this call creates has all its memory allocated now [true]. `false` (like .NET's
   * `MemoryMappedFileOptions.DelayAllocatePages`) only checks that /dev/shm has room for it now
   * (`ENOSPC` otherwise) and lets the kernel allocate each page when it is first touched: a 1 GiB
   * region then costs only the pages used. If memory runs out later, the page that cannot be
   * allocated faults like a truncated one: it reads as zeros here, what is written to it reaches no
   * other process, {@link SharedMemory.truncated} turns true and lock operations fail with
   * `ERR_SHM_TRUNCATED` (with `RAWBRIGHT_NO_SIGBUS_GUARD=1`, the process dies of SIGBUS instead).
   */
  reserve?: boolean;
}

export interface LockOptions {
  /**
   * Milliseconds to wait before giving up with `ETIMEDOUT` [wait forever]. 0 tries once.
   * At most 2^31 − 1, or `Infinity`.
   */
  timeout?: number;
}

function checkName(value: unknown): string {
  if (
    typeof value === 'string' &&
    value.length <= MAX_SHARED_MEMORY_NAME_LENGTH &&
    NAME_PATTERN.test(value)
  ) {
    return value;
  }
  throw invalidParameterError(
    'name',
    `a name of 1 to ${MAX_SHARED_MEMORY_NAME_LENGTH} letters, digits, '-', '_' or '.'`,
    value,
  );
}

function checkSize(value: unknown): number {
  if (typeof value === 'bigint' && value >= 0n && value <= BigInt(MAX_SHARED_MEMORY_SIZE))
    return Number(value);
  if (isInteger(value) && value >= 0 && value <= MAX_SHARED_MEMORY_SIZE) return value === 0 ? 0 : value;
  throw invalidParameterError('size', 'a whole number of bytes from 0 to 1 TiB', value);
}

// uid_t is 32 bits and (uid_t)-1 means "no change" to the kernel, so it is no one's uid.
const MAX_UID = 2 ** 32 - 2;

function checkTrustOwner(given: Record<string, unknown>): number | undefined {
  const uid = given.trustOwner;
  if (uid === undefined) return undefined;
  if (isInteger(uid) && uid >= 0 && uid <= MAX_UID) return uid === 0 ? 0 : uid;
  throw invalidParameterError('trustOwner', `a uid from 0 to ${MAX_UID}`, uid);
}

function checkCreateOptions(value: unknown): {
  mode: number;
  mutexes: number;
  reserve: boolean;
  trustOwner: number | undefined;
} {
  const given = optionsObject('options', value);
  const mode = given.mode ?? 0o600;
  if (!isInteger(mode) || mode < 0 || mode > 0o777) {
    throw invalidParameterError('mode', 'a permission mask from 0 to 0o777', given.mode);
  }
  const mutexes = given.mutexes ?? 1;
  if (!isInteger(mutexes) || mutexes < 1 || mutexes > MAX_SHARED_MEMORY_MUTEXES) {
    throw invalidParameterError(
      'mutexes',
      `an integer from 1 to ${MAX_SHARED_MEMORY_MUTEXES}`,
      given.mutexes,
    );
  }
  const reserve = given.reserve ?? true;
  if (typeof reserve !== 'boolean') throw invalidParameterError('reserve', 'true or false', given.reserve);
  return { mode, mutexes, reserve, trustOwner: checkTrustOwner(given) };
}

function checkTimeout(value: unknown): number {
  if (value === undefined || value === Number.POSITIVE_INFINITY) return Number.POSITIVE_INFINITY;
  if (typeof value === 'number' && value >= 0 && value <= MAX_TIMEOUT_MS) return value;
  throw invalidParameterError('timeout', 'a number of milliseconds from 0 to 2^31 - 1, or Infinity', value);
}

// Addon errors (plain Errors with a code) become RawbrightErrors with the same code and message.
function rethrown<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw asRawbrightError(error);
  }
}

function closedError(name: string, path: string): RawbrightError {
  return new RawbrightError('ERR_CLOSED', `shared memory region "${name}" is closed`, { path });
}

// Regions this thread has open, closed on 'exit' so a normal end never leaves a name behind.
const openRegions = new Set<WeakRef<SharedMemory>>();
const forgetRegion = new FinalizationRegistry<WeakRef<SharedMemory>>((ref) => openRegions.delete(ref));
let exitHookInstalled = false;

function closeAllOnExit(): void {
  for (const ref of [...openRegions]) ref.deref()?.close();
}

const constructionToken = Symbol('SharedMemory');

/**
 * A named region of memory shared between processes, with one or more robust mutexes.
 *
 * @example
 * ```ts
 * using region = SharedMemory.create('progress', 4096);
 * {
 *   using guard = await region.mutex.lock({ timeout: 1000 });
 *   new Uint8Array(region.buffer)[0] = 1;
 * }
 * ```
 */
export class SharedMemory implements Disposable {
  /** The region's name, as given. */
  readonly name: string;
  /** Where the region lives while it has a name: `/dev/shm/rawbright.<name>`. */
  readonly path: string;
  /** The number of bytes in {@link SharedMemory.buffer}. */
  readonly size: number;
  /** Whether this call created the region (always true for create, false for open). */
  readonly created: boolean;
  /** How many mutexes the region holds. */
  readonly mutexCount: number;
  /** The uid that owns the region's file (this user's, or the one passed as `trustOwner`). */
  readonly owner: number;
  /** `'read'` for a region opened with `{ access: 'read' }`, else `'readwrite'`. */
  readonly access: SharedMemoryAccess;

  readonly #handle: NativeSharedMemoryHandle;
  readonly #ref: WeakRef<SharedMemory>;
  readonly #mutexes = new Map<number, Mutex>();
  #buffer: ArrayBuffer | undefined;
  // What the mutexes' JavaScript fast path needs (null: none for this attachment), fetched once.
  #fast: NativeFastLock | null | undefined;
  #closed = false;

  /** @internal Use {@link SharedMemory.create}, {@link SharedMemory.open} or {@link SharedMemory.createOrOpen}. */
  constructor(token: symbol, handle: NativeSharedMemoryHandle) {
    if (token !== constructionToken) {
      throw new RawbrightError(
        'ERR_ILLEGAL_CONSTRUCTOR',
        'use SharedMemory.create, SharedMemory.open or SharedMemory.createOrOpen',
      );
    }
    this.#handle = handle;
    const info = handle.info();
    this.name = info.name;
    this.path = info.path;
    this.size = info.size;
    this.created = info.created;
    this.mutexCount = info.mutexCount;
    this.owner = info.owner;
    this.access = info.readOnly ? 'read' : 'readwrite';
    this.#ref = new WeakRef(this);
    openRegions.add(this.#ref);
    forgetRegion.register(this, this.#ref, this);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      process.on('exit', closeAllOnExit);
    }
  }

  /**
   * Creates a new region of `size` bytes, zero-filled, with its memory reserved now (so writes can
   * never fail for want of memory later) unless `reserve: false` says to allocate pages on first touch. A region of the same name left by processes that all died
   * is reclaimed first.
   * @param name - 1 to 240 letters, digits, `-`, `_` or `.`.
   * @param size - bytes, from 0 to 1 TiB (past 4 GiB, reached through {@link SharedMemory.window}).
   * @param options - `mode` [0o600], `mutexes` [1], `reserve` [true]. `trustOwner` is checked but
   *   plays no part: the region made is this user's.
   * @returns the region, open in this process.
   * @throws `EEXIST` if a region of that name is in use; `ERR_INVALID_ARG_VALUE` for a bad name, size
   *   or option; `ENOSPC` if /dev/shm has no room; `ERR_SHM_BUSY` if the name stayed locked.
   */
  static create(name: string, size: number | bigint, options?: SharedMemoryOptions): SharedMemory {
    const checkedName = checkName(name);
    const checkedSize = checkSize(size);
    const { mode, mutexes, reserve } = checkCreateOptions(options);
    return new SharedMemory(
      constructionToken,
      rethrown(() =>
        native.createSharedMemory(checkedName, checkedSize, mode, mutexes, false, undefined, reserve),
      ),
    );
  }

  /**
   * Opens an existing region by name. Its owner and header are checked (magic, version, sizes,
   * architecture, the file's size).
   * @param name - the region's name.
   * @param options - `trustOwner`: a uid whose region may be joined besides this user's [none];
   *   `access`: `'read'` to open it read-only [`'readwrite'`].
   * @returns the region, open in this process.
   * @throws `ERR_SHM_FOREIGN_OWNER` if the region belongs to another user who is not trusted;
   *   `ENOENT` if there is no such region (a stale one, whose users all died, counts as none and is
   *   removed); `EACCES` if its mode forbids it; `ERR_SHM_INVALID` if the name holds something that
   *   is not a rawbright region; `ERR_SHM_INCOMPATIBLE` if another version or architecture made it.
   * @example
   * ```ts
   * // A region that the service account (uid 990) creates for this user to read:
   * using region = SharedMemory.open('status', { trustOwner: 990 });
   * ```
   */
  static open(name: string, options?: OpenOnlySharedMemoryOptions): SharedMemory {
    const checkedName = checkName(name);
    const given = optionsObject('options', options);
    const trustOwner = checkTrustOwner(given);
    const access = given.access ?? 'readwrite';
    if (access !== 'read' && access !== 'readwrite') {
      throw invalidParameterError('access', "'read' or 'readwrite'", given.access);
    }
    return new SharedMemory(
      constructionToken,
      rethrown(() => native.openSharedMemory(checkedName, trustOwner, access === 'read')),
    );
  }

  /**
   * Opens the region if it exists, else creates it; {@link SharedMemory.created} tells which.
   * Races between processes are safe: exactly one creates, the others open.
   * @param name - the region's name.
   * @param size - bytes; an existing region must have exactly this size.
   * @param options - `mode` [0o600] and `reserve` [true] (used only when creating), `mutexes` [1]
   *   (must match), `trustOwner` (a uid whose existing region may be joined besides this user's) [none].
   * @throws `ERR_SHM_FOREIGN_OWNER` if the name holds another user's region and that user is not
   *   trusted; `ERR_SHM_MISMATCH` if the existing region has another size or mutex count; and the
   *   errors of {@link SharedMemory.create} and {@link SharedMemory.open}.
   */
  static createOrOpen(name: string, size: number | bigint, options?: SharedMemoryOptions): SharedMemory {
    const checkedName = checkName(name);
    const checkedSize = checkSize(size);
    const { mode, mutexes, reserve, trustOwner } = checkCreateOptions(options);
    return new SharedMemory(
      constructionToken,
      rethrown(() =>
        native.createSharedMemory(checkedName, checkedSize, mode, mutexes, true, trustOwner, reserve),
      ),
    );
  }

  /**
   * Removes a region's name now, like POSIX `shm_unlink`, whether or not processes have it open: they
   * keep using its memory (freed when the last of them closes), no one can open it any more, and the
   * name is free for a new region at once (closing the old one never removes the new one).
   * @param name - the region's name.
   * @returns true if a region was removed, false if there was none of that name.
   * @throws `ERR_SHM_FOREIGN_OWNER` if the name holds another user's region; `ERR_SHM_INVALID` /
   *   `ERR_SHM_INCOMPATIBLE` if it holds something that is not provably a region (left as it is);
   *   `ERR_INVALID_ARG_VALUE` for a bad name.
   */
  static unlink(name: string): boolean {
    const checkedName = checkName(name);
    return rethrown(() => native.unlinkSharedMemory(checkedName));
  }

  /**
   * Removes every stale region of this user's in /dev/shm: rawbright regions that no process holds
   * any more because all their users died without closing. Regions in use, other users' regions, and
   * any file that is not provably a region (whole header checked against the file) are left alone.
   * @returns the names of the regions removed.
   */
  static cleanup(): string[] {
    return rethrown(() => native.cleanupSharedMemory());
  }

  /**
   * The region's bytes, shared with every process that has it open. The same ArrayBuffer each time;
   * {@link SharedMemory.close} detaches it (every view then has length 0).
   * @throws `ERR_CLOSED` after close; `ERR_SHM_READ_ONLY` for a region opened with `access: 'read'`
   *   (use {@link SharedMemory.read}: a writable view of read-only memory would crash on write);
   *   `ERR_SHM_TOO_LARGE` for a region over 4 GiB (use {@link SharedMemory.window}).
   */
  get buffer(): ArrayBuffer {
    if (this.#closed) throw closedError(this.name, this.path);
    if (this.#buffer === undefined) this.#buffer = rethrown(() => this.#handle.buffer());
    return this.#buffer;
  }

  /**
   * An ArrayBuffer over `length` bytes of the region from `offset` (like a MappedFile window): the way
   * to reach a region over 4 GiB. A new ArrayBuffer each call, sharing the region's memory (no copy);
   * {@link SharedMemory.close} detaches every one.
   * @param offset - from 0 to {@link SharedMemory.size}, any byte.
   * @param length - at most 4 GiB and the bytes left [to the end, if that is at most 4 GiB].
   * @throws `ERR_OUT_OF_RANGE` past the end or over 4 GiB; `ERR_SHM_READ_ONLY` for a read-only region;
   *   `ERR_CLOSED` after close.
   */
  window(offset: number, length?: number): ArrayBuffer {
    if (this.#closed) throw closedError(this.name, this.path);
    if (!isInteger(offset) || offset < 0)
      throw invalidParameterError('offset', 'a non-negative integer', offset);
    const count = length ?? Math.max(0, this.size - offset);
    if (!isInteger(count) || count < 0)
      throw invalidParameterError('length', 'a non-negative integer', length);
    return rethrown(() => this.#handle.window(offset, count));
  }

  /**
   * A copy of the region's bytes from `offset` (of `length` bytes, or to the end), in an ArrayBuffer
   * of its own: the way to read a region opened with `access: 'read'` (e.g. `readObject(region.read())`).
   * @throws `ERR_OUT_OF_RANGE` past the end; `ERR_CLOSED` after close.
   */
  read(offset = 0, length?: number): Uint8Array {
    if (this.#closed) throw closedError(this.name, this.path);
    if (!isInteger(offset) || offset < 0)
      throw invalidParameterError('offset', 'a non-negative integer', offset);
    const count = length ?? Math.max(0, this.size - offset);
    if (!isInteger(count) || count < 0)
      throw invalidParameterError('length', 'a non-negative integer', length);
    return new Uint8Array(rethrown(() => this.#handle.read(offset, count)));
  }

  /** Whether {@link SharedMemory.close} has run. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * True once another process truncated the region's file below its size. The lost pages read as
   * zeros in this process (instead of killing it with SIGBUS) and nothing written to them reaches the
   * other processes; from the first touch of such a page, every lock operation (`unlock()` included)
   * fails with `ERR_SHM_TRUNCATED`. False once closed.
   */
  get truncated(): boolean {
    if (this.#closed) return false;
    return rethrown(() => this.#handle.truncated());
  }

  /** The region's first mutex (same object each time). @throws `ERR_CLOSED` after close. */
  get mutex(): Mutex {
    return this.mutexAt(0);
  }

  /**
   * One of the region's mutexes (same object each time for an index).
   * @param index - from 0 to {@link SharedMemory.mutexCount} − 1.
   * @throws `ERR_OUT_OF_RANGE` for an index past the last mutex; `ERR_CLOSED` after close;
   *   `ERR_SHM_READ_ONLY` for a region opened with `access: 'read'` (locking writes the lock word).
   */
  mutexAt(index: number): Mutex {
    if (this.#closed) throw closedError(this.name, this.path);
    if (!isInteger(index) || index < 0) throw invalidParameterError('index', 'a non-negative integer', index);
    let mutex = this.#mutexes.get(index);
    if (mutex === undefined) {
      const handle = rethrown(() => this.#handle.mutex(index));
      if (this.#fast === undefined) this.#fast = rethrown(() => this.#handle.fastLock()) ?? null;
      mutex = new Mutex(constructionToken, handle, this, this.#fast, index);
      this.#mutexes.set(index, mutex);
    }
    return mutex;
  }

  /**
   * Closes the region in this process: detaches {@link SharedMemory.buffer}, rejects pending locks
   * with `ERR_CLOSED`, releases mutexes this process holds (their next locker is told they were
   * abandoned), unmaps, and removes the name if no other process has the region open.
   * Closing twice does nothing.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    openRegions.delete(this.#ref);
    forgetRegion.unregister(this);
    for (const mutex of this.#mutexes.values()) mutex[closeMutex]();
    this.#handle.close();
    this.#buffer = undefined;
  }

  /** Same as {@link SharedMemory.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

const closeMutex = Symbol('closeMutex');
const releaseGuard = Symbol('releaseGuard');

interface Waiter {
  start(): void;
  fail(error: Error): void;
}

/**
 * A robust, process-shared mutex inside a {@link SharedMemory} region.
 *
 * The lock belongs to this Mutex object (so to this process): `lock()` calls on the same object
 * queue one behind the other, and other processes (or other SharedMemory objects of the same region)
 * wait for it. If a holder dies or closes the region without unlocking, the next locker gets the lock
 * with `abandoned: true`: the data it guards may be half-updated. A lock word that holds a value
 * rawbright never writes (damage, another program) is taken the same way, with `abandoned: true`.
 */
export class Mutex {
  readonly #handle: NativeMutexHandle;
  readonly #name: string;
  readonly #path: string;
  #state: 'idle' | 'acquiring' | 'held' | 'closed' = 'idle';
  #generation = 0;
  readonly #waiters: Waiter[] = [];
  // The fast path: the lock word itself (an Int32Array over the region's lock word slots, this
  // mutex's word at #slot), this attachment's token, and the SIGBUS guard's fault flag. An
  // uncontended tryLock is one compare-exchange 0 -> token, an unlock one token -> 0, with no call
  // into the addon; any other value (a holder, a sleeper's bit, an abandoned word, a dead holder to
  // take over) and any caught SIGBUS go the native way, which knows the whole protocol. #fastHeld:
  // the current hold was taken that way (the native object does not know of it until adopt()).
  readonly #words: Int32Array | undefined;
  readonly #slot: number;
  readonly #token: number;
  readonly #faults: Int32Array | undefined;
  #fastHeld = false;

  // Keeps the region object alive (and so closed on 'exit') for as long as its mutex is in use.
  readonly #region: SharedMemory;

  /** @internal Mutexes come from {@link SharedMemory.mutex} and {@link SharedMemory.mutexAt}. */
  constructor(
    token: symbol,
    handle: NativeMutexHandle,
    region: SharedMemory,
    fast: NativeFastLock | null,
    index: number,
  ) {
    if (token !== constructionToken) {
      throw new RawbrightError('ERR_ILLEGAL_CONSTRUCTOR', 'use SharedMemory.mutex or SharedMemory.mutexAt');
    }
    this.#handle = handle;
    this.#region = region;
    this.#name = region.name;
    this.#path = region.path;
    this.#words = fast === null ? undefined : new Int32Array(fast.words);
    this.#slot = fast === null ? 0 : (index * fast.slotSize) / 4;
    this.#token = fast === null ? 0 : fast.token;
    this.#faults = fast === null ? undefined : new Int32Array(fast.faults);
  }

  /** The region this mutex lives in. */
  get region(): SharedMemory {
    return this.#region;
  }

  /** Whether this Mutex object holds the lock now. */
  get locked(): boolean {
    return this.#state === 'held';
  }

  /**
   * Waits for the lock without blocking the event loop.
   * @param options - `timeout` in milliseconds [forever].
   * @returns a guard: `guard.abandoned` tells whether the previous holder died (or closed) holding it;
   *   `guard.unlock()` or `using guard = await mutex.lock()` releases it.
   * @throws (rejects) `ETIMEDOUT` when the timeout passes, `ERR_CLOSED` if the region is (or gets)
   *   closed, `ERR_SHM_TRUNCATED` if the region was truncated, `ERR_INVALID_ARG_VALUE` for a bad
   *   timeout.
   */
  lock(options?: LockOptions): Promise<MutexGuard> {
    let timeout: number;
    try {
      timeout = checkTimeout(optionsObject('options', options).timeout);
      if (this.#state === 'closed') throw closedError(this.#name, this.#path);
    } catch (error) {
      return Promise.reject(error);
    }
    const deadline = performance.now() + timeout;
    if (this.#state === 'idle' && this.#waiters.length === 0) return this.#acquire(timeout, deadline);
    return new Promise<MutexGuard>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter: Waiter = {
        start: () => {
          if (timer !== undefined) clearTimeout(timer);
          this.#acquire(timeout, deadline).then(resolve, reject);
        },
        fail: (error) => {
          if (timer !== undefined) clearTimeout(timer);
          reject(error);
        },
      };
      if (Number.isFinite(timeout)) {
        timer = setTimeout(() => {
          const index = this.#waiters.indexOf(waiter);
          if (index >= 0) this.#waiters.splice(index, 1);
          reject(this.#timeoutError(timeout));
        }, timeout);
      }
      this.#waiters.push(waiter);
    });
  }

  /**
   * Takes the lock if it is free right now, without waiting.
   * @returns a guard, or `null` if another holder (or this object) has it.
   * @throws `ERR_CLOSED` after the region is closed; `ERR_SHM_TRUNCATED` if it was truncated.
   */
  tryLock(): MutexGuard | null {
    if (this.#state === 'closed') throw closedError(this.#name, this.#path);
    if (this.#state !== 'idle') return null;
    const status = this.#tryTake();
    if (status < 0) return null;
    return this.#granted(status === 1);
  }

  // One attempt (the state is idle): -1 busy, 0 taken, 1 taken but abandoned. The fast path first.
  #tryTake(): number {
    const words = this.#words;
    const faults = this.#faults as Int32Array;
    if (words !== undefined && faults[0] === 0) {
      if (Atomics.compareExchange(words, this.#slot, 0, this.#token) === 0) {
        // A SIGBUS caught meanwhile: the native side tells whether this region's word was lost.
        if (faults[0] === 0) this.#fastHeld = true;
        else rethrown(() => this.#handle.adopt());
        return 0;
      }
    }
    return rethrown(() => this.#handle.tryLock());
  }

  /**
   * Releases the lock this object holds (what the guard's `unlock()` does). The hold ends even when
   * this throws.
   * @throws `ERR_NOT_LOCKED` if this object does not hold it; `ERR_CLOSED` after close;
   *   `ERR_SHM_LOCK_BROKEN` if another process rewrote the lock word while this object held it (the
   *   word is left as they made it: mutual exclusion was broken, check the data);
   *   `ERR_SHM_TRUNCATED` if the region was truncated (what was written may be lost).
   */
  unlock(): void {
    if (this.#state === 'closed') throw closedError(this.#name, this.#path);
    if (this.#state !== 'held') {
      throw new RawbrightError(
        'ERR_NOT_LOCKED',
        `the mutex of shared memory region "${this.#name}" is not locked here`,
        {
          path: this.#path,
        },
      );
    }
    this.#generation += 1;
    try {
      if (this.#fastHeld) this.#fastUnlock();
      else rethrown(() => this.#handle.unlock());
    } finally {
      this.#state = 'idle';
      this.#next();
    }
  }

  // Frees a hold the fast path took: token -> 0 when the word shows exactly our token. Otherwise
  // (a sleeper's bit: wake one; a word someone rewrote: ERR_SHM_LOCK_BROKEN; a caught SIGBUS) the
  // native object adopts the hold and unlocks it, with the native errors.
  #fastUnlock(): void {
    this.#fastHeld = false;
    const faults = this.#faults as Int32Array;
    if (faults[0] === 0) {
      if (Atomics.compareExchange(this.#words as Int32Array, this.#slot, this.#token, 0) === this.#token) {
        if (faults[0] !== 0) rethrown(() => this.#handle.checkFault());
        return;
      }
    }
    rethrown(() => this.#handle.adopt());
    rethrown(() => this.#handle.unlock());
  }

  /** @internal The guard's unlock: only if its hold is still the current one. */
  [releaseGuard](generation: number): void {
    if (this.#state === 'held' && generation === this.#generation) this.unlock();
  }

  /** @internal Called by SharedMemory.close before the native side shuts the mutex down. */
  [closeMutex](): void {
    if (this.#fastHeld) {
      // Handed to the native object, whose close marks the word so the next locker hears of it.
      this.#fastHeld = false;
      try {
        this.#handle.adopt();
      } catch {
        // Truncated: the word taken was a private zero page; nothing to release.
      }
    }
    this.#state = 'closed';
    this.#generation += 1;
    const error = closedError(this.#name, this.#path);
    for (const waiter of this.#waiters.splice(0)) waiter.fail(error);
  }

  async #acquire(timeout: number, deadline: number): Promise<MutexGuard> {
    this.#state = 'acquiring';
    let status: number;
    try {
      status = this.#tryTake();
      if (status < 0) {
        const remaining = Number.isFinite(timeout) ? Math.max(0, deadline - performance.now()) : -1;
        if (remaining === 0) throw this.#timeoutError(timeout);
        status = await this.#handle.lockAsync(remaining).catch((error: unknown) => {
          throw asRawbrightError(error);
        });
        if (status === 2) throw this.#timeoutError(timeout);
      }
    } catch (error) {
      if (this.#state === 'acquiring') {
        this.#state = 'idle';
        this.#next();
      }
      throw error;
    }
    // The region may have been closed while the lock was awaited (the native side let go of it then).
    if (this.#isClosed()) throw closedError(this.#name, this.#path);
    return this.#granted(status === 1);
  }

  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  #granted(abandoned: boolean): MutexGuard {
    this.#state = 'held';
    this.#generation += 1;
    return new MutexGuard(this, this.#generation, abandoned);
  }

  #next(): void {
    if (this.#state !== 'idle') return;
    const waiter = this.#waiters.shift();
    waiter?.start();
  }

  #timeoutError(timeout: number): RawbrightError {
    return new RawbrightError(
      'ETIMEDOUT',
      `timed out after ${timeout} ms waiting for the mutex of shared memory region "${this.#name}"`,
      { path: this.#path },
    );
  }
}

/** Proof of holding a {@link Mutex}; releasing it twice does nothing. */
export class MutexGuard implements Disposable {
  /** True if the previous holder died or closed its region while holding the lock. */
  readonly abandoned: boolean;
  readonly #mutex: Mutex;
  readonly #generation: number;

  /** @internal */
  constructor(mutex: Mutex, generation: number, abandoned: boolean) {
    this.#mutex = mutex;
    this.#generation = generation;
    this.abandoned = abandoned;
  }

  /** Releases the lock, if this guard's hold is still current (no-op otherwise). */
  unlock(): void {
    this.#mutex[releaseGuard](this.#generation);
  }

  /** Same as {@link MutexGuard.unlock}, for `using`. */
  [Symbol.dispose](): void {
    this.unlock();
  }
}
