/**
 * The sidecar: a small JSON file next to a headerless raw image, `IMAGE.raw.json`, that says how to
 * read it:
 *
 * ```json
 * { "width": 4096, "height": 2048, "channels": 4, "sampleType": "uint16", "byteOrder": "little" }
 * ```
 *
 * The parser is deliberately strict, because a raw file has no header to cross-check against: every
 * field is required, no other field is allowed, and the dimensions must account for every byte of the
 * raw file (`width × height × 8`). Anything else is refused with one plain sentence naming the sidecar.
 */
import { constants, statSync } from 'node:fs';
import { errorCode, RawbrightError } from '../errors.js';
import {
  commitOutput,
  fsError,
  fsPromises,
  type OutputPlan,
  removeQuietly,
  temporaryName,
  writeNewTextFile,
} from '../file/output.js';
import { SAMPLE_TYPES, type SampleType } from '../kernels/types.js';
import { isPlainObject, type PathLike, pathArgument } from '../validate.js';

/** What a sidecar says about its raw file. */
export interface RawImageMetadata {
  /** Pixels per row, 1 to {@link MAX_DIMENSION}. */
  width: number;
  /** Rows, 1 to {@link MAX_DIMENSION}. */
  height: number;
  /** Always 4: red, green, blue, alpha. */
  channels: 4;
  /** How a 16-bit sample is read. */
  sampleType: SampleType;
  /** Always `'little'`: the low byte of each sample comes first. */
  byteOrder: 'little';
}

/** Bytes per pixel of a rawbright raw file: four 16-bit samples. */
export const RAW_BYTES_PER_PIXEL = 8;
/** The largest width or height a sidecar may give (PNG's limit, 2^31 − 1). */
export const MAX_DIMENSION = 2 ** 31 - 1;
/** A sidecar is about 90 bytes; anything over this is not one. */
export const MAX_SIDECAR_BYTES = 64 * 1024;

const FIELDS = ['width', 'height', 'channels', 'sampleType', 'byteOrder'] as const;

/** The sidecar path of a raw file: the raw file's path with `.json` appended. */
export function sidecarPath(rawPath: PathLike): string {
  return `${pathArgument('rawPath', rawPath)}.json`;
}

function invalid(path: string, problem: string): RawbrightError {
  return new RawbrightError('ERR_SIDECAR_INVALID', `the sidecar ${path} ${problem}`, { path });
}

function dimension(path: string, record: Record<string, unknown>, name: 'width' | 'height'): number {
  const value = record[name];
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= MAX_DIMENSION)
    return value;
  throw invalid(
    path,
    `gives ${name} ${JSON.stringify(value)}; expected a whole number from 1 to ${MAX_DIMENSION}`,
  );
}

/**
 * Checks a metadata object field by field, exactly as a sidecar file is checked.
 * @param value What should be metadata.
 * @param path The sidecar path, for the error messages.
 * @returns A fresh, frozen copy holding only the five fields.
 * @throws {RawbrightError} `ERR_SIDECAR_INVALID` naming the first field that is missing, unknown or wrong.
 */
export function checkMetadata(value: unknown, path: string): Readonly<RawImageMetadata> {
  if (!isPlainObject(value)) throw invalid(path, 'does not hold a JSON object');
  for (const key of Object.keys(value)) {
    if (!(FIELDS as readonly string[]).includes(key))
      throw invalid(path, `has an unknown field ${JSON.stringify(key)}`);
  }
  for (const key of FIELDS) {
    if (!Object.hasOwn(value, key)) throw invalid(path, `has no "${key}" field`);
  }
  const width = dimension(path, value, 'width');
  const height = dimension(path, value, 'height');
  if (value.channels !== 4)
    throw invalid(path, `gives channels ${JSON.stringify(value.channels)}; only 4 (RGBA) is supported`);
  const sampleType = value.sampleType;
  if (typeof sampleType !== 'string' || !(SAMPLE_TYPES as readonly string[]).includes(sampleType)) {
    throw invalid(
      path,
      `gives sampleType ${JSON.stringify(sampleType)}; expected ${SAMPLE_TYPES.map((t) => `"${t}"`).join(' or ')}`,
    );
  }
  if (value.byteOrder !== 'little') {
    throw invalid(path, `gives byteOrder ${JSON.stringify(value.byteOrder)}; only "little" is supported`);
  }
  if (width * height * RAW_BYTES_PER_PIXEL > Number.MAX_SAFE_INTEGER) {
    throw invalid(path, `gives ${width}x${height} pixels, more bytes than a file can hold`);
  }
  return Object.freeze({
    width,
    height,
    channels: 4,
    sampleType: sampleType as SampleType,
    byteOrder: 'little',
  });
}

/**
 * Parses the text of a sidecar. Pure and synchronous, so it can be fuzzed on its own.
 * @param text The file's contents.
 * @param path The sidecar path, for the error messages.
 * @returns The metadata.
 * @throws {RawbrightError} `ERR_SIDECAR_INVALID` when the text is too long, is not JSON, or fails {@link checkMetadata}.
 */
export function parseSidecar(text: string, path: string): Readonly<RawImageMetadata> {
  if (typeof text !== 'string') throw invalid(path, 'is not text');
  if (text.length > MAX_SIDECAR_BYTES) throw invalid(path, `is larger than ${MAX_SIDECAR_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid(path, 'is not valid JSON');
  }
  return checkMetadata(value, path);
}

/** The size in bytes of the raw file the metadata describes: `width × height × 8`. */
function rawByteLength(meta: Pick<RawImageMetadata, 'width' | 'height'>): number {
  return meta.width * meta.height * RAW_BYTES_PER_PIXEL;
}

/**
 * Checks that the metadata accounts for every byte of the raw file.
 * @param meta The sidecar's metadata.
 * @param fileSize The raw file's size in bytes.
 * @param path The sidecar path, for the error message.
 * @throws {RawbrightError} `ERR_SIDECAR_MISMATCH` when `width × height × 8` differs from `fileSize`.
 */
export function checkSidecarSize(
  meta: Pick<RawImageMetadata, 'width' | 'height'>,
  fileSize: number,
  path: string,
): void {
  const expected = rawByteLength(meta);
  if (expected !== fileSize) {
    throw new RawbrightError(
      'ERR_SIDECAR_MISMATCH',
      `the sidecar ${path} says ${meta.width}x${meta.height} pixels (${expected} bytes) but the raw file holds ${fileSize} bytes`,
      { path },
    );
  }
}

function readFailure(error: unknown, path: string, what: string): RawbrightError {
  const code = errorCode(error) ?? 'ERR_SIDECAR_INVALID';
  const reason =
    code === 'EISDIR'
      ? 'it is a directory'
      : code === 'EACCES'
        ? 'permission denied'
        : (error as Error).message;
  return new RawbrightError(code, `cannot read ${what} ${path}: ${reason}`, { path, cause: error });
}

function refuseIfNotRegular(info: { isFile(): boolean; isDirectory(): boolean }, path: string): void {
  if (info.isFile()) return;
  const [code, what] = info.isDirectory()
    ? (['EISDIR', 'a directory'] as const)
    : (['ENODEV', 'not a regular file'] as const);
  throw new RawbrightError(code, `cannot read the sidecar ${path}: it is ${what}`, { path });
}

/** Whether `path` certainly does not exist (ENOENT); false for anything else, errors included. */
function noSuchFile(path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false }) === undefined;
  } catch {
    return false;
  }
}

/**
 * Reads and checks the sidecar of a raw file, including that its dimensions match the raw file's size.
 * @param raw The raw file, a path, Buffer or `file:` URL (its sidecar is the path + `'.json'`).
 * @returns The metadata, or `undefined` when there is no sidecar.
 * @throws {RawbrightError} `ERR_SIDECAR_INVALID` (not UTF-8, not JSON, a missing, unknown or wrong field),
 * `ERR_SIDECAR_MISMATCH` (dimensions that do not match the raw file's size), `ENOENT` when the sidecar exists
 * but the raw file does not, or the errno code of a failed read (`EACCES`, `EISDIR`, …).
 * @example
 * ```ts
 * const meta = await readSidecar('photo.raw');
 * if (meta) console.log(meta.width, meta.height, meta.sampleType);
 * ```
 */
export async function readSidecar(raw: PathLike): Promise<Readonly<RawImageMetadata> | undefined> {
  const rawPath = pathArgument('rawPath', raw);
  const path = sidecarPath(rawPath);
  // Most raw files have none: said at once, without loading node:fs/promises (a small file's start-up). Any
  // other answer (a sidecar, or an error such as EACCES) goes the way it always went, below.
  if (noSuchFile(path)) return undefined;
  let bytes: Buffer;
  try {
    // Looked at before it is opened (opening a device can have side effects) and again on the
    // descriptor, opened without blocking: a FIFO sidecar used to hang the process forever, and a
    // symlink to /dev/zero to read until memory ran out.
    refuseIfNotRegular(await fsPromises().stat(path), path);
    const handle = await fsPromises().open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      const info = await handle.stat();
      refuseIfNotRegular(info, path);
      if (info.size > MAX_SIDECAR_BYTES) throw invalid(path, `is larger than ${MAX_SIDECAR_BYTES} bytes`);
      bytes = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof RawbrightError) throw error;
    if (errorCode(error) === 'ENOENT') return undefined;
    throw readFailure(error, path, 'the sidecar');
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw invalid(path, 'is not UTF-8 text');
  }
  const meta = parseSidecar(text, path);
  let rawSize: number;
  try {
    const info = await fsPromises().stat(rawPath);
    if (!info.isFile())
      throw new RawbrightError('ENODEV', `${rawPath} is not a regular file`, { path: rawPath });
    rawSize = info.size;
  } catch (error) {
    if (error instanceof RawbrightError) throw error;
    if (errorCode(error) === 'ENOENT') {
      throw new RawbrightError('ENOENT', `the sidecar ${path} has no raw file: ${rawPath} does not exist`, {
        path: rawPath,
      });
    }
    throw readFailure(error, rawPath, 'the raw file');
  }
  checkSidecarSize(meta, rawSize, path);
  return meta;
}

/**
 * The text rawbright writes for a sidecar: the five fields in order, two-space indented, a final newline.
 * @param meta The metadata, checked by {@link checkMetadata}.
 * @param path The sidecar path, for the error message ['the sidecar'].
 * @throws {RawbrightError} `ERR_SIDECAR_INVALID` for bad metadata.
 */
export function formatSidecar(meta: RawImageMetadata, path = '(new)'): string {
  const checked = checkMetadata(meta, path);
  return `${JSON.stringify(
    {
      width: checked.width,
      height: checked.height,
      channels: checked.channels,
      sampleType: checked.sampleType,
      byteOrder: checked.byteOrder,
    },
    null,
    2,
  )}\n`;
}

/**
 * Writes the sidecar of a raw file, replacing any old one atomically (a temporary file in the same folder,
 * renamed over the sidecar), so a reader sees either the old sidecar or the new one, never half of one.
 * @param raw The raw file, a path, Buffer or `file:` URL (the sidecar goes to the path + `'.json'`).
 * @param meta `{ width, height, channels: 4, sampleType, byteOrder: 'little' }`.
 * @returns The sidecar's path.
 * @throws {RawbrightError} `ERR_SIDECAR_INVALID` for bad metadata, `ERR_SIDECAR_MISMATCH` when the raw file exists
 * and its size does not match, or the errno code of a failed write (`EACCES`, `ENOSPC`, …).
 * @example
 * ```ts
 * await writeSidecar('photo.raw', { width: 600, height: 400, channels: 4, sampleType: 'uint16', byteOrder: 'little' });
 * ```
 */
export async function writeSidecar(raw: PathLike, meta: RawImageMetadata): Promise<string> {
  const rawPath = pathArgument('rawPath', raw);
  const path = sidecarPath(rawPath);
  const text = formatSidecar(meta, path);
  try {
    const info = await fsPromises().stat(rawPath);
    if (info.isFile()) checkSidecarSize(meta, info.size, path);
  } catch (error) {
    if (error instanceof RawbrightError || errorCode(error) !== 'ENOENT') throw error;
  }
  const temporary = temporaryName(path);
  try {
    await writeNewTextFile(temporary, text);
    await fsPromises().rename(temporary, path);
  } catch (error) {
    await fsPromises()
      .unlink(temporary)
      .catch(() => undefined);
    const code = errorCode(error) ?? 'EIO';
    throw new RawbrightError(code, `cannot write the sidecar ${path}: ${(error as Error).message}`, {
      path,
      cause: error,
    });
  }
  return path;
}

/**
 * Commits a raw file and its sidecar in the one order that never pairs a new raw file with an old sidecar:
 * the old sidecar goes first, then the raw file takes its name, then the new sidecar. An interruption leaves
 * at worst a raw file without a sidecar, which every command refuses to read without explicit dimensions.
 */
export async function commitRawWithSidecar(raw: OutputPlan, sidecar: OutputPlan): Promise<void> {
  if (raw.overwrite) {
    await fsPromises()
      .unlink(sidecar.path)
      .catch((error) => {
        if (errorCode(error) !== 'ENOENT')
          throw fsError(error, `cannot replace ${sidecar.path}: ${error.message}`, sidecar.path);
      });
  }
  try {
    await commitOutput(raw);
  } catch (error) {
    await removeQuietly(sidecar.temporary);
    throw error;
  }
  await commitOutput(sidecar);
}
