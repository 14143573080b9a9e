/**
 * Errors raised by rawbright. Every one carries a stable `code`: an errno name for operating-system
 * failures (`ENOENT`, `EACCES`, `ENOSPC`, …) or an `ERR_…` code of our own, and `path` where a file
 * is involved. Messages are one plain sentence.
 */
import type { constants } from 'node:os';

/**
 * The `ERR_…` codes of rawbright's own errors (from this library and from its addon). The error
 * constructors take only these or an errno name, so a misspelt code does not compile.
 */
export type OwnErrorCode =
  | 'ERR_ABORTED'
  | 'ERR_ALREADY_DONE'
  | 'ERR_BATCH_FAILED'
  | 'ERR_BENCH_CHILD'
  | 'ERR_BENCH_IPC'
  | 'ERR_BUSY'
  | 'ERR_CHANNEL_CORRUPT'
  | 'ERR_CHANNEL_INVALID'
  | 'ERR_CHANNEL_LEASED'
  | 'ERR_CHANNEL_MESSAGE_TOO_LARGE'
  | 'ERR_CHART_UNAVAILABLE'
  | 'ERR_CLOSED'
  | 'ERR_CORRUPT_IMAGE'
  | 'ERR_EMPTY_FILE'
  | 'ERR_FARM_CHECK'
  | 'ERR_FARM_FAILED'
  | 'ERR_FARM_FILE_CHANGED'
  | 'ERR_FARM_JOB'
  | 'ERR_FARM_LOCKS_BROKEN'
  | 'ERR_FARM_RECORD'
  | 'ERR_FARM_REDIS'
  | 'ERR_FARM_REFUSED'
  | 'ERR_FARM_STORAGE'
  | 'ERR_FD_ACCESS'
  | 'ERR_FILE_CHANGED'
  | 'ERR_FILE_DELETED'
  | 'ERR_FILE_LOCKED'
  | 'ERR_FILE_MOVED'
  | 'ERR_FILE_REPLACED'
  | 'ERR_FILE_TRUNCATED'
  | 'ERR_FOREIGN_BUFFER'
  | 'ERR_FORMAT_DAMAGED'
  | 'ERR_ILLEGAL_CONSTRUCTOR'
  | 'ERR_IMAGE_TOO_WIDE'
  | 'ERR_INVALID_ARG_TYPE'
  | 'ERR_INVALID_ARG_VALUE'
  | 'ERR_INVALID_FILE_URL_PATH'
  | 'ERR_INVALID_OBJECT'
  | 'ERR_INVALID_STATE'
  | 'ERR_INVALID_THIS'
  | 'ERR_INVALID_URL_SCHEME'
  | 'ERR_IPC_INVALID'
  | 'ERR_JOURNAL_CORRUPT'
  | 'ERR_JOURNAL_EXISTS'
  | 'ERR_JOURNAL_LOST'
  | 'ERR_JOURNAL_MISMATCH'
  | 'ERR_JOURNAL_STALE'
  | 'ERR_JOURNAL_UNTRUSTED'
  | 'ERR_JOURNAL_UNUSED'
  | 'ERR_LAYOUT_MISMATCH'
  | 'ERR_LEASE_RELEASED'
  | 'ERR_MEMORY_MOVED'
  | 'ERR_MUTEX_BUSY'
  | 'ERR_NAME_INVALID'
  | 'ERR_NAME_NOT_OWNED'
  | 'ERR_NOTHING_TO_CHART'
  | 'ERR_NOT_LOCKED'
  | 'ERR_NOT_PIXEL_ALIGNED'
  | 'ERR_NOT_SERIALIZABLE'
  | 'ERR_NO_OBJECT'
  | 'ERR_NO_OVERLAY'
  | 'ERR_OBJECT_TOO_LARGE'
  | 'ERR_OUT_OF_RANGE'
  | 'ERR_OVERLAY_BUSY'
  | 'ERR_PAST_END'
  | 'ERR_PATH_TOO_LONG'
  | 'ERR_PREVIEW_TOO_LARGE'
  | 'ERR_RANGE_LOCKED'
  | 'ERR_READ_ONLY'
  | 'ERR_REFERENCE_FAILED'
  | 'ERR_REGION_RELEASED'
  | 'ERR_REMOTE'
  | 'ERR_SAME_FILE'
  | 'ERR_SEMAPHORE_FULL'
  | 'ERR_SHM_BUSY'
  | 'ERR_SHM_FOREIGN_OWNER'
  | 'ERR_SHM_INCOMPATIBLE'
  | 'ERR_SHM_INVALID'
  | 'ERR_SHM_LOCK_BROKEN'
  | 'ERR_SHM_MISMATCH'
  | 'ERR_SHM_READ_ONLY'
  | 'ERR_SHM_TOO_LARGE'
  | 'ERR_SHM_TRUNCATED'
  | 'ERR_SIDECAR_CONFLICT'
  | 'ERR_SIDECAR_INVALID'
  | 'ERR_SIDECAR_MISMATCH'
  | 'ERR_SIDECAR_MISSING'
  | 'ERR_SIZE_MISMATCH'
  | 'ERR_UNSAFE_RUNTIME_DIR'
  | 'ERR_UNSUPPORTED'
  | 'ERR_UNSUPPORTED_FORMAT'
  | 'ERR_USAGE'
  | 'ERR_WASM_INSTANTIATE'
  | 'ERR_WASM_LAYOUT'
  | 'ERR_WASM_MISSING'
  | 'ERR_WINDOW_TOO_LARGE'
  | 'ERR_WORKER';

/** An operating-system error name (`ENOENT`, `EACCES`, `ENOSPC`, …), as on Node's own fs errors. */
export type SystemErrorCode = keyof typeof constants.errno;

declare const passedOn: unique symbol;
/**
 * A code read from an error that Node, the operating system or the addon raised (see `errorCode`),
 * which rawbright passes on unchanged; it may be any string, so it is marked as such rather than listed.
 */
export type PassedOnCode = string & { readonly [passedOn]: true };

/** Every code the error constructors accept: one of ours, an errno name, or one passed on. */
export type ErrorCode = OwnErrorCode | SystemErrorCode | PassedOnCode;

/** An error with a stable `code` (and the `path` involved, if any). */
export class RawbrightError extends Error {
  readonly code: string;
  // `declare`: no own property at all unless set, so errors without a path print without one.
  declare readonly path?: string;
  /** The system call that failed, for operating-system errors (`'open'`, `'mmap'`, …). */
  declare readonly syscall?: string;
  /** The negated errno value, for operating-system errors, as on Node's own fs errors. */
  declare readonly errno?: number;

  constructor(
    code: ErrorCode,
    message: string,
    options: { path?: string; cause?: unknown; syscall?: string; errno?: number } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RawbrightError';
    this.code = code;
    if (options.path !== undefined) this.path = options.path;
    if (options.syscall !== undefined) this.syscall = options.syscall;
    if (options.errno !== undefined) this.errno = options.errno;
  }
}

/**
 * The error of a run stopped by its `AbortSignal`: `name` is `'AbortError'`, as on Node's own APIs
 * (`fs.readFile`, `fetch`, `timers/promises`), so `error.name === 'AbortError'` tells an abort from a
 * failure; `code` stays `ERR_ABORTED`, the code rawbright has always given an interrupted run, and `cause`
 * is the signal's reason.
 */
export function abortError(
  message: string,
  options: { path?: string; reason?: unknown } = {},
): RawbrightError {
  const error = new RawbrightError('ERR_ABORTED', message, {
    path: options.path,
    ...(options.reason !== undefined && { cause: options.reason }),
  });
  Object.defineProperty(error, 'name', { value: 'AbortError', configurable: true, writable: true });
  return error;
}

/**
 * Turns an error thrown by the addon (a plain Error, TypeError or RangeError with a `code`) into a
 * RawbrightError with the same code, message, syscall and errno, so that callers can rely on
 * `instanceof RawbrightError`. `path` fills in the file for calls that know none (msync, madvise).
 * Anything else is returned as it is.
 */
export function asRawbrightError(error: unknown, path?: string): unknown {
  if (error instanceof RawbrightError || !(error instanceof Error)) return error;
  const code = errorCode(error);
  if (code === undefined) return error;
  const details = error as Error & { path?: unknown; syscall?: unknown; errno?: unknown };
  return new RawbrightError(code, error.message, {
    path: typeof details.path === 'string' ? details.path : path,
    syscall: typeof details.syscall === 'string' ? details.syscall : undefined,
    errno: typeof details.errno === 'number' ? details.errno : undefined,
  });
}

/** The `code` of an error thrown by rawbright, Node or the addon, if it has one. */
export function errorCode(error: unknown): PassedOnCode | undefined {
  if (error !== null && typeof error === 'object' && 'code' in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === 'string') return code as PassedOnCode;
  }
  return undefined;
}

function describe(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number' && Object.is(value, -0)) return '-0';
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  if (value !== null && typeof value === 'object') return 'an object';
  return String(value);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * The one factory for bad arguments, so every message reads the same:
 * `Expected <what> for <name> but received <value> of type <type>`.
 */
export function invalidParameterError(name: string, expected: string, actual: unknown): RawbrightError {
  return new RawbrightError(
    'ERR_INVALID_ARG_VALUE',
    `Expected ${expected} for ${name} but received ${describe(actual)} of type ${typeName(actual)}`,
  );
}
