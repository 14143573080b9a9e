/**
 * Planning a run once its file is open: the file's shape and the range to brighten, the windows, the
 * arena, space reserved before any pixel changes, and the configuration every worker gets.
 */
import { realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { asRawbrightError, errorCode, invalidParameterError, RawbrightError } from '../errors.js';
import type { MappedFile } from '../file/mapped-file.js';
import { detectLayout } from '../formats/detect.js';
import type { FileLayout, PixelLayout } from '../formats/layout.js';
import { MAX_ARENA_BYTES } from '../kernels/host.js';
import { checkOps } from '../kernels/ops.js';
import type { BrightenParams } from '../kernels/types.js';
import { SAMPLE_TYPES, type SampleType } from '../pixels.js';
import { oneOf, optionalByteCount } from '../validate.js';
import { BLOCK, DEFAULT_CHUNK, type JournalParams, KERNEL_CHUNK, segmentWindows } from './journal.js';
import { type CheckedBrighten, type CommonOptions, pixelAligned } from './options.js';
import type { RunPlan } from './pool.js';
import type { ResolvedStrategy, WorkerWindow } from './protocol.js';

/**
 * What a run's file is, as the real run and the dry run both see it: its layout (TIFF, FITS, PNM;
 * undefined for a headerless raw file, whose type then comes from `givenType`, the sidecar or 'uint16')
 * and the type the options give, checked. A file with a layout refuses `offset` and `length`.
 */
export function detectFileLayout(
  file: MappedFile,
  checked: CheckedBrighten,
): { givenType: SampleType | undefined; layout: FileLayout | undefined } {
  const givenType = checked.type === undefined ? undefined : oneOf('type', checked.type, SAMPLE_TYPES);
  const layout = detectLayout(file, {
    type: givenType,
    bands: checked.bands,
    byteOrder: checked.byteOrder,
    header: checked.header,
    alpha: checked.alpha,
  });
  if (layout !== undefined && (checked.offset !== undefined || checked.length !== undefined)) {
    throw invalidParameterError(
      'offset',
      `no offset or length for a ${layout.format} file (they apply to headerless RGBA files)`,
      checked.offset ?? checked.length,
    );
  }
  return { givenType, layout };
}

/** The file's size, refused when it cannot hold whole 8-byte pixels. */
export function checkFileShape(file: MappedFile): number {
  const size = file.size;
  if (size === 0) throw new RawbrightError('ERR_EMPTY_FILE', `${file.path} is empty`, { path: file.path });
  if (size % 8 !== 0) {
    throw new RawbrightError(
      'ERR_NOT_PIXEL_ALIGNED',
      `${file.path} is ${size} bytes, not a whole number of 8-byte RGBA16 pixels`,
      { path: file.path },
    );
  }
  return size;
}

/** The byte range [offset, offset + length) to brighten, checked against the file's size. */
export function checkRange(
  path: string,
  size: number,
  givenOffset: unknown,
  givenLength: unknown,
): { offset: number; length: number } {
  const offset = pixelAligned('offset', optionalByteCount('offset', givenOffset, 0));
  if (offset > size) throw new RawbrightError('ERR_OUT_OF_RANGE', 'offset is larger than the file', { path });
  const length = pixelAligned('length', optionalByteCount('length', givenLength, size - offset));
  if (length > size - offset) {
    throw new RawbrightError('ERR_OUT_OF_RANGE', 'length is past the end of the file', { path });
  }
  return { offset, length };
}

/**
 * The arena holds one window; windows past what a wasm32 memory can hold go through in pieces of the
 * largest arena. No larger than the bytes it will hold, so a small file never reserves a huge wasm memory.
 */
export function arenaSize(windowSize: number, bytesToHold: number): number {
  return Math.min(windowSize, MAX_ARENA_BYTES - (MAX_ARENA_BYTES % 8), Math.max(8, bytesToHold));
}

function sameFile(a: string, b: string): boolean {
  try {
    const sa = statSync(a);
    const sb = statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

/** The absolute path `out` will have, resolving its folder's symlinks, to compare it with the input. */
function canonicalTarget(path: string): string {
  try {
    return join(realpathSync(dirname(resolve(path))), basename(path));
  } catch {
    return resolve(path);
  }
}

/** Refuses an output that is the input itself, by any name. */
export function refuseSameFile(out: string, input: string): void {
  if (canonicalTarget(out) === canonicalTarget(input) || sameFile(out, input)) {
    throw new RawbrightError(
      'ERR_SAME_FILE',
      `the output ${out} is the input file; leave out the out option to brighten in place`,
      { path: out },
    );
  }
}

/** In place: the range, in windows of `window` bytes. */
export function splitIntoWindows(offset: number, length: number, window: number): WorkerWindow[] {
  const windows: WorkerWindow[] = [];
  for (let index = 0, start = offset; start < offset + length; index++, start += window) {
    const size = Math.min(window, offset + length - start);
    windows.push({ index, offset: start, length: size, brightenOffset: start, brightenLength: size });
  }
  return windows;
}

/** Out of place, every byte of the file is copied and only the range is brightened. */
export function splitWholeFile(size: number, window: number, offset: number, length: number): WorkerWindow[] {
  return splitIntoWindows(0, size, window).map((w) => {
    const from = Math.max(w.offset, offset);
    const to = Math.min(w.offset + w.length, offset + length);
    return { ...w, brightenOffset: from, brightenLength: Math.max(0, to - from) };
  });
}

/**
 * Finds a full disk or a file size limit before any pixel changes. A sparse file's holes need blocks
 * the first time a mapped window writes them, and on a full disk that is SIGBUS (or, prefaulted, an
 * EFAULT that reads like a truncation) part way through: allocate them now. And pwrite refuses any
 * byte at or past `ulimit -f`, even inside the file: rewrite the range's last byte with its own value.
 */
export function reserveInPlace(file: MappedFile, offset: number, length: number): void {
  refuseUnlessRealFile(file);
  if (length === 0) return;
  // Allocating past the end would extend the file: one cut since it was checked is refused instead.
  if (file.size < offset + length) throw shorterThanRange(file, offset + length);
  try {
    file.allocate(offset, length);
  } catch (error) {
    // A file system that cannot allocate ahead (glibc emulates it where it can) is no reason to refuse.
    const code = errorCode(error);
    if (code !== 'EOPNOTSUPP' && code !== 'ENOSYS' && code !== 'EINVAL')
      throw asRawbrightError(error, file.path);
  }
  // The last byte is written back as it was read, to claim its block; a file found shorter than the
  // range (cut since it was checked) is refused rather than extended with a byte it never had.
  const last = Buffer.alloc(1);
  if (file.read(offset + length - 1, last) !== 1) throw shorterThanRange(file, offset + length);
  file.write(offset + length - 1, last);
}

/**
 * The probe writes a byte back, harmless only in a regular file on a real file system: a pseudo file
 * (proc, sysfs, ...) or anything but a regular file is refused before any byte changes. Asked of the
 * open descriptor, so a symlink to /proc or /sys is judged by where it leads.
 * @throws {RawbrightError} `ERR_UNSUPPORTED`.
 */
export function refuseUnlessRealFile(file: MappedFile): void {
  const kind = file.fileKind();
  if (!kind.regular) {
    throw new RawbrightError('ERR_UNSUPPORTED', `${file.path} is not a regular file; nothing was changed`, {
      path: file.path,
    });
  }
  if (kind.pseudo !== undefined) {
    throw new RawbrightError(
      'ERR_UNSUPPORTED',
      `${file.path} is on ${kind.pseudo}, a pseudo file system whose files are not image data; nothing was changed`,
      { path: file.path },
    );
  }
}

function shorterThanRange(file: MappedFile, end: number): RawbrightError {
  return new RawbrightError(
    'ERR_FILE_TRUNCATED',
    `${file.path} became shorter than ${end} bytes before the run started; nothing was changed`,
    { path: file.path },
  );
}

/** What a run is about, apart from its windows. */
export interface RunSubject {
  path: string;
  /** The final output (out of place). */
  out?: string;
  /** Where the workers write the output until it is complete. */
  temporaryOut?: string;
  strategy: ResolvedStrategy;
  params: BrightenParams;
  arenaBytes: number;
  durable: boolean;
  journal?: { path: string; params: JournalParams };
  /** Overlays get MADV_HUGEPAGE unless the caller's tuning says otherwise. */
  hugepageByDefault: boolean;
}

/** The plan the worker pool runs: the windows and what every worker needs to know. */
export function buildRunPlan(
  subject: RunSubject,
  windows: RunPlan['windows'],
  totalWindows: number,
  workers: number,
  common: CommonOptions,
): RunPlan {
  return {
    path: subject.path,
    ...(subject.out !== undefined && { out: subject.out }),
    windows,
    totalWindows,
    bytes: windows.reduce((sum, w) => sum + w.length, 0),
    config: {
      path: subject.path,
      ...(subject.temporaryOut !== undefined && { out: subject.temporaryOut }),
      strategy: subject.strategy,
      kernel: common.kernel,
      params: subject.params,
      arenaBytes: subject.arenaBytes,
      durable: subject.durable,
      ...common.levers,
      hugepage: common.hugepage ?? subject.hugepageByDefault,
    },
    ...(subject.journal !== undefined && { journal: subject.journal }),
    workers,
    inThread: common.inThread,
    signal: common.signal,
    onProgress: common.onProgress,
  };
}

/** Windows and chunks of a run over extents hold whole pixels of every layout: a multiple of 24 bytes (8, 6, 4, 2). */
const SEGMENT_UNIT = 24;

/**
 * A journal's undo chunk and how it is checked. A plain brighten (no adjust chain) on the wasm-simd kernel
 * through overlays is recorded by the kernel itself, in chunks that stay in L1 (journal.ts, KERNEL_CHUNK;
 * check `sum`); everything else records 1 MiB chunks from JavaScript (CRC-32), and a durable run whole
 * windows, as it flushes at every step. Always at most a window, and whole pixels of every layout of a run over
 * extents.
 */
export function journalChunking(
  common: Pick<CommonOptions, 'durable' | 'journalChunk' | 'kernel'>,
  strategy: ResolvedStrategy,
  plainBrighten: boolean,
  arenaBytes: number,
  segmented: boolean,
): { chunk: number; check?: 'blocks' } {
  if (common.durable) return { chunk: arenaBytes };
  const kernelRecords =
    common.journalChunk === undefined &&
    common.kernel === 'wasm-simd' &&
    strategy === 'mmap' &&
    plainBrighten;
  const wanted = Math.min(kernelRecords ? KERNEL_CHUNK : (common.journalChunk ?? DEFAULT_CHUNK), arenaBytes);
  const chunk = segmented ? Math.max(SEGMENT_UNIT, wanted - (wanted % SEGMENT_UNIT)) : wanted;
  return kernelRecords && chunk % BLOCK === 0 ? { chunk, check: 'blocks' } : { chunk };
}

/** The kernel parameters of a file's layout; with `ops` (an adjust run), its chain checked for the layout's bands. */
function kernelParams(layout: PixelLayout, by: number, alpha: boolean, ops?: unknown): BrightenParams {
  // The last of 2 or 4 bands is spared only when the file says it is alpha.
  const changesAlpha = layout.hasAlpha ? alpha : layout.bands === 2 || layout.bands === 4;
  const spared = !changesAlpha && (layout.bands === 2 || layout.bands === 4);
  return {
    ...(ops !== undefined && { ops: checkOps(ops, layout.bands, spared) }),
    delta: by,
    type: layout.type,
    bands: layout.bands,
    alpha: changesAlpha,
    byteOrder: layout.byteOrder,
    ...(layout.max !== undefined && layout.max < 65535 && { max: layout.max }),
  };
}

/** A run over a file's extents: its windows, arena, and what the journal records of them. */
export interface SegmentPlan {
  windows: WorkerWindow[];
  arenaBytes: number;
  segments: [number, number, number][];
  layouts: BrightenParams[];
}

export function planSegments(
  layout: FileLayout,
  windowSize: number,
  by: number,
  alpha: boolean,
  ops?: unknown,
): SegmentPlan {
  const largest = Math.max(...layout.extents.map((e) => e.length));
  const limit = Math.min(windowSize, MAX_ARENA_BYTES);
  const window = Math.max(SEGMENT_UNIT, limit - (limit % SEGMENT_UNIT));
  const arenaBytes = Math.min(window, Math.ceil(largest / SEGMENT_UNIT) * SEGMENT_UNIT);
  const segments = layout.extents.map((e): [number, number, number] => [e.offset, e.length, e.layout]);
  const layouts = layout.layouts.map((l) => kernelParams(l, by, alpha, ops));
  const windows = segmentWindows(segments, arenaBytes).map((w, index) => ({
    index,
    offset: w.offset,
    length: w.length,
    brightenOffset: w.offset,
    brightenLength: w.length,
    params: layouts[w.layout]!,
  }));
  return { windows, arenaBytes, segments, layouts };
}
