/** Argument checks, in one place, so every public function rejects bad input the same way. */
import { Buffer } from 'node:buffer';
import { fileURLToPath } from 'node:url';
import { invalidParameterError, RawbrightError } from './errors.js';

/** The largest window: Node 20's ArrayBuffers and wasm32 memories top out at 4 GiB. */
export const MAX_WINDOW_BYTES = 2 ** 32;

export const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

export const isInteger = (value: unknown): value is number =>
  typeof value === 'number' && Number.isInteger(value);

/** Accepts a non-negative integer number or bigint up to 2^53 − 1 and returns it as a number. */
export const BYTE_COUNT = 'a whole number of bytes from 0 to 2^53 - 1';

export function byteCount(name: string, value: unknown): number {
  if (typeof value === 'bigint') {
    if (value >= 0n && value <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(value);
  } else if (isInteger(value) && value >= 0 && value <= Number.MAX_SAFE_INTEGER) {
    // -0 is accepted as 0: arithmetic produces it (Math.round(-0.2)) and it equals 0.
    return value === 0 ? 0 : value;
  }
  throw invalidParameterError(name, BYTE_COUNT, value);
}

/** Like {@link byteCount}, but `undefined` gives the fallback. */
export function optionalByteCount(name: string, value: unknown, fallback: number): number {
  return value === undefined ? fallback : byteCount(name, value);
}

export function integerInRange(name: string, value: unknown, min: number, max: number): number {
  if (isInteger(value) && value >= min && value <= max) return value === 0 ? 0 : value;
  throw invalidParameterError(name, `an integer from ${min} to ${max}`, value);
}

export function oneOf<T extends string>(name: string, value: unknown, choices: readonly T[]): T {
  if (typeof value === 'string' && (choices as readonly string[]).includes(value)) return value as T;
  throw invalidParameterError(name, `one of ${choices.map((c) => `'${c}'`).join(', ')}`, value);
}

export function optionalOneOf<T extends string>(
  name: string,
  value: unknown,
  choices: readonly T[],
  fallback: T,
): T {
  return value === undefined ? fallback : oneOf(name, value, choices);
}

export function boolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value;
  throw invalidParameterError(name, 'a boolean', value);
}

export function nonEmptyString(name: string, value: unknown): string {
  if (typeof value === 'string' && value.length > 0 && !value.includes('\0')) return value;
  throw invalidParameterError(name, 'a non-empty string without NUL bytes', value);
}

export function options(name: string, value: unknown): Record<string, unknown> {
  if (value === undefined) return {};
  if (isPlainObject(value)) return value;
  throw invalidParameterError(name, 'an object', value);
}

/**
 * A path as Node's `fs` takes one: a string, a `Buffer` (its UTF-8 bytes) or a `file:` URL. Every public
 * function that takes a path accepts these.
 */
export type PathLike = string | Buffer | URL;

/**
 * The one place a path argument becomes a string: a `file:` URL through `fileURLToPath`, a Buffer as UTF-8,
 * a string as it is; empty or with a NUL byte is refused, as by `fs`.
 * @throws {RawbrightError} `ERR_INVALID_URL_SCHEME` for a URL that is not `file:`, `ERR_INVALID_FILE_URL_PATH`
 * for a `file:` URL that names no local path (a host, an encoded `/`), `ERR_INVALID_ARG_VALUE` for anything else.
 */
export function pathArgument(name: string, value: unknown): string {
  if (value instanceof URL) {
    if (value.protocol !== 'file:') {
      throw new RawbrightError(
        'ERR_INVALID_URL_SCHEME',
        `Expected a file: URL for ${name} but received ${JSON.stringify(value.href.length > 60 ? `${value.href.slice(0, 57)}...` : value.href)} (${value.protocol} URL)`,
      );
    }
    let path: string;
    try {
      path = fileURLToPath(value);
    } catch (error) {
      throw new RawbrightError(
        'ERR_INVALID_FILE_URL_PATH',
        `Expected a file: URL of a local path for ${name} but received ${JSON.stringify(value.href)}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    return nonEmptyPath(name, path, value);
  }
  if (Buffer.isBuffer(value)) return nonEmptyPath(name, value.toString('utf8'), value);
  return nonEmptyPath(name, value, value);
}

function nonEmptyPath(name: string, path: unknown, given: unknown): string {
  if (typeof path === 'string' && path.length > 0 && !path.includes('\0')) return path;
  throw invalidParameterError(
    name,
    'a path (a non-empty string without NUL bytes, a Buffer or a file: URL)',
    given,
  );
}

/** {@link pathArgument} on a value that may be anything: the string path, or the value as it was when it is not one. */
export function pathOrAsGiven(value: unknown): unknown {
  try {
    return pathArgument('path', value);
  } catch {
    return value;
  }
}
