/**
 * Node streams over a window, the form .NET's `MemoryMappedFile.CreateViewStream` takes here: a
 * Readable that copies the window's bytes out in chunks, and a Writable that copies chunks in, both
 * ending at the end of the view and both honouring `highWaterMark` (backpressure).
 *
 * Read chunks are copies, never views of the window, so a chunk stays valid after the window is
 * closed. A window closed while one of its streams is still working makes that stream fail with
 * `ERR_CLOSED` (an `'error'` event), never touch unmapped memory.
 */
import type { Readable, Writable } from 'node:stream';
import { invalidParameterError, RawbrightError } from '../errors.js';
import { integerInRange, isPlainObject, optionalByteCount } from '../validate.js';

/** Options of `Window.createReadStream` and `Window.createWriteStream`. */
export interface ViewStreamOptions {
  /** First byte of the stream, counted from the start of the window [0]. */
  offset?: number | bigint;
  /** Bytes the stream covers [the rest of the window]. */
  length?: number | bigint;
  /** Bytes buffered before the stream pushes back: read chunks are at most this long [65536]. */
  highWaterMark?: number;
}

/** Options of `Window.createWriteStream`. */
export interface ViewWriteStreamOptions extends ViewStreamOptions {
  /** Flush the bytes written (msync, off the main thread) before `'finish'` [false]. */
  flush?: boolean;
}

/** What a view stream needs of its window (kept to an interface so this module imports no class). */
export interface StreamWindow {
  readonly length: number;
  readonly closed: boolean;
  /** Throws ERR_CLOSED once closed. */
  readonly buffer: ArrayBuffer;
  readonly path: string;
  flushAsync(opts: { offset: number; length: number }): Promise<void>;
  /** Called with each new stream; the window calls `windowClosed` on the open ones when it closes. */
  track(stream: ViewStream): void;
  untrack(stream: ViewStream): void;
}

/** The part of a view stream its window talks to. */
export interface ViewStream {
  windowClosed(): void;
}

const DEFAULT_STREAM_HIGH_WATER_MARK = 64 * 1024;

/**
 * The base the two stream classes are declared with until the first stream is made: `node:stream` is loaded
 * then (about 1.5 ms on Node 24, where it is not in Node's start-up snapshot), not when this module is, so a
 * run that opens windows and makes no stream (every CLI command) never loads it. The first constructor call
 * puts Readable and Writable under the two classes, before its `super()` call, which looks its parent
 * constructor up at that moment: every stream made is a Readable or a Writable from its first line.
 */
class NotYetAStream {}
let linked = false;

function linkStreamClasses(): void {
  if (linked) return;
  const { Readable, Writable } = process.getBuiltinModule('node:stream');
  Object.setPrototypeOf(WindowReadStream, Readable);
  Object.setPrototypeOf(WindowReadStream.prototype, Readable.prototype);
  Object.setPrototypeOf(WindowWriteStream, Writable);
  Object.setPrototypeOf(WindowWriteStream.prototype, Writable.prototype);
  linked = true;
}

/** Validated stream options: [start, end, highWaterMark]. */
export function streamRange(window: StreamWindow, opts: unknown): [number, number, number] {
  if (opts !== undefined && !isPlainObject(opts)) throw invalidParameterError('options', 'an object', opts);
  const o = opts ?? {};
  const start = optionalByteCount('offset', o.offset, 0);
  if (start > window.length) {
    throw new RawbrightError('ERR_OUT_OF_RANGE', 'offset is larger than the window', { path: window.path });
  }
  const length = optionalByteCount('length', o.length, window.length - start);
  if (length > window.length - start) {
    throw new RawbrightError('ERR_OUT_OF_RANGE', 'length is past the end of the window', {
      path: window.path,
    });
  }
  const highWaterMark =
    o.highWaterMark === undefined
      ? DEFAULT_STREAM_HIGH_WATER_MARK
      : integerInRange('highWaterMark', o.highWaterMark, 1, 2 ** 30);
  return [start, start + length, highWaterMark];
}

function closedError(path: string): RawbrightError {
  return new RawbrightError('ERR_CLOSED', `the window of ${path} was closed while a stream was using it`, {
    path,
  });
}

/**
 * Reads `length` bytes of a window from `offset` (relative to the window) as Buffer chunks of at most
 * `highWaterMark` bytes, each a copy, and ends there. If the window closes before every byte has
 * been copied out, the stream is destroyed with `ERR_CLOSED`: listen for `'error'` (pipeline and
 * `for await` do), as with any stream.
 */
export class WindowReadStream extends (NotYetAStream as unknown as typeof Readable) implements ViewStream {
  readonly #window: StreamWindow;
  /** First byte of the stream, counted from the start of the window. */
  readonly offset: number;
  /** Bytes the stream covers. */
  readonly length: number;
  readonly #end: number;
  #position: number;
  readonly #chunk: number;

  /** @internal Made by `Window.createReadStream`. */
  constructor(window: StreamWindow, start: number, end: number, highWaterMark: number) {
    linkStreamClasses();
    super({ highWaterMark });
    this.#window = window;
    this.offset = start;
    this.length = end - start;
    this.#end = end;
    this.#position = start;
    this.#chunk = highWaterMark;
    window.track(this);
    this.once('close', () => window.untrack(this));
  }

  /** The next byte to be copied out, counted from the start of the window. */
  get position(): number {
    return this.#position;
  }

  override _read(): void {
    const remaining = this.#end - this.#position;
    if (remaining === 0) {
      this.push(null);
      return;
    }
    if (this.#window.closed) {
      this.destroy(closedError(this.#window.path));
      return;
    }
    const length = Math.min(this.#chunk, remaining);
    const chunk = Buffer.allocUnsafe(length);
    chunk.set(new Uint8Array(this.#window.buffer, this.#position, length));
    this.#position += length;
    this.push(chunk);
    if (this.#position === this.#end) this.push(null);
  }

  /** @internal The window closed: fail unless every byte has been copied out already. */
  windowClosed(): void {
    if (this.#position < this.#end && !this.destroyed) this.destroy(closedError(this.#window.path));
  }
}

/**
 * Writes chunks into a window from `offset` on (relative to the window), at most `length` bytes. Each
 * chunk is copied in as it is written (synchronously), so chunks wait only while the stream is
 * corked, and `write()` returns false once `highWaterMark` bytes wait. A chunk that does not fit is
 * refused whole with `ERR_PAST_END` (nothing of it is written, as .NET's view stream refuses to grow)
 * and the stream fails. If the window closes before the stream was ended, the stream is destroyed with
 * `ERR_CLOSED`; one that was ended with everything written finishes normally.
 */
export class WindowWriteStream extends (NotYetAStream as unknown as typeof Writable) implements ViewStream {
  readonly #window: StreamWindow;
  /** First byte of the stream, counted from the start of the window. */
  readonly offset: number;
  /** Bytes the stream may write. */
  readonly length: number;
  readonly #end: number;
  #position: number;
  readonly #flush: boolean;
  #finishing = false;

  /** @internal Made by `Window.createWriteStream`. */
  constructor(window: StreamWindow, start: number, end: number, highWaterMark: number, flush: boolean) {
    linkStreamClasses();
    super({ highWaterMark, decodeStrings: true });
    this.#window = window;
    this.offset = start;
    this.length = end - start;
    this.#end = end;
    this.#position = start;
    this.#flush = flush;
    window.track(this);
    this.once('close', () => window.untrack(this));
  }

  /** The next byte to be written, counted from the start of the window. */
  get position(): number {
    return this.#position;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const window = this.#window;
    if (window.closed) {
      callback(closedError(window.path));
      return;
    }
    if (chunk.length > this.#end - this.#position) {
      callback(
        new RawbrightError(
          'ERR_PAST_END',
          `cannot write ${chunk.length} bytes at byte ${this.#position} of the window: the stream ends at byte ${this.#end}`,
          { path: window.path },
        ),
      );
      return;
    }
    new Uint8Array(window.buffer, this.#position, chunk.length).set(chunk);
    this.#position += chunk.length;
    callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#finishing = true;
    const written = this.#position - this.offset;
    if (!this.#flush || written === 0) {
      callback();
      return;
    }
    if (this.#window.closed) {
      callback(closedError(this.#window.path));
      return;
    }
    // The addon keeps the pages mapped until the msync is over, even if the window closes meanwhile.
    this.#window.flushAsync({ offset: this.offset, length: written }).then(
      () => callback(),
      (error: Error) => callback(error),
    );
  }

  /**
   * @internal The window closed: fail, unless the stream was ended and everything written is in the
   * window already (only a flush asked for with `flush` is then left, and `_final` reports it).
   */
  windowClosed(): void {
    if (this.destroyed || this.#finishing) return;
    if (this.writableEnded && this.writableLength === 0) return;
    this.destroy(closedError(this.#window.path));
  }
}
