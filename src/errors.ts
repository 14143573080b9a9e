/**
 * Errors raised by rawbright. Every one carries a stable `code`: an errno name for operating-system
 * failures (`ENOENT`, `EACCES`, `ENOSPC`, …) or an `ERR_…` code of our own, and `path` where a file
 * is involved. Messages are one plain sentence.
 */

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
    code: string,
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
export function errorCode(error: unknown): string | undefined {
  if (error !== null && typeof error === 'object' && 'code' in error) {
    const code = (error as { code: unknown }).code;
    if (typeof code === 'string') return code;
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
