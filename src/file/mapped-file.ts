/**
 * Memory-mapped files in windows of any offset and length, in the manner of .NET's
 * MemoryMappedFile and Rust's memmap2.
 *
 * See {@link MappedFile} for the Safety notes.
 */

import { type NativeFileHandle, native } from '../addon.js';
import { asRawbrightError, invalidParameterError, RawbrightError } from '../errors.js';
import {
  BYTE_COUNT,
  boolean,
  byteCount,
  integerInRange,
  MAX_WINDOW_BYTES,
  oneOf,
  optionalByteCount,
  options,
  type PathLike,
  pathArgument,
} from '../validate.js';
import { nativeHandle, registerHandle } from './handle.js';
import { mapName, mapNamesDirectory, trackNamed } from './named-map.js';
import {
  type StreamWindow,
  streamRange,
  type ViewStream,
  type ViewStreamOptions,
  type ViewWriteStreamOptions,
  WindowReadStream,
  WindowWriteStream,
} from './streams.js';

/**
 * How a file is opened:
 * - `'read'` (default): the file is never changed. Windows are mapped private, so JavaScript that
 *   writes into one changes only this process's copy of the page and never crashes the process.
 * - `'readwrite'`: windows are shared with the file; writes reach the file (see {@link Window.flush}).
 * - `'copy'`: copy-on-write: windows can be written, the writes stay in memory, the file never changes.
 */
/** statfs f_type of the pseudo file systems whose files are not data (linux/magic.h). */
const PSEUDO_FILE_SYSTEMS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0xcafe4a11, 'bpf'],
  [0x6165676c, 'pstore'],
  [0xde5e81e4, 'efivarfs'],
  [0x62656570, 'configfs'],
  [0x1cd1, 'devpts'],
  [0xf97cff8c, 'selinuxfs'],
  [0x65735543, 'fusectl'],
  [0x42494e4d, 'binfmt_misc'],
  [0x6e736673, 'nsfs'],
]);

export type Access = 'read' | 'readwrite' | 'copy';
/** Every {@link Access} value, for validation and help texts. */
export const ACCESS_MODES: readonly Access[] = ['read', 'readwrite', 'copy'];

/** Access-pattern advice for {@link Window.advise} (madvise). */
export type Advice = 'normal' | 'sequential' | 'random' | 'willneed' | 'dontneed' | 'hugepage';
/** Every {@link Advice} value. */
export const ADVICE: readonly Advice[] = [
  'normal',
  'sequential',
  'random',
  'willneed',
  'dontneed',
  'hugepage',
];

/** A {@link MappedFile.lock}: many shared holders, or one exclusive holder. */
export type LockKind = 'shared' | 'exclusive';
const LOCK_KINDS: readonly LockKind[] = ['shared', 'exclusive'];

/** A range lock that refuses {@link MappedFile.lockRange}: `length` 0 means to the end of the file; `pid` is -1 (OFD locks name no process). */
export interface RangeHolder {
  start: number;
  length: number;
  exclusive: boolean;
  pid: number;
}

/** Options of {@link MappedFile.open}. */
export interface OpenOptions {
  /** How to open the file ['read']. */
  access?: Access;
  /**
   * Register the open file under this name, so that other processes of the same user can open it
   * with {@link MappedFile.openExisting} [none]. 1 to 200 letters, digits, `-`, `_`, `.`.
   */
  name?: string;
  /**
   * Grow the file to at least this many bytes, allocated on disk, before it is mapped [none]. Needs
   * `access: 'readwrite'`; a capacity at or below the size changes nothing (the file never shrinks).
   */
  capacity?: number | bigint;
}

/** Options of {@link MappedFile.openExisting}. */
export interface OpenExistingOptions {
  /** How to open the file ['read']; `'readwrite'` only if it was registered `'readwrite'`. */
  access?: Access;
}

/** Options of {@link MappedFile.fromFd}. */
export interface FromFdOptions extends OpenOptions {
  /**
   * Leave the descriptor to the caller [false]. With `true`, rawbright works on a duplicate (dup) and
   * never closes `fd`: the caller closes it whenever it likes. With `false`, the MappedFile owns `fd`
   * and closes it on {@link MappedFile.close} (or when it is garbage collected): do not use or close
   * `fd` yourself afterwards.
   */
  leaveOpen?: boolean;
}

/** Options of {@link MappedFile.create}. */
export interface CreateOptions {
  /** The file's size in bytes; the space is allocated on disk now (required). */
  size: number | bigint;
  /** Replace an existing file [false]. The old file stays intact if the new one cannot be allocated. */
  overwrite?: boolean;
}

/** Options of {@link MappedFile.map}: the file bytes a window shows. */
export interface RangeOptions {
  /** First byte, counted from the start of the file [0]. */
  offset?: number | bigint;
  /** Number of bytes [the rest of the file]. */
  length?: number | bigint;
}

/** Options of {@link Window.flush}: the part of the window to write back. */
export interface FlushOptions {
  /** First byte to flush, counted from the start of the window [0]. */
  offset?: number | bigint;
  /** Number of bytes [the rest of the window]. */
  length?: number | bigint;
  /** Wait until the data is on disk (MS_SYNC) rather than only scheduling it [true]. */
  sync?: boolean;
}

function closedError(what: string, path: string): RawbrightError {
  return new RawbrightError('ERR_CLOSED', `${what} of ${path} is closed`, { path });
}

/** Calls into the addon, turning its errors into RawbrightErrors that name the file. */
function nativeCall<T>(path: string | undefined, action: () => T): T {
  try {
    return action();
  } catch (error) {
    throw asRawbrightError(error, path);
  }
}

async function nativeCallAsync<T>(path: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw asRawbrightError(error, path);
  }
}

function arrayBufferView(name: string, value: unknown): ArrayBufferView & { buffer: ArrayBuffer } {
  if (ArrayBuffer.isView(value) && value.buffer instanceof ArrayBuffer)
    return value as ArrayBufferView & { buffer: ArrayBuffer };
  throw invalidParameterError(name, 'a TypedArray, DataView or Buffer over an ArrayBuffer', value);
}

/**
 * A view of `length` bytes of a file starting at byte `offset`, whatever the alignment: the native
 * side maps from the page boundary below `offset` and hands back the view at the right delta.
 *
 * `close()` detaches {@link Window.buffer} (every view of it then reads `byteLength === 0`) and
 * unmaps at once. A window that is garbage collected without `close()` is unmapped by its finalizer.
 */
export class Window {
  readonly #file: MappedFile;
  #buffer: ArrayBuffer | undefined;
  /** Streams over this window that are still open, told when it closes. */
  readonly #streams = new Set<ViewStream>();
  /** The file byte at which this window starts. */
  readonly offset: number;
  /** The window's length in bytes. */
  readonly length: number;

  /** @internal Created by {@link MappedFile.map}. */
  constructor(file: MappedFile, buffer: ArrayBuffer, offset: number, length: number) {
    this.#file = file;
    this.#buffer = buffer;
    this.offset = offset;
    this.length = length;
  }

  /**
   * The window's bytes: an ArrayBuffer of exactly {@link Window.length} bytes.
   * @throws {RawbrightError} `ERR_CLOSED` once the window is closed.
   */
  get buffer(): ArrayBuffer {
    if (this.closed) throw closedError('a window', this.#file.path);
    return this.#buffer as ArrayBuffer;
  }

  /**
   * True once a page of this window that another program truncated away was touched: instead of
   * letting SIGBUS end the process, rawbright's guard (native/sigbus.cc) put zero pages there. Reads
   * since may have seen zeros, and writes since did not reach the file. False once closed.
   */
  get faulted(): boolean {
    const buffer = this.#buffer;
    if (buffer === undefined || buffer.byteLength === 0 || !native.sigbusGuard) return false;
    return native.mappingFaulted(buffer, 0);
  }

  /** True once {@link Window.close} ran (directly or through the file). */
  get closed(): boolean {
    // A detached buffer reads byteLength 0: the addon unmapped it (through the file's close()).
    return this.#buffer === undefined || (this.length > 0 && this.#buffer.byteLength === 0);
  }

  #range(opts: FlushOptions | undefined): [number, number] {
    const o = options('options', opts);
    const start = optionalByteCount('offset', o.offset, 0);
    const path = this.#file.path;
    if (start > this.length) {
      throw new RawbrightError('ERR_OUT_OF_RANGE', 'offset is larger than the window', { path });
    }
    const length = optionalByteCount('length', o.length, this.length - start);
    if (length > this.length - start) {
      throw new RawbrightError('ERR_OUT_OF_RANGE', 'length is past the end of the window', { path });
    }
    return [start, length];
  }

  /**
   * Writes changed pages of the window (or of a part of it) back to the file.
   * @param opts `{ offset = 0, length = rest of the window, sync = true }`.
   * @throws {RawbrightError} `ERR_CLOSED` once closed; an errno code (`EIO`, …) if the kernel fails.
   */
  flush(opts?: FlushOptions): void {
    const [start, length] = this.#range(opts);
    const sync = boolean('sync', opts?.sync, true);
    const buffer = this.buffer;
    nativeCall(this.#file.path, () => native.flush(buffer, start, length, sync));
  }

  /**
   * Like {@link Window.flush} with `sync: true`, on a worker thread: the event loop keeps running.
   * @param opts `{ offset = 0, length = rest of the window }`.
   * @throws {RawbrightError} as {@link Window.flush} (the promise rejects).
   */
  async flushAsync(opts?: Omit<FlushOptions, 'sync'>): Promise<void> {
    const [start, length] = this.#range(opts);
    const buffer = this.buffer;
    await nativeCallAsync(this.#file.path, () => native.flushAsync(buffer, start, length));
  }

  /**
   * Tells the kernel how the window will be used (madvise). `'dontneed'` drops the pages: a
   * `'readwrite'` window reads the file again (its writes are in the file already), but a `'read'`
   * or `'copy'` window loses the changes JavaScript made to it.
   * @param advice `'sequential' | 'random' | 'willneed' | 'dontneed' | 'hugepage' | 'normal'`.
   * @throws {RawbrightError} `ERR_INVALID_ARG_VALUE` for another value, `ERR_CLOSED` once closed.
   */
  advise(advice: Advice): void {
    const checked = oneOf('advice', advice, ADVICE);
    const buffer = this.buffer;
    nativeCall(this.#file.path, () => native.advise(buffer, 0, this.length, checked));
  }

  /**
   * Loads every page of the window now (MADV_POPULATE_WRITE for shared writable windows,
   * MADV_POPULATE_READ otherwise; touching each page on kernels before 5.14), so the work that
   * follows takes no page faults.
   * @returns The method the platform used (`'none'` for an empty window).
   * @throws {RawbrightError} `ERR_CLOSED` once closed; `EFAULT`/`EIO` if the file is now shorter than the window.
   */
  populate(): 'populate-write' | 'populate-read' | 'touch' | 'none' {
    const buffer = this.buffer;
    const method = nativeCall(this.#file.path, () =>
      native.populate(buffer, 0, this.length, this.#file.access === 'readwrite'),
    );
    return method as 'populate-write' | 'populate-read' | 'touch' | 'none';
  }

  /**
   * A Readable stream of the window's bytes (.NET's `CreateViewStream` for reading): Buffer chunks of
   * at most `highWaterMark` bytes, each a copy (valid after the window is closed), ending at the end
   * of the range. Closing the window before the stream has copied everything out makes the stream
   * fail with `ERR_CLOSED`.
   * @param opts `{ offset = 0, length = rest of the window, highWaterMark = 65536 }` (offset from the window's start).
   * @throws {RawbrightError} `ERR_OUT_OF_RANGE`, `ERR_INVALID_ARG_VALUE`, `ERR_CLOSED`.
   * @example
   * ```ts
   * for await (const chunk of window.createReadStream({ highWaterMark: 1 << 20 })) hash.update(chunk);
   * ```
   */
  createReadStream(opts?: ViewStreamOptions): WindowReadStream {
    if (this.closed) throw closedError('a window', this.#file.path);
    const source = this.#streamWindow();
    const [start, end, highWaterMark] = streamRange(source, opts);
    return new WindowReadStream(source, start, end, highWaterMark);
  }

  /**
   * A Writable stream into the window (.NET's `CreateViewStream` for writing): each chunk is copied to
   * the next bytes of the range. A chunk that does not fit before the end is refused whole, nothing
   * of it written, and the stream fails with `ERR_PAST_END`. Closing the window before the stream
   * ends makes it fail with `ERR_CLOSED`. `write()` returns false once `highWaterMark` bytes are
   * buffered: wait for `'drain'` (or use `stream.pipeline`).
   * @param opts `{ offset = 0, length = rest of the window, highWaterMark = 65536, flush = false }`; `flush`
   * msyncs the bytes written before `'finish'`.
   * @throws {RawbrightError} `ERR_READ_ONLY` for a window of a file opened `'read'`, `ERR_OUT_OF_RANGE`, `ERR_CLOSED`.
   */
  createWriteStream(opts?: ViewWriteStreamOptions): WindowWriteStream {
    if (this.closed) throw closedError('a window', this.#file.path);
    if (this.#file.access === 'read') {
      throw new RawbrightError(
        'ERR_READ_ONLY',
        `cannot write through a window of ${this.#file.path}: it was opened 'read' (use 'readwrite', or 'copy' for private writes)`,
        { path: this.#file.path },
      );
    }
    const source = this.#streamWindow();
    const [start, end, highWaterMark] = streamRange(source, opts);
    const flush = boolean('flush', opts?.flush, false);
    return new WindowWriteStream(source, start, end, highWaterMark, flush);
  }

  #streamWindow(): StreamWindow {
    const window = this;
    return {
      get length() {
        return window.length;
      },
      get closed() {
        return window.closed;
      },
      get buffer() {
        return window.buffer;
      },
      get path() {
        return window.#file.path;
      },
      flushAsync: (range) => window.flushAsync(range),
      track: (stream) => window.#streams.add(stream),
      untrack: (stream) => window.#streams.delete(stream),
    };
  }

  /**
   * Detaches the buffer (every view of it then reads `byteLength === 0`) and unmaps the window; streams
   * over it that are still working fail with `ERR_CLOSED`. Closing twice does nothing.
   */
  close(): void {
    const buffer = this.#buffer;
    if (buffer === undefined) return;
    this.#buffer = undefined;
    this.#file._forget(this);
    try {
      nativeCall(this.#file.path, () => native.unmap(buffer));
    } finally {
      for (const stream of [...this.#streams]) stream.windowClosed();
    }
  }

  /** {@link Window.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * How a file remembers its windows without keeping them alive: a window (or its buffer) that
 * JavaScript drops can still be garbage collected, and the addon's finalizer unmaps it.
 */
interface WindowEntry {
  window: WeakRef<Window>;
  buffer: WeakRef<ArrayBuffer>;
}

/**
 * A regular file opened for mapping.
 *
 * ## Safety
 * A window is the file's pages, not a copy of them, so what other processes do to the file shows:
 * - Another process writing the file: a `'readwrite'` window sees the writes at once (one page
 *   cache); a `'read'` or `'copy'` window sees them too, except on pages it wrote itself.
 * - Another process truncating the file below a window: touching a page past the new end raises
 *   SIGBUS, which no JavaScript can catch: the process dies. rawbright guards against it as far as
 *   a library can: {@link MappedFile.map} re-reads the size on every call and never maps past the
 *   end; {@link Window.populate} reports such a window as `EFAULT` ("the file is now shorter than
 *   the window") instead of faulting; rawbright's own pipeline holds an exclusive `flock` on every
 *   file it changes. An advisory lock does not stop programs that do not ask for it.
 * - A full disk under a sparse file also ends in SIGBUS when a write through a mapping needs a new
 *   block: {@link MappedFile.create} allocates every block up front (`posix_fallocate`).
 * - JavaScript writing into a `'read'` window: the window is a private (copy-on-write) mapping,
 *   so the write changes this process's copy only; it never crashes and never reaches the file.
 *
 * @example
 * ```ts
 * // `using` needs TypeScript 5.2+ (Node 20 itself does not parse it); otherwise call close().
 * using file = MappedFile.open('image.raw', { access: 'readwrite' });
 * file.lock('exclusive');
 * using window = file.map({ offset: 8 * 1024 ** 3, length: 64 * 1024 ** 2 });
 * new Uint16Array(window.buffer)[0] = 65535;
 * window.flush();
 * ```
 */
export class MappedFile {
  readonly #handle: NativeFileHandle;
  /** Windows handed out and not closed, held weakly (see {@link WindowEntry}). */
  readonly #windows = new Map<number, WindowEntry>();
  readonly #windowIds = new WeakMap<Window, number>();
  #nextWindowId = 0;
  /** Forgets a window once its buffer is collected (and so unmapped by the addon). */
  readonly #collected = new FinalizationRegistry<number>((id) => this.#windows.delete(id));
  /** The path the file was opened with. */
  readonly path: string;
  /** How the file was opened. */
  readonly access: Access;
  /** The size of a memory page, in bytes. */
  readonly pageSize: number = native.pageSize;
  /** Mapping offsets are rounded down to a multiple of this (the page size; 64 KiB on Windows). */
  readonly allocationGranularity: number = native.allocationGranularity;

  /** The name this file is registered under (see {@link OpenOptions.name}), if any. */
  readonly name: string | undefined;

  private constructor(handle: NativeFileHandle, path: string, access: Access, name?: string) {
    this.#handle = handle;
    this.path = path;
    this.access = access;
    this.name = name;
    registerHandle(this, handle);
  }

  /**
   * Opens a regular file, like .NET's `MemoryMappedFile.CreateFromFile(path, FileMode.Open, mapName, capacity)`.
   * @param path The file.
   * @param opts `{ access = 'read', name, capacity }`: see {@link Access} and {@link OpenOptions}.
   * @throws {RawbrightError} `ENOENT`, `EACCES`, `EISDIR`, `ENODEV` (not a regular file), …, with `path`;
   * with `name`: `EEXIST` (the name is in use), `ERR_NAME_NOT_OWNED`, `ERR_UNSAFE_RUNTIME_DIR`; with `capacity`:
   * `ERR_READ_ONLY` (not `'readwrite'`), `ENOSPC`, `EFBIG` (the file keeps its size). Nothing is registered
   * or grown when the open fails.
   * @example
   * ```ts
   * const file = MappedFile.open('image.raw', { access: 'readwrite', name: 'ImgA', capacity: 2 ** 30 });
   * ```
   */
  static open(path: PathLike, opts?: OpenOptions): MappedFile {
    const [checkedPath, access, name, capacity] = MappedFile.#openArgs(path, opts);
    const handle = nativeCall(checkedPath, () => native.openFile(checkedPath, access === 'readwrite'));
    return MappedFile.#adopt(handle, checkedPath, access, name, capacity);
  }

  /** Like {@link MappedFile.open}, on a worker thread (growing to a large capacity can take a while). */
  static async openAsync(path: PathLike, opts?: OpenOptions): Promise<MappedFile> {
    const [checkedPath, access, name, capacity] = MappedFile.#openArgs(path, opts);
    const handle = await nativeCallAsync(checkedPath, () =>
      native.openFileAsync(checkedPath, access === 'readwrite'),
    );
    const file = MappedFile.#adopt(handle, checkedPath, access, name, undefined);
    if (capacity !== undefined) {
      try {
        await nativeCallAsync(checkedPath, () => handle.growAsync(capacity));
      } catch (error) {
        file.close();
        throw error;
      }
    }
    return file;
  }

  /**
   * Opens the file another process (or this one) registered with `MappedFile.open(path, { name })`,
   * like .NET's `MemoryMappedFile.OpenExisting(mapName)`. The file is found by its device and inode,
   * not only its path: a file renamed since is followed to its new path; a file replaced since (another
   * file now at the path) or deleted is refused. The name stays registered until its last user closes;
   * this file is one of its users.
   * @param name The name it was registered under.
   * @param opts `{ access = 'read' }`; `'readwrite'` only when it was registered `'readwrite'`.
   * @throws {RawbrightError} `ENOENT` (no open map has that name, or its users all died),
   * `ERR_FILE_REPLACED`, `ERR_FILE_DELETED`, `ERR_FILE_MOVED` (renamed where it cannot be followed),
   * `ERR_READ_ONLY`, `ERR_NAME_NOT_OWNED` (another user's), `ERR_UNSAFE_RUNTIME_DIR`, `ERR_INVALID_ARG_VALUE`.
   * @example
   * ```ts
   * using file = MappedFile.openExisting('ImgA', { access: 'readwrite' });
   * using window = file.map({ offset: 4_000_000, length: 2_000_000 });
   * ```
   */
  static openExisting(name: string, opts?: OpenExistingOptions): MappedFile {
    const checkedName = mapName('name', name);
    const o = options('options', opts);
    const access = o.access === undefined ? 'read' : oneOf('access', o.access, ACCESS_MODES);
    const directory = mapNamesDirectory();
    // No path to fall back on: errors name the map, and carry a path only when one is involved.
    const opened = nativeCall(undefined, () => native.openNamedFile(directory, checkedName, access));
    trackNamed(opened.handle);
    return new MappedFile(opened.handle, opened.path, access, checkedName);
  }

  /**
   * Maps a file the caller already opened, like .NET's `MemoryMappedFile.CreateFromFile(FileStream, …,
   * leaveOpen)`. The descriptor must be a regular file opened for reading, and `'readwrite'` needs it
   * opened read-write (`fs.openSync(path, 'r+')`) without O_APPEND: checked against its open flags
   * (fcntl F_GETFL) before anything is wrapped.
   * @param fd An open file descriptor.
   * @param opts `{ access = 'read', leaveOpen = false, name, capacity }`: see {@link FromFdOptions}.
   * @throws {RawbrightError} `EBADF` (not an open descriptor), `ERR_FD_ACCESS` (its flags do not allow `access`),
   * `EISDIR`, `ENODEV`, and as {@link MappedFile.open} for `name` and `capacity`. A refused descriptor is
   * never closed.
   * @example
   * ```ts
   * const fd = fs.openSync('image.raw', 'r+');
   * const file = MappedFile.fromFd(fd, { access: 'readwrite', leaveOpen: true });
   * file.close();     // fd stays open
   * fs.closeSync(fd);
   * ```
   */
  static fromFd(fd: number, opts?: FromFdOptions): MappedFile {
    const checkedFd = integerInRange('fd', fd, 0, 2 ** 31 - 1);
    const o = options('options', opts);
    const leaveOpen = boolean('leaveOpen', o.leaveOpen, false);
    const [, access, name, capacity] = MappedFile.#openArgs(`fd ${checkedFd}`, o);
    // The handle works on a duplicate, so a refused open (a name in use, a full disk) closes only that.
    const handle = nativeCall(`fd ${checkedFd}`, () =>
      native.openDescriptor(checkedFd, access === 'readwrite'),
    );
    const file = MappedFile.#adopt(handle, handle.path(), access, name, capacity);
    if (!leaveOpen) handle.own(checkedFd);
    return file;
  }

  static #openArgs(path: unknown, opts: unknown): [string, Access, string | undefined, number | undefined] {
    const checkedPath = pathArgument('path', path);
    const o = options('options', opts);
    const access = o.access === undefined ? 'read' : oneOf('access', o.access, ACCESS_MODES);
    const name = o.name === undefined ? undefined : mapName('name', o.name);
    const capacity = o.capacity === undefined ? undefined : byteCount('capacity', o.capacity);
    if (capacity !== undefined && access !== 'readwrite') {
      throw new RawbrightError(
        'ERR_READ_ONLY',
        `cannot grow ${checkedPath} to a capacity: it is opened '${access}' (capacity needs 'readwrite')`,
        { path: checkedPath },
      );
    }
    return [checkedPath, access, name, capacity];
  }

  /**
   * Registers the name, then grows the file: a name in use refuses the open before the file changes,
   * and a failed growth releases the name. Any failure closes the handle.
   */
  static #adopt(
    handle: NativeFileHandle,
    path: string,
    access: Access,
    name: string | undefined,
    capacity: number | undefined,
  ): MappedFile {
    try {
      if (name !== undefined) {
        const directory = mapNamesDirectory();
        nativeCall(path, () => handle.registerName(directory, name, access));
        trackNamed(handle);
      }
      if (capacity !== undefined) nativeCall(path, () => handle.grow(capacity));
    } catch (error) {
      handle.close();
      throw error;
    }
    return new MappedFile(handle, path, access, name);
  }

  /**
   * Creates a file of `size` bytes, opened `'readwrite'`. The space is allocated on disk now
   * (posix_fallocate), so a full disk fails here with `ENOSPC` or `EFBIG` rather than later, in the
   * middle of writing through a mapping, with SIGBUS.
   * @param opts `{ size, overwrite = false }`.
   * @throws {RawbrightError} `EEXIST` when the file exists and `overwrite` is false; `ENOSPC`, `EFBIG`, `ENOENT` (no such folder), …
   */
  static create(path: PathLike, opts: CreateOptions): MappedFile {
    const [checkedPath, size, overwrite] = MappedFile.#createArgs(path, opts);
    const handle = nativeCall(checkedPath, () => native.createFile(checkedPath, size, overwrite));
    return new MappedFile(handle, checkedPath, 'readwrite');
  }

  /** Like {@link MappedFile.create}, on a worker thread (allocating gigabytes can take a while). */
  static async createAsync(path: PathLike, opts: CreateOptions): Promise<MappedFile> {
    const [checkedPath, size, overwrite] = MappedFile.#createArgs(path, opts);
    return new MappedFile(
      await nativeCallAsync(checkedPath, () => native.createFileAsync(checkedPath, size, overwrite)),
      checkedPath,
      'readwrite',
    );
  }

  static #createArgs(path: unknown, opts: unknown): [string, number, boolean] {
    const checkedPath = pathArgument('path', path);
    const o = options('options', opts);
    if (o.size === undefined) throw invalidParameterError('size', BYTE_COUNT, undefined);
    return [checkedPath, byteCount('size', o.size), boolean('overwrite', o.overwrite, false)];
  }

  /**
   * The file's size now, in bytes (asked of the file system each time: another process may change it).
   * @throws {RawbrightError} `ERR_CLOSED` once closed.
   */
  get size(): number {
    const handle = nativeHandle(this);
    return nativeCall(this.path, () => handle.size());
  }

  /** True once {@link MappedFile.close} ran. */
  get closed(): boolean {
    return this.#handle.isClosed();
  }

  /**
   * Maps `length` bytes from `offset`.
   * @param opts `{ offset = 0, length = size - offset }`; numbers up to 2^53 − 1 or bigints.
   * @returns A {@link Window}; an explicit zero length gives an empty window.
   * @throws {RawbrightError} `ERR_OUT_OF_RANGE` ("offset is larger than the file", "length is past the end of the file"),
   * `ERR_EMPTY_FILE` for an empty file without an explicit length, `ERR_WINDOW_TOO_LARGE` over 4 GiB, `ERR_INVALID_ARG_VALUE` for negative, fractional or NaN values, `ERR_CLOSED`.
   */
  map(opts?: RangeOptions): Window {
    const handle = nativeHandle(this);
    const o = options('options', opts);
    const size = nativeCall(this.path, () => handle.size());
    if (size === 0 && o.length === undefined) {
      throw new RawbrightError('ERR_EMPTY_FILE', `cannot map ${this.path}: the file is empty`, {
        path: this.path,
      });
    }
    const offset = optionalByteCount('offset', o.offset, 0);
    if (offset > size)
      throw new RawbrightError('ERR_OUT_OF_RANGE', 'offset is larger than the file', { path: this.path });
    const length = optionalByteCount('length', o.length, size - offset);
    if (length > size - offset) {
      throw new RawbrightError('ERR_OUT_OF_RANGE', 'length is past the end of the file', { path: this.path });
    }
    if (length > MAX_WINDOW_BYTES) {
      throw new RawbrightError(
        'ERR_WINDOW_TOO_LARGE',
        `a window is at most 4 GiB (Node's ArrayBuffer limit) but ${length} bytes were asked for`,
        { path: this.path },
      );
    }
    const buffer = nativeCall(this.path, () => handle.map(offset, length, this.access === 'readwrite'));
    const window = new Window(this, buffer, offset, length);
    if (length > 0) {
      const id = this.#nextWindowId++;
      this.#windows.set(id, { window: new WeakRef(window), buffer: new WeakRef(buffer) });
      this.#windowIds.set(window, id);
      this.#collected.register(buffer, id, window);
    }
    return window;
  }

  /** @internal Called by {@link Window.close}. */
  _forget(window: Window): void {
    const id = this.#windowIds.get(window);
    if (id === undefined) return;
    this.#windows.delete(id);
    this.#windowIds.delete(window);
    this.#collected.unregister(window);
  }

  /** The number of windows handed out and neither closed nor garbage collected. */
  get openWindows(): number {
    let count = 0;
    for (const entry of this.#windows.values()) {
      const buffer = entry.buffer.deref();
      if (buffer !== undefined && buffer.byteLength > 0) count++;
    }
    return count;
  }

  /**
   * Reads up to `target.byteLength` bytes at `position` into `target` (pread).
   * @param position The file byte to start at (number up to 2^53 − 1 or bigint).
   * @param target Where the bytes go: a TypedArray, DataView or Buffer over an ArrayBuffer.
   * @returns The number of bytes read (fewer only at the end of the file).
   * @throws {RawbrightError} `ERR_INVALID_ARG_VALUE`, `ERR_CLOSED`, `EIO`, …
   */
  read(position: number | bigint, target: ArrayBufferView): number {
    const checkedPosition = byteCount('position', position);
    const view = arrayBufferView('target', target);
    const handle = nativeHandle(this);
    return nativeCall(this.path, () =>
      handle.read(checkedPosition, view.buffer, view.byteOffset, view.byteLength),
    );
  }

  /**
   * Writes all of `source` at `position` (pwrite).
   * @param position The file byte to start at (number up to 2^53 − 1 or bigint).
   * @param source The bytes: a TypedArray, DataView or Buffer over an ArrayBuffer.
   * @returns The number of bytes written (all of them).
   * @throws {RawbrightError} `ERR_READ_ONLY` (file opened `'read'` or `'copy'`), `ENOSPC`, `EFBIG`, `ERR_CLOSED`, …
   */
  write(position: number | bigint, source: ArrayBufferView): number {
    const checkedPosition = byteCount('position', position);
    const view = arrayBufferView('source', source);
    if (this.access !== 'readwrite') {
      throw new RawbrightError('ERR_READ_ONLY', `cannot write ${this.path}: it was opened '${this.access}'`, {
        path: this.path,
      });
    }
    const handle = nativeHandle(this);
    return nativeCall(this.path, () =>
      handle.write(checkedPosition, view.buffer, view.byteOffset, view.byteLength),
    );
  }

  /** Flushes the file's data and metadata to disk (fsync), on a worker thread. */
  async sync(): Promise<void> {
    const handle = nativeHandle(this);
    await nativeCallAsync(this.path, () => handle.syncAsync());
  }

  /** Flushes the file's data and metadata to disk (fsync), blocking until it is done. */
  syncSync(): void {
    const handle = nativeHandle(this);
    nativeCall(this.path, () => handle.sync());
  }

  /**
   * Allocates disk blocks for a range (posix_fallocate), so that later writes through windows cannot
   * fail for lack of space. Holes in a sparse file are filled; the file never shrinks. A refused
   * allocation (a full disk, a file size limit) gives back the blocks it got part way: the range's
   * holes, recorded first (SEEK_HOLE/SEEK_DATA), are punched again and a size it grew is cut back.
   * @param position First byte.
   * @param length Bytes.
   * @throws {RawbrightError} `ENOSPC`, `EFBIG`, `EOPNOTSUPP` (the file system cannot allocate ahead), `ERR_CLOSED`.
   */
  allocate(position: number | bigint, length: number | bigint): void {
    const checkedPosition = byteCount('position', position);
    const checkedLength = byteCount('length', length);
    const handle = nativeHandle(this);
    nativeCall(this.path, () => handle.allocate(checkedPosition, checkedLength));
  }

  /**
   * What the open descriptor is, asked of the descriptor itself (fstat, fstatfs), so a symlink or a
   * path changed since the file was opened cannot mislead.
   * @returns `regular`: a regular file; `pseudo`: the name of the pseudo file system it is on
   *   (`'proc'`, `'sysfs'`, …), where reading and writing back a byte is not harmless; undefined on a
   *   real file system (tmpfs counts as real).
   */
  fileKind(): { regular: boolean; pseudo: string | undefined } {
    const handle = nativeHandle(this);
    const kind = nativeCall(this.path, () => handle.fileKind());
    return { regular: kind.regular, pseudo: PSEUDO_FILE_SYSTEMS.get(kind.fsType) };
  }

  /**
   * Starts writing a range's dirty pages back to disk (sync_file_range) without waiting for it.
   * @param position First byte.
   * @param length Bytes.
   */
  startWriteback(position: number | bigint, length: number | bigint): void {
    const checkedPosition = byteCount('position', position);
    const checkedLength = byteCount('length', length);
    const handle = nativeHandle(this);
    nativeCall(this.path, () => handle.syncRange(checkedPosition, checkedLength, false));
  }

  /**
   * Takes an advisory lock (flock) on the file. Other rawbright processes honour it; other programs
   * may not. The lock belongs to this MappedFile: a second `open` of the same path, even in this
   * process, contends with it. Closing the file releases it.
   * @param kind `'shared'` or `'exclusive'`.
   * @param opts `{ wait = false }`: without waiting, a lock held elsewhere throws `ERR_FILE_LOCKED` at once.
   * @throws {RawbrightError} `ERR_FILE_LOCKED`, `ERR_CLOSED`, `ERR_INVALID_ARG_VALUE`.
   */
  lock(kind: LockKind, opts?: { wait?: boolean }): void {
    const exclusive = oneOf('kind', kind, LOCK_KINDS) === 'exclusive';
    const wait = boolean('wait', options('options', opts).wait, false);
    const handle = nativeHandle(this);
    nativeCall(this.path, () => handle.lock(exclusive, wait));
  }

  /**
   * Waits for the lock on a worker thread, so the event loop keeps running.
   * @param kind `'shared'` or `'exclusive'`.
   * @returns A promise that resolves once the lock is held.
   */
  async lockAsync(kind: LockKind): Promise<void> {
    const exclusive = oneOf('kind', kind, LOCK_KINDS) === 'exclusive';
    const handle = nativeHandle(this);
    await nativeCallAsync(this.path, () => handle.lockAsync(exclusive));
  }

  /** Releases a lock taken with {@link MappedFile.lock} or {@link MappedFile.lockAsync}. */
  unlock(): void {
    const handle = nativeHandle(this);
    nativeCall(this.path, () => handle.unlock());
  }

  /**
   * Takes an open-file-description byte-range lock (`F_OFD_SETLK`) over `[offset, offset + length)`,
   * at once or not at all. `length` 0 locks to the end of the file, however far it grows. The lock
   * belongs to this MappedFile (its open file description), so two MappedFiles of one path conflict
   * even inside one process, while disjoint ranges do not. Range locks are independent of
   * {@link MappedFile.lock}'s `flock` on Linux: a whole-file user that must conflict with range users
   * takes `lockRange(0, 0, kind)` too. Closing the file releases its range locks.
   * @throws {RawbrightError} `ERR_RANGE_LOCKED` (with `holder`: `{ start, length, exclusive, pid: -1 }`,
   *   the conflicting range; OFD locks carry no process id), `ERR_CLOSED`, `ERR_INVALID_ARG_VALUE`.
   */
  lockRange(offset: number, length: number, kind: LockKind): void {
    const checkedOffset = byteCount('offset', offset);
    const checkedLength = byteCount('length', length);
    const exclusive = oneOf('kind', kind, LOCK_KINDS) === 'exclusive';
    const handle = nativeHandle(this);
    try {
      handle.lockRange(checkedOffset, checkedLength, exclusive);
    } catch (error) {
      const converted = asRawbrightError(error, this.path);
      if (
        converted instanceof RawbrightError &&
        error !== null &&
        typeof error === 'object' &&
        'holder' in error
      ) {
        Object.defineProperty(converted, 'holder', { value: error.holder, enumerable: true });
      }
      throw converted;
    }
  }

  /** Releases the range locks of this MappedFile inside `[offset, offset + length)` (length 0: to the end). */
  unlockRange(offset: number, length: number): void {
    const checkedOffset = byteCount('offset', offset);
    const checkedLength = byteCount('length', length);
    const handle = nativeHandle(this);
    nativeCall(this.path, () => handle.unlockRange(checkedOffset, checkedLength));
  }

  /**
   * The range lock held by another open file that would refuse `lockRange(offset, length, kind)`, or
   * undefined when there is none (`F_OFD_GETLK`; the answer can be stale by the time it is read).
   */
  rangeHolder(offset: number, length: number, kind: LockKind): RangeHolder | undefined {
    const checkedOffset = byteCount('offset', offset);
    const checkedLength = byteCount('length', length);
    const exclusive = oneOf('kind', kind, LOCK_KINDS) === 'exclusive';
    const handle = nativeHandle(this);
    return nativeCall(this.path, () => handle.rangeHolder(checkedOffset, checkedLength, exclusive));
  }

  /**
   * Closes every window this file handed out (detaching their buffers, even those whose Window
   * object was dropped), then the file, which releases its lock. Closing twice does nothing.
   */
  close(): void {
    for (const [id, entry] of [...this.#windows]) {
      const window = entry.window.deref();
      if (window !== undefined) {
        window.close();
      } else {
        const buffer = entry.buffer.deref();
        this.#windows.delete(id);
        if (buffer !== undefined && buffer.byteLength > 0) nativeCall(this.path, () => native.unmap(buffer));
      }
    }
    this.#handle.close();
  }

  /** {@link MappedFile.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
