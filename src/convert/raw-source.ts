/**
 * Opens a raw image for reading and settles its shape: from its sidecar, from explicit options, or from
 * both when they agree. Every converter that reads a raw file starts here, so they all refuse the same
 * things with the same words.
 */

import { refusePendingRun } from '../brighten/journal.js';
import { RawbrightError } from '../errors.js';
import { MappedFile } from '../file/mapped-file.js';
import { SAMPLE_TYPES, type SampleType } from '../kernels/types.js';
import { integerInRange, oneOf, type PathLike, pathArgument } from '../validate.js';
import {
  MAX_DIMENSION,
  RAW_BYTES_PER_PIXEL,
  type RawImageMetadata,
  readSidecar,
  sidecarPath,
} from './sidecar.js';

/** The shape of a raw file without a sidecar (or a check of the one it has). */
export interface RawShapeOptions {
  /** Pixels per row [the sidecar's]. */
  width?: number;
  /** Rows [the sidecar's]. */
  height?: number;
  /** Sample type [the sidecar's, else `'uint16'`]. */
  type?: SampleType;
}

/** An open raw file and what it holds. */
export interface RawSource {
  readonly file: MappedFile;
  readonly meta: Readonly<RawImageMetadata>;
  /** The sidecar's path, when the shape came from one. */
  readonly sidecar: string | undefined;
}

/** Checks `{ width, height, type }` options; each may be left out. */
function checkShapeOptions(opts: RawShapeOptions): RawShapeOptions {
  return {
    width: opts.width === undefined ? undefined : integerInRange('width', opts.width, 1, MAX_DIMENSION),
    height: opts.height === undefined ? undefined : integerInRange('height', opts.height, 1, MAX_DIMENSION),
    type: opts.type === undefined ? undefined : oneOf('type', opts.type, SAMPLE_TYPES),
  };
}

/**
 * The sample type of a headerless raw file: `given` (the type option), the sidecar's, else uint16. A type
 * option that contradicts the sidecar is refused, as by every converter.
 * @throws {RawbrightError} `ERR_SIDECAR_CONFLICT`
 */
export function settleSampleType(
  rawPath: string,
  given: SampleType | undefined,
  sidecar: Readonly<RawImageMetadata> | undefined,
): SampleType {
  if (sidecar === undefined) return given ?? 'uint16';
  if (given !== undefined && given !== sidecar.sampleType) {
    throw new RawbrightError(
      'ERR_SIDECAR_CONFLICT',
      `the sidecar ${sidecarPath(rawPath)} says ${sidecar.width}x${sidecar.height} ${sidecar.sampleType} but the options say type ${given}`,
      { path: sidecarPath(rawPath) },
    );
  }
  return sidecar.sampleType;
}

function settleShape(
  rawPath: string,
  size: number,
  given: RawShapeOptions,
  sidecar: Readonly<RawImageMetadata> | undefined,
) {
  if (sidecar !== undefined) {
    const conflicts: string[] = [];
    if (given.width !== undefined && given.width !== sidecar.width) conflicts.push(`width ${given.width}`);
    if (given.height !== undefined && given.height !== sidecar.height)
      conflicts.push(`height ${given.height}`);
    if (given.type !== undefined && given.type !== sidecar.sampleType) conflicts.push(`type ${given.type}`);
    if (conflicts.length > 0) {
      throw new RawbrightError(
        'ERR_SIDECAR_CONFLICT',
        `the sidecar ${sidecarPath(rawPath)} says ${sidecar.width}x${sidecar.height} ${sidecar.sampleType} but the options say ${conflicts.join(', ')}`,
        { path: sidecarPath(rawPath) },
      );
    }
    return sidecar;
  }
  if (given.width === undefined || given.height === undefined) {
    throw new RawbrightError(
      'ERR_SIDECAR_MISSING',
      `${rawPath} has no sidecar (${sidecarPath(rawPath)}); give its width and height (the width and height options)`,
      { path: rawPath },
    );
  }
  const expected = given.width * given.height * RAW_BYTES_PER_PIXEL;
  if (expected !== size) {
    throw new RawbrightError(
      'ERR_SIZE_MISMATCH',
      `${given.width}x${given.height} pixels make ${expected} bytes but ${rawPath} holds ${size} bytes`,
      { path: rawPath },
    );
  }
  return Object.freeze({
    width: given.width,
    height: given.height,
    channels: 4 as const,
    sampleType: given.type ?? 'uint16',
    byteOrder: 'little' as const,
  });
}

/**
 * Opens a raw image read-only under a shared lock (so a concurrent in-place brighten, which holds an
 * exclusive one, makes this fail fast rather than read half-brightened pixels), and refuses a raw
 * image whose in-place run was interrupted and not yet resumed.
 * @param rawPath The raw file.
 * @param opts `{ width, height, type }`: required without a sidecar; with one, they must agree with it.
 * @returns The open file (the caller closes it) and its metadata.
 * @throws {RawbrightError} `ENOENT` and other errno codes, `ERR_SIDECAR_INVALID`, `ERR_SIDECAR_MISMATCH`,
 * `ERR_SIDECAR_CONFLICT`, `ERR_SIDECAR_MISSING`, `ERR_SIZE_MISMATCH`, `ERR_FILE_LOCKED`, `ERR_RANGE_LOCKED` (an
 * in-place run over part of it is live), `ERR_JOURNAL_EXISTS`.
 */
export async function openRawSource(rawPath: PathLike, opts: RawShapeOptions = {}): Promise<RawSource> {
  const path = pathArgument('raw', rawPath);
  const given = checkShapeOptions(opts);
  const file = await MappedFile.openAsync(path, { access: 'read' });
  try {
    file.lock('shared');
    // Shared over the whole file: in-place runs over any range of it wait until this read is over.
    file.lockRange(0, 0, 'shared');
    // An interrupted in-place run's pixels are part old, part new until it is resumed.
    refusePendingRun(file);
    const sidecar = await readSidecar(path);
    const meta = settleShape(path, file.size, given, sidecar);
    return { file, meta, sidecar: sidecar === undefined ? undefined : sidecarPath(path) };
  } catch (error) {
    file.close();
    throw error;
  }
}
