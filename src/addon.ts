/**
 * The only module that loads the C++ addon (build/Release/rawbright.node), and its types.
 * Everything here is private to rawbright: the public API wraps it with validation.
 */
import { fileURLToPath } from 'node:url';

/** A byte-range lock found by F_OFD_GETLK; `length` 0 means to the end of the file, `pid` is -1 for OFD locks. */
export interface NativeRangeHolder {
  start: number;
  length: number;
  exclusive: boolean;
  pid: number;
}

/** An open regular file inside the addon. Closed handles throw `ERR_CLOSED`. */
export interface NativeFileHandle {
  size(): number;
  close(): void;
  isClosed(): boolean;
  lock(exclusive: boolean, wait: boolean): void;
  lockAsync(exclusive: boolean): Promise<void>;
  unlock(): void;
  /** An OFD byte-range lock over [offset, offset + length) (length 0: to the end), at once or ERR_RANGE_LOCKED. */
  lockRange(offset: number, length: number, exclusive: boolean): void;
  unlockRange(offset: number, length: number): void;
  /** The lock that would refuse lockRange(offset, length, exclusive), or undefined (F_OFD_GETLK). */
  rangeHolder(offset: number, length: number, exclusive: boolean): NativeRangeHolder | undefined;
  /** Maps [offset, offset + length) as an external ArrayBuffer; shared = MAP_SHARED, else private copy-on-write. */
  map(offset: number, length: number, shared: boolean): ArrayBuffer;
  read(position: number, buffer: ArrayBuffer, offset: number, length: number): number;
  write(position: number, buffer: ArrayBuffer, offset: number, length: number): number;
  sync(): void;
  syncAsync(): Promise<void>;
  syncRange(offset: number, length: number, wait: boolean): void;
  /** Gives back what a refused allocation got: the range's holes are punched again, a grown size cut back. */
  allocate(offset: number, length: number): void;
  /** What the open descriptor is (fstat, fstatfs): a regular file or not, and its file system's f_type. */
  fileKind(): { regular: boolean; fsType: number };
  /** A `user.rawbright.<name>` extended attribute of the file, or undefined. */
  getMarker(name: string): string | undefined;
  /** Sets it; false where the file system keeps no user attributes. */
  setMarker(name: string, value: string): boolean;
  removeMarker(name: string): void;
  /** The names of the file's `user.rawbright.*` attributes, without the prefix; undefined where the file system keeps none. */
  listMarkers(): string[] | undefined;
  /** Extends the file, preallocated, to at least `capacity` bytes; never shrinks it. ERR_READ_ONLY on a read-only handle. */
  grow(capacity: number): void;
  growAsync(capacity: number): Promise<void>;
  /** Registers this file as `name` in `directory` (native/named_map.cc); EEXIST while a live user holds the name. */
  registerName(directory: string, name: string, access: string): void;
  /** Gives up the name (the last user removes it) and keeps the file open. */
  releaseName(): void;
  /** The path the handle was opened by (for a descriptor: where /proc says it is, or `fd N`). */
  path(): string;
  /** Closes the caller's descriptor `fd` too when this handle closes (fromFd without leaveOpen). */
  own(fd: number): void;
}

/** What {@link NativeAddon.openNamedFile} gives: the new handle, the file's path now, the registrant's access. */
export interface NativeNamedFile {
  handle: NativeFileHandle;
  path: string;
  access: string;
}

export interface NativeAddon {
  openFile(path: string, writable: boolean): NativeFileHandle;
  openFileAsync(path: string, writable: boolean): Promise<NativeFileHandle>;
  createFile(path: string, size: number, overwrite: boolean): NativeFileHandle;
  createFileAsync(path: string, size: number, overwrite: boolean): Promise<NativeFileHandle>;
  /** A handle over a duplicate of a caller's descriptor, checked against `writable` (fcntl F_GETFL, fstat). */
  openDescriptor(fd: number, writable: boolean): NativeFileHandle;
  /** Opens the file registered as `name` in `directory` with `access`; ENOENT for an unknown name. */
  openNamedFile(directory: string, name: string, access: string): NativeNamedFile;

  unmap(buffer: ArrayBuffer): void;
  flush(buffer: ArrayBuffer, offset: number, length: number, sync: boolean): void;
  flushAsync(buffer: ArrayBuffer, offset: number, length: number): Promise<void>;
  advise(buffer: ArrayBuffer, offset: number, length: number, advice: string): void;
  populate(buffer: ArrayBuffer, offset: number, length: number, writable: boolean): string;
  address(buffer: ArrayBuffer): bigint;
  liveWindows(): number;
  readonly pageSize: number;
  readonly allocationGranularity: number;

  overlay(
    memory: ArrayBuffer,
    arenaOffset: number,
    file: NativeFileHandle,
    fileOffset: number,
    length: number,
    shared: boolean,
  ): void;
  releaseOverlay(memory: ArrayBuffer, arenaOffset: number): void;
  liveOverlays(): number;
  readonly canOverlay: boolean;

  /**
   * Brightens [offset, offset + length) of buffer in place (see native/brighten.cc); length must be a
   * multiple of 2 * bands, delta a whole number from -65535 to 65535 or an array of `bands` of them (one per
   * band). signed: int16 samples (else uint16); alpha: change the alpha band too (the last of 2 and 4);
   * bands: samples per pixel [4]; bigEndian: samples byte-swapped [false]; max: uint16's largest result [65535].
   */
  brighten(
    buffer: ArrayBuffer,
    offset: number,
    length: number,
    delta: number | readonly number[],
    signed: boolean,
    alpha: boolean,
    bands?: number,
    bigEndian?: boolean,
    max?: number,
  ): void;
  /**
   * The adjust tables in place (native/brighten.cc): each of the first `changed` samples of every pixel of
   * [offset, offset + length) becomes its band's entry in `tables`, `changed` tables of 65,536 uint16 back to back
   * (or one table of 65,536 that every changed band shares), indexed by the sample's bytes read in the host's
   * order.
   */
  applyTables(
    buffer: ArrayBuffer,
    offset: number,
    length: number,
    tables: ArrayBuffer,
    bands: number,
    changed: number,
  ): void;
  /**
   * A linear adjust chain in place as exact f64 arithmetic (native/brighten.cc, applyLinear): `program` from
   * src/kernels/linear.ts with `ops` ops, the first `changed` of `bands` samples of each pixel changed, results
   * clamped to [lo, hi] after every op and rounded half to even.
   */
  applyLinear(
    buffer: ArrayBuffer,
    offset: number,
    length: number,
    program: ArrayBuffer,
    ops: number,
    bands: number,
    changed: number,
    signed: boolean,
    bigEndian: boolean,
    lo: number,
    hi: number,
  ): void;
  /** memcpy (memmove if the ranges overlap): the memory-bandwidth reference for benchmarks. */
  copyBytes(dst: ArrayBuffer, dstOffset: number, src: ArrayBuffer, srcOffset: number, length: number): void;
  /** CRC-32 of the bytes as zlib.crc32(bytes, value) gives it, at memory speed (checksum.cc). */
  crc32(buffer: ArrayBuffer, offset: number, length: number, value?: number): number;
  /** Copies the bytes (ranges must not overlap) and returns the CRC-32 of the copy: the journal's save. */
  copyWithCrc32(
    dst: ArrayBuffer,
    dstOffset: number,
    src: ArrayBuffer,
    srcOffset: number,
    length: number,
  ): number;
  /**
   * unlink(path) now; the inode's last release (which waits for pages under writeback) in a detached
   * process when some are (or `always`), detach.cc. Throws unlink's errors (ENOENT, ...).
   */
  unlinkDetached(path: string, always?: boolean): void;
  /** The vector path brighten runs on this CPU: 'avx2', 'sse2' or 'scalar'. */
  readonly brightenPath: string;

  /** True when the SIGBUS guard is installed (native/sigbus.cc; RAWBRIGHT_NO_SIGBUS_GUARD=1 turns it off). */
  readonly sigbusGuard: boolean;
  /** Whether the mapping (window or overlay) holding buffer[offset] took a SIGBUS: pages truncated away. */
  mappingFaulted(buffer: ArrayBuffer, offset: number): boolean;
  /** SIGBUS faults the guard has turned into zero pages in this process. */
  sigbusFaults(): number;

  /**
   * Creates (orOpen: or opens) /dev/shm/rawbright.<name> (see native/shared_memory.cc). An existing
   * region must belong to this user or to trustOwner (ERR_SHM_FOREIGN_OWNER).
   */
  createSharedMemory(
    name: string,
    size: number,
    mode: number,
    mutexCount: number,
    orOpen: boolean,
    trustOwner: number | undefined,
    reserve?: boolean,
  ): NativeSharedMemoryHandle;
  /** Opens an existing region; ENOENT if there is none (a stale one is reclaimed first). */
  openSharedMemory(
    name: string,
    trustOwner: number | undefined,
    readOnly?: boolean,
  ): NativeSharedMemoryHandle;
  /** Removes every stale region of this user's; returns their names. */
  cleanupSharedMemory(): string[];
  /** Removes the name of a region of this user's, in use or not; false if there was no such name. */
  unlinkSharedMemory(name: string): boolean;
  FutexWaiter: new (buffer: ArrayBuffer) => NativeFutexWaiter;
  /** Wakes up to count waiters (in any process) on the 4-byte word at byteOffset; returns how many. */
  futexWake(buffer: ArrayBuffer, byteOffset: number, count: number): number;
  /** sched_yield(): lets another runnable thread of this core run. */
  schedYield(): void;
  readonly sharedMemoryLimits: {
    readonly supported: boolean;
    readonly directory: string;
    readonly prefix: string;
    readonly maxNameLength: number;
    readonly maxSize: number;
    readonly maxMutexes: number;
  };
}

/**
 * A thread that sleeps in FUTEX_WAIT on a word of a region's data (native/ipc.cc), one wait at a time.
 * wait resolves 0 (woken, or the word differs from expected), 1 (timed out), 2 (cancelled/closed);
 * timeoutMs < 0 waits forever.
 */
export interface NativeFutexWaiter {
  wait(byteOffset: number, expected: number, timeoutMs: number): Promise<0 | 1 | 2>;
  cancel(): void;
  close(): void;
}

/** One attachment to a shared memory region. After close() every method throws ERR_CLOSED. */
export interface NativeSharedMemoryHandle {
  /** The data as one external ArrayBuffer (the same one each call); close() detaches it. */
  buffer(): ArrayBuffer;
  info(): {
    name: string;
    path: string;
    size: number;
    mutexCount: number;
    created: boolean;
    owner: number;
    readOnly: boolean;
  };
  /** An external ArrayBuffer over `length` (at most 4 GiB) data bytes from `offset`; close() detaches it. */
  window(offset: number, length: number): ArrayBuffer;
  /** A copy of `length` data bytes from `offset`, in a new ArrayBuffer. */
  read(offset: number, length: number): ArrayBuffer;
  /** A handle on mutex `index` (all handles of one index and attachment share one lock holder). */
  mutex(index: number): NativeMutexHandle;
  /** Whether another process truncated the region's file below its mapping. */
  truncated(): boolean;
  /**
   * What the mutexes' JavaScript fast path needs; undefined for a read-only attachment or an
   * unwatched mapping (no SIGBUS guard). `words` (detached by close) holds lock word i at byte
   * i * slotSize; `faults` is the SIGBUS guard's flag word (0 until a fault was caught).
   */
  fastLock(): NativeFastLock | undefined;
  close(): void;
  isClosed(): boolean;
}

/** Lock results: -1 busy, 0 acquired, 1 acquired but abandoned by its previous holder, 2 timed out. */
export interface NativeMutexHandle {
  tryLock(): -1 | 0 | 1;
  /** timeoutMs < 0 waits forever. Rejects with ERR_CLOSED if the region is closed meanwhile. */
  lockAsync(timeoutMs: number): Promise<0 | 1 | 2>;
  unlock(): void;
  isHeld(): boolean;
  /** Takes over a hold the fast path took on the word; ERR_SHM_TRUNCATED (not held) if truncated. */
  adopt(): void;
  /** ERR_SHM_TRUNCATED if the region was truncated (after a fast-path unlock). */
  checkFault(): void;
}

export interface NativeFastLock {
  words: ArrayBuffer;
  slotSize: number;
  token: number;
  faults: ArrayBuffer;
}

/**
 * The addon, built by `npm install` (node-gyp) into build/Release. Loaded as `require` loads a `.node` file
 * (process.dlopen into a module object of its own, once per thread: this module is the only one that loads
 * it), without require's resolution and `node:module`, which took about 1 ms of a small file's run on
 * Node 22 and 24.
 */
function loadAddon(): NativeAddon {
  const addon = { exports: {} };
  process.dlopen(addon, fileURLToPath(new URL('../build/Release/rawbright.node', import.meta.url)));
  return addon.exports as NativeAddon;
}

export const native: NativeAddon = loadAddon();
