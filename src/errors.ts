/**
 * Errors raised by rawbright. Every one carries a stable `code`: an errno name for operating-system
 * failures (`ENOENT`, `EACCES`, `ENOSPC`, …) or an `ERR_…` code of our own, and `path` where a file
 * is involved. Messages are one plain sentence.
 */

/** An error with a stable `code` (and the `path` involved, if any). */
export class RawbrightError extends Error {
  readonly code: string;
  readonly path?: string;

  constructor(code: string, message: string, options: { path?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RawbrightError';
    this.code = code;
    if (options.path !== undefined) this.path = options.path;
  }
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
