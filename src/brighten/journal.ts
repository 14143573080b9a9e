/**
 * The undo journal that makes in-place runs crash safe.
 *
 * Layout of `FILE.rawbright-journal` (little-endian), every section page aligned:
 * - header page: magic `RBJRNL06` (`RBJRNL05`: the same without `check`, still resumed), u32 length of the
 *   parameters JSON, u32 CRC-32 of it, the JSON;
 * - done map: one u32 per window, 0 until the window is brightened, then the window's tag (a value
 *   derived from its index with no zero byte, so no single damaged byte turns 0 into a tag or a tag
 *   into 0 or another tag);
 * - sample table: two u32 per window, written before its done tag: a CRC-32 of a sample of the window's
 *   bytes as the run left them (see {@link windowSample}) and a CRC-32 of that value and the window's
 *   index, so damage to the entry is told apart from a file whose bytes changed since. A resume
 *   recomputes every done window's sample from the file before it writes anything and refuses a file
 *   restored from a copy over the same inode (`ERR_JOURNAL_STALE`);
 * - one slot per worker: a slot header page whose first 8 bytes hold the magic `RBSLOT03`, the next
 *   8 bytes the slot's record — a u32 state (0xFFFFFFFF unused, else `2·chunk + 1` while `chunk` is
 *   saved and being changed, `2·chunk` once it is done) and above it a u32 CRC-32 of the state (and,
 *   while saved, of the ring's CRC), stored as one 64-bit word so a kill never tears it — then at byte
 *   16 the u32 CRC-32 of the saved chunk, written before the state that relies on it; at byte 24 the
 *   progress sample, one 64-bit word written before each "done": a checksum of the chunk's start as the
 *   run left it (CRC-32 of its first 4 KiB; in a `blocks` journal, {@link ringSum} of its first 256 bytes),
 *   and above it a CRC-32 of that value and the chunk's number, so a resume of a window left part way can
 *   check its changed part is still what the run wrote (see {@link Journal.restoreAndPlan}); in a `blocks`
 *   journal, at byte 32 the block count word (u32 blocks saved, u32 the chunk's number) and at 64 and 96 two
 *   buffers of the saved blocks' {@link laneSums}; then room for one chunk's bytes (the ring).
 *
 * Every byte a resume relies on is checked: damage anywhere is refused (`ERR_JOURNAL_CORRUPT`) before
 * the file is touched.
 *
 * How a chunk is saved (JournalParams.check). Recorded from JavaScript (every kernel; 1 MiB chunks): before a
 * chunk changes, its original bytes are copied into the worker's ring, their CRC-32 stored, and the state set
 * to "saved"; once the chunk is brightened the state becomes "done". Recorded by the wasm-simd kernel itself
 * (check `blocks`, 48 KiB chunks; assembly/index.ts, brightenJournaled): the state says "saved" (in flight)
 * first, and the kernel saves and changes the chunk in one pass, 96-byte block by block: each block's
 * original bytes to the ring, then the sums of the blocks saved so far and their count, then the block's
 * change; a resume puts back the counted blocks. The slot is mapped shared, and a process's stores reach the
 * page cache in program order, so after a kill at any moment each window is done, untouched, or brightened up
 * to a known chunk with that chunk's changed bytes restorable from the ring.
 *
 * With `durable`, a chunk is a whole window and every step is flushed to disk (msync/fsync), which
 * extends the same guarantee to a power cut.
 */
import { existsSync, lstatSync, readdirSync, realpathSync, statSync, unlinkSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { errorCode, RawbrightError } from '../errors.js';
import { crc32OfWords, crc32 as fastCrc32, laneSums, ringSum } from '../file/checksum.js';
import { MappedFile, type Window } from '../file/mapped-file.js';
import { listMarkers, readMarker, removeMarker, writeMarker } from '../file/marker.js';
import { type CheckedOp, checkOps } from '../kernels/ops.js';
import type { Bands, BrightenParams, Channels, SampleType } from '../kernels/types.js';

const HEADER_MAGIC = 'RBJRNL06';
/** The journal before `check` existed: the same layout with CRC-32 checksums throughout, still resumed here. */
const CRC_ONLY_MAGIC = 'RBJRNL05';
/** The magics of older journals: their runs must be finished by the rawbright that made them. */
const OLDER_MAGICS = ['RBJRNL02', 'RBJRNL03', 'RBJRNL04'];
const SLOT_MAGIC = 'RBSLOT03';
/** The state of a slot not yet used. */
const UNUSED = 0xffffffff;
/** The most chunks one run can have, so every state fits a u32 below {@link UNUSED}. */
const MAX_CHUNKS = 2 ** 31 - 1;
const PAGE = 4096;
/** Where a slot's progress word is, in its header page. */
const PROGRESS_OFFSET = 24;
/** The largest header: the parameters of a run over very many extents. */
const MAX_HEADER = 16 * 1024 * 1024;
const JOURNAL_VERSION = 2;
/** The chunk size of runs recorded from JavaScript (the JS, scalar and native kernels, pread, adjust chains). */
export const DEFAULT_CHUNK = 1024 * 1024;
/**
 * The chunk size of runs the wasm kernel records itself (check `blocks`, assembly/index.ts brightenJournaled):
 * it saves and changes each {@link BLOCK} in one pass, so the chunk is only the unit of the progress and done
 * records; 48 KiB keeps the ring in L2 and those records rare. A multiple of BLOCK.
 */
export const KERNEL_CHUNK = 48 * 1024;
/** The kernel's unit of saving in a `blocks` journal: 96 bytes, whole pixels of every layout. */
export const BLOCK = 96;
/** Bytes at a chunk's start that its progress sample covers in a `blocks` journal. */
const BLOCKS_SAMPLE = 256;
/** Where a slot's block count word and its two sums buffers are, in its header page (`blocks` journals). */
const COUNT_OFFSET = 32;
const SUMS_OFFSET = 64;

/** The run a journal belongs to: everything a resume needs to finish it identically. */
export interface JournalParams {
  version: number;
  /** The file being brightened, as it was given, its size, device and inode. */
  file: { path: string; size: number; dev: number; ino: number };
  by: number;
  type: SampleType;
  channels: Channels;
  /** The brightened range of the file. */
  offset: number;
  length: number;
  /** Window size in bytes; window k covers [offset + k·window, …) clipped to the range. */
  window: number;
  windows: number;
  /** Undo granularity: chunk c of window k starts at offset + k·window + c·chunk. */
  chunk: number;
  slots: number;
  /** The run flushed every step to disk; its resume does too unless told otherwise. */
  durable?: boolean;
  /** The run's id (16 hex digits), also in the file's `run` marker until the run is finished. */
  run?: string;
  /** The file system keeps markers: the file carried the run marker before any pixel changed. */
  marked?: boolean;
  /**
   * A run over a file with a header (TIFF, FITS, PNM, raw with a header): the byte extents of its pixel
   * data as `[offset, length, layout]`, sorted and disjoint, each cut into windows of `window` bytes;
   * windows are numbered across the extents in order. `offset`/`length` then span the extents.
   */
  segments?: [number, number, number][];
  /** The kernel parameters of each layout a segment names. */
  layouts?: BrightenParams[];
  /** An adjust run over a headerless file: its ops (a segmented run's are in its layouts). */
  ops?: readonly CheckedOp[];
  /**
   * How a chunk in flight is saved and checked: absent, whole before it changes, its ring checked by a CRC-32
   * and its progress sample a CRC-32 of its first 4 KiB; `blocks`, block by block as the kernel changes it
   * (see the layout above), the saved blocks counted and checked by their {@link laneSums}, and its progress
   * sample the {@link ringSum} of its first 256 bytes. The state words are CRC-32 checked in both.
   */
  check?: 'blocks';
}

/** Whether recorded ops are a valid chain for `bands` (the journal may be damaged or forged). */
function validOps(ops: unknown, bands: number): boolean {
  if (ops === undefined) return true;
  try {
    const checked = checkOps(ops, bands as Bands);
    return Array.isArray(ops) && ops.every((op, i) => JSON.stringify(op) === JSON.stringify(checked[i]));
  } catch {
    return false;
  }
}

/** The windows of a segmented run, in order: every extent cut into pieces of at most `window` bytes. */
export function segmentWindows(
  segments: readonly (readonly [number, number, number])[],
  window: number,
): { offset: number; length: number; layout: number }[] {
  const windows: { offset: number; length: number; layout: number }[] = [];
  for (const [offset, length, layout] of segments) {
    for (let at = offset; at < offset + length; at += window) {
      windows.push({ offset: at, length: Math.min(window, offset + length - at), layout });
    }
  }
  return windows;
}

/** Checks a segmented run's extents and layouts; false when anything is out of place. */
function validSegments(p: Partial<JournalParams>, size: number): boolean {
  const { segments, layouts } = p;
  if (!Array.isArray(segments) || !Array.isArray(layouts) || segments.length === 0 || layouts.length === 0) {
    return false;
  }
  if (layouts.length > 64 || segments.length > 1_000_000) return false;
  for (const layout of layouts) {
    const bands = layout?.bands ?? 4;
    if (layout === null || typeof layout !== 'object' || ![1, 2, 3, 4].includes(bands)) return false;
    if (!validOps(layout.ops, bands)) return false;
  }
  let end = 0;
  for (const segment of segments) {
    if (!Array.isArray(segment) || segment.length !== 3) return false;
    const [offset, length, layout] = segment;
    if (!isWholeNumber(offset) || !isWholeNumber(length) || !isWholeNumber(layout, layouts.length - 1))
      return false;
    if (offset < end || length === 0 || offset + length > size) return false;
    if (length % (2 * (layouts[layout]!.bands ?? 4)) !== 0) return false;
    end = offset + length;
  }
  return (
    p.offset === segments[0]![0] &&
    p.length === end - segments[0]![0] &&
    isWholeNumber(p.window) &&
    p.window > 0 &&
    p.window % 24 === 0 &&
    p.windows === segmentWindows(segments, p.window).length
  );
}

/** The most workers (journal slots) one run can have. */
export const MAX_SLOTS = 64;

/** A byte range of one window still to brighten. */
export interface PendingRange {
  index: number;
  offset: number;
  length: number;
  /**
   * The slot whose state records how far this window got, for a window resumed part way. Only that
   * slot's worker may take another window before this one is done, or a second kill would lose the
   * window's progress (see {@link Journal.restoreAndPlan}).
   */
  slot?: number;
}

/**
 * The byte range a ranged run is named by: its journal, its run marker and its journal marker carry it
 * (`.START-END`), so runs over disjoint ranges of one file each have their own and can run at once. A
 * run over the whole file, and every run over a file with a header, has none and keeps the plain names
 * (`FILE.rawbright-journal`, `user.rawbright.journal`, `user.rawbright.run`).
 */
export interface JournalRange {
  offset: number;
  length: number;
}

/** The name suffix of a range: `.START-END`, or nothing for a whole-file run. */
function rangeSuffix(range: JournalRange | undefined): string {
  return range === undefined ? '' : `.${range.offset}-${range.offset + range.length}`;
}

/** The range a name suffix stands for: undefined for none, null when it is not a range suffix. */
function parseRangeSuffix(suffix: string): JournalRange | undefined | null {
  if (suffix === '') return undefined;
  const match = /^\.(0|[1-9]\d{0,15})-(0|[1-9]\d{0,15})$/.exec(suffix);
  if (match === null) return null;
  const start = Number(match[1]);
  const end = Number(match[2]);
  if (!Number.isSafeInteger(end) || end < start) return null;
  return { offset: start, length: end - start };
}

/** How a journal's range reads in messages: `bytes 0…4096`, or `the whole file`. */
export function describeRange(range: JournalRange | undefined): string {
  return range === undefined ? 'the whole file' : `bytes ${range.offset}…${range.offset + range.length}`;
}

/** Whether a run over `range` touches bytes of a journal's range (undefined, the whole file, touches all). */
function overlaps(range: JournalRange | undefined, other: JournalRange | undefined): boolean {
  if (range === undefined || other === undefined) return true;
  return range.offset < other.offset + other.length && other.offset < range.offset + range.length;
}

/**
 * The journal's path for a file (and for a ranged run, its range): beside the file's real path, so every
 * symbolic link to the file finds the same journal.
 */
export function journalPathFor(path: string, range?: JournalRange): string {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    real = resolve(path);
  }
  return `${real}.rawbright-journal${rangeSuffix(range)}`;
}

/** The file marker (a `user.rawbright.journal` attribute) that names the journal of a pending run. */
const JOURNAL_MARKER = 'journal';

/** A pending run's journal, as {@link pendingJournals} finds it. */
export interface PendingJournal {
  /** The journal's path (for a lost one, the path the file's mark names). */
  path: string;
  /** The range its name carries; undefined for a whole-file run. */
  range: JournalRange | undefined;
  /** The file is marked with the journal but the journal is gone (see {@link journalLostError}). */
  lost: boolean;
}

/**
 * Every journal of a pending run on `file`, live or interrupted, one per range, the whole-file one first,
 * then by offset. A run marks the file itself with its journal's path, so the journal is found through any
 * path or hard link; a run killed before it marked the file is found by its run marker and the journal
 * beside the file's real path. Where the file system keeps no markers, journals are looked for beside the
 * file's real path only.
 */
export function pendingJournals(file: MappedFile): PendingJournal[] {
  const found = new Map<string, PendingJournal>();
  const beside = (suffix: string, range: JournalRange | undefined): void => {
    const path = journalPathFor(file.path, range);
    if (found.get(suffix)?.lost === false || !existsSync(path)) return;
    found.set(suffix, { path, range, lost: false });
  };
  const markers = listMarkers(file);
  if (markers === undefined) {
    // No markers: the folder of the file's real path is the only place a journal can be.
    const base = journalPathFor(file.path);
    let names: string[] = [];
    try {
      names = readdirSync(dirname(base));
    } catch {
      // An unreadable folder hides nothing a run could have made there.
    }
    for (const name of names) {
      if (!name.startsWith(basename(base))) continue;
      const suffix = name.slice(basename(base).length);
      const range = parseRangeSuffix(suffix);
      if (range !== null) beside(suffix, range);
    }
  } else {
    for (const name of markers) {
      const [kind, suffix] = name.startsWith(JOURNAL_MARKER)
        ? [JOURNAL_MARKER, name.slice(JOURNAL_MARKER.length)]
        : name.startsWith(RUN_MARKER)
          ? [RUN_MARKER, name.slice(RUN_MARKER.length)]
          : [undefined, ''];
      const range = kind === undefined ? null : parseRangeSuffix(suffix);
      if (range === null) continue;
      if (kind === JOURNAL_MARKER) {
        const marked = readMarker(file, name);
        if (marked !== undefined && existsSync(marked))
          found.set(suffix, { path: marked, range, lost: false });
        else beside(suffix, range);
        // A run marks the file before it changes a pixel and unmarks it before its journal goes: a mark
        // without its journal means the journal was lost (deleted or moved by hand) part way through.
        if (marked !== undefined && !found.has(suffix))
          found.set(suffix, { path: marked, range, lost: true });
      } else {
        beside(suffix, range);
      }
    }
    // A copy of a journal put back beside the file (its checks then say whether it applies).
    beside('', undefined);
  }
  const start = (journal: PendingJournal) => journal.range?.offset ?? -1;
  return [...found.values()].sort(
    (a, b) => start(a) - start(b) || (a.range?.length ?? 0) - (b.range?.length ?? 0),
  );
}

/**
 * The journal of a pending run on `file`, if there is one (the first, when ranges of the file have several).
 * @throws {RawbrightError} `ERR_JOURNAL_LOST` when a pending run's journal is gone.
 */
export function pendingJournal(file: MappedFile): string | undefined {
  const journals = pendingJournals(file);
  const lost = journals.find((journal) => journal.lost);
  if (lost !== undefined) throw journalLostError(file.path, lost.path);
  return journals[0]?.path;
}

/** The error for a file whose interrupted run has lost its journal. */
export function journalLostError(path: string, journal: string): RawbrightError {
  return new RawbrightError(
    'ERR_JOURNAL_LOST',
    `${path} was being changed by a run whose journal ${journal} is gone, so its pixels may be part changed; ` +
      `to accept the file as it is, run 'rawbright resume ${path} --discard'`,
    { path },
  );
}

/**
 * True when `file` carries a run's id but not the mark naming its journal: the run (over `range`, or the
 * whole file) was stopped while its journal was being made, before any pixel changed.
 */
export function isRunUnmarked(file: MappedFile, range?: JournalRange): boolean {
  const suffix = rangeSuffix(range);
  return (
    readMarker(file, RUN_MARKER + suffix) !== undefined &&
    readMarker(file, JOURNAL_MARKER + suffix) === undefined
  );
}

/**
 * Refuses a journal that someone other than the file's owner (or the running user) could have made or
 * changed: one planted beside another user's file in a shared folder, a symbolic link, or one that
 * others may write. Resuming it would write its bytes into the file.
 * @throws {RawbrightError} `ERR_JOURNAL_UNTRUSTED`.
 */
export function checkJournalTrusted(journalPath: string, file: MappedFile): void {
  const untrusted = (why: string) =>
    new RawbrightError(
      'ERR_JOURNAL_UNTRUSTED',
      `the journal ${journalPath} ${why}, so it is not applied to ${file.path}; nothing was changed (remove it if it is not yours)`,
      { path: journalPath },
    );
  const info = lstatSync(journalPath);
  if (info.isSymbolicLink()) throw untrusted('is a symbolic link');
  if (!info.isFile()) throw untrusted('is not a regular file');
  const fileOwner = statSync(file.path).uid;
  const me = process.getuid?.() ?? info.uid;
  if (info.uid !== fileOwner && info.uid !== me) {
    throw untrusted(`belongs to uid ${info.uid}, not to the file's owner (uid ${fileOwner})`);
  }
  if ((info.mode & 0o022) !== 0) throw untrusted('may be written by other users (its mode lets them)');
  if (info.nlink !== 1) throw untrusted('has other names (hard links)');
}

/**
 * Refuses to read or change a file whose in-place run was interrupted: its bytes are part old, part
 * brightened, and only `rawbright resume` can finish them. With `range`, only a pending run over bytes of
 * that range is refused (another range's run, live or interrupted, is left to itself); without, any.
 * The caller holds a range lock over what it reads or changes, so a journal found here is of no live run
 * that overlaps it.
 * @throws {RawbrightError} `ERR_JOURNAL_EXISTS` naming the pending run's range, `ERR_JOURNAL_LOST`.
 */
export function refusePendingRun(file: MappedFile, range?: JournalRange): void {
  const journals = pendingJournals(file).filter((journal) => overlaps(range, journal.range));
  const lost = journals.find((journal) => journal.lost);
  if (lost !== undefined) throw journalLostError(file.path, lost.path);
  // A journal of this very range that no mark on the file names was never this file's: it is refused
  // for what it is (planted, or a copy put back by hand), not offered to `resume`.
  const own = range === undefined ? undefined : journalPathFor(file.path, range);
  if (own !== undefined && journals.length === 0 && existsSync(own)) throw leftoverJournalError(own, file);
  const journal = journals[0];
  if (journal === undefined) return;
  const over = journal.range === undefined ? '' : ` over ${describeRange(journal.range)}`;
  throw new RawbrightError(
    'ERR_JOURNAL_EXISTS',
    `${file.path} has an interrupted run${over}: finish it with 'rawbright resume ${file.path}' first (its journal is ${journal.path})`,
    { path: file.path },
  );
}

/**
 * The journals beside `file`'s real path that no run on the file names: a run marks the file with its id
 * before it makes its journal, so where the file system keeps markers such a journal was planted by
 * someone, or is a copy put back by hand. {@link pendingJournals} leaves them out (they are not the
 * file's to resume); `resume` reports them ({@link leftoverJournalError}) rather than saying there is
 * nothing to do while `brighten` refuses the range.
 */
export function leftoverJournals(file: MappedFile): string[] {
  const base = journalPathFor(file.path);
  const known = new Set(pendingJournals(file).map((journal) => journal.path));
  let names: string[] = [];
  try {
    names = readdirSync(dirname(base));
  } catch {
    // An unreadable folder holds nothing a resume could apply.
  }
  return names
    .filter((name) => name.startsWith(basename(base)))
    .filter((name) => parseRangeSuffix(name.slice(basename(base).length)) !== null)
    .map((name) => resolve(dirname(base), name))
    .filter((path) => !known.has(path))
    .sort();
}

/**
 * The refusal of a journal beside `file` that no run on it made: untrusted when another user could have
 * planted or changed it, else stale (a leftover copy). Either way it is not applied and the user is told
 * to remove it.
 */
export function leftoverJournalError(journalPath: string, file: MappedFile): RawbrightError {
  try {
    checkJournalTrusted(journalPath, file);
  } catch (error) {
    if (error instanceof RawbrightError) return error;
  }
  return new RawbrightError(
    'ERR_JOURNAL_STALE',
    `the journal ${journalPath} is of no run on ${file.path} (the file carries no mark of one), so it is not applied; nothing was changed: remove it`,
    { path: journalPath },
  );
}

/** Marks `file` as being changed under `journalPath` (by a run over `range`, or the whole file). */
export function markPendingRun(file: MappedFile, journalPath: string, range?: JournalRange): void {
  writeMarker(file, JOURNAL_MARKER + rangeSuffix(range), journalPath);
}

/** Removes the mark once the run is complete (before its journal is deleted). */
export function unmarkPendingRun(file: MappedFile, range?: JournalRange): void {
  removeMarker(file, JOURNAL_MARKER + rangeSuffix(range));
}

/** The file marker that holds the id of the run last started on the file (or a range), until it is finished. */
const RUN_MARKER = 'run';

/** Marks `file` with a new run's id, before its journal is made; false where the file system keeps no markers. */
export function markRun(file: MappedFile, run: string, range?: JournalRange): boolean {
  return writeMarker(file, RUN_MARKER + rangeSuffix(range), run);
}

/** Removes the run id once the run's journal is gone. */
export function unmarkRun(file: MappedFile, range?: JournalRange): void {
  removeMarker(file, RUN_MARKER + rangeSuffix(range));
}

/**
 * Refuses a journal that is not of the run last started on the file (over the journal's range): a
 * leftover or restored copy of a run that was finished or discarded (its id no longer on the file),
 * whose bytes would change the file a second time.
 * @throws {RawbrightError} `ERR_JOURNAL_STALE`.
 */
export function checkJournalCurrent(journal: Journal, file: MappedFile, range?: JournalRange): void {
  const { run, marked } = journal.params;
  if (run === undefined || marked !== true || readMarker(file, RUN_MARKER + rangeSuffix(range)) === run)
    return;
  throw new RawbrightError(
    'ERR_JOURNAL_STALE',
    `the journal ${journal.path} is of an earlier run on ${file.path} that was finished or discarded (a leftover or restored copy), so it is not applied; nothing was changed: remove it`,
    { path: journal.path },
  );
}

const roundUp = (n: number): number => Math.ceil(n / PAGE) * PAGE;

function corrupt(path: string, what: string): RawbrightError {
  return new RawbrightError(
    'ERR_JOURNAL_CORRUPT',
    `the journal ${path} is corrupt (${what}); the file was left as it is: restore it from a copy, or accept it as it is with 'rawbright resume ${path.replace(/\.rawbright-journal(\.\d+-\d+)?$/, '')} --discard'`,
    {
      path,
    },
  );
}

function isWholeNumber(value: unknown, max = Number.MAX_SAFE_INTEGER): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max;
}

/** Checks parsed parameters field by field: the journal may be damaged or forged. */
export function parseJournalParams(text: string, journalPath: string, magic = HEADER_MAGIC): JournalParams {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw corrupt(journalPath, 'its parameters are not valid JSON');
  }
  const p = value as Partial<JournalParams> | null;
  const file = (p !== null && typeof p === 'object' ? p.file : undefined) as
    | Partial<JournalParams['file']>
    | undefined;
  const valid =
    p !== null &&
    typeof p === 'object' &&
    p.version === JOURNAL_VERSION &&
    file !== null &&
    typeof file === 'object' &&
    typeof file.path === 'string' &&
    isWholeNumber(file.size) &&
    isWholeNumber(file.dev) &&
    isWholeNumber(file.ino) &&
    typeof p.by === 'number' &&
    Number.isInteger(p.by) &&
    p.by >= -65535 &&
    p.by <= 65535 &&
    (p.type === 'uint16' || p.type === 'int16') &&
    (p.channels === 'rgb' || p.channels === 'rgba') &&
    isWholeNumber(p.offset) &&
    isWholeNumber(p.length) &&
    p.offset + p.length <= file.size &&
    isWholeNumber(p.window, 2 ** 32) &&
    p.window >= 8 &&
    p.window % 8 === 0 &&
    isWholeNumber(p.chunk, p.window) &&
    p.chunk >= 8 &&
    p.chunk % 8 === 0 &&
    isWholeNumber(p.windows) &&
    (p.segments === undefined
      ? p.offset % 8 === 0 && p.length % 8 === 0 && p.windows === Math.ceil(p.length / p.window)
      : validSegments(p, file.size) && p.chunk % 24 === 0) &&
    isWholeNumber(p.slots, MAX_SLOTS) &&
    (p.durable === undefined || typeof p.durable === 'boolean') &&
    (p.run === undefined || (typeof p.run === 'string' && /^[0-9a-f]{16}$/.test(p.run))) &&
    (p.marked === undefined || typeof p.marked === 'boolean') &&
    p.windows * Math.ceil(p.window / p.chunk) <= MAX_CHUNKS &&
    validOps(p.ops, 4) &&
    (p.check === undefined || (p.check === 'blocks' && magic === HEADER_MAGIC)) &&
    p.slots >= 1;
  if (!valid) throw corrupt(journalPath, 'its parameters are missing or out of range');
  return p as JournalParams;
}

/** Byte positions of the journal's sections, and the geometry of windows and chunks. */
export class JournalLayout {
  /** The header holds the parameters' JSON: one page, or more for a run over many extents. */
  readonly doneMapOffset: number;
  /** The sample table: 8 bytes a window, after the done map. */
  readonly sampleTableOffset: number;
  readonly slotsOffset: number;
  readonly slotSize: number;
  readonly totalSize: number;
  readonly chunksPerWindow: number;

  /** A segmented run's windows, by index; undefined for a run over one range. */
  readonly #table: { offset: number; length: number; layout: number }[] | undefined;

  constructor(readonly params: JournalParams) {
    this.doneMapOffset = roundUp(16 + Buffer.byteLength(JSON.stringify(params)));
    this.sampleTableOffset = this.doneMapOffset + roundUp(4 * params.windows);
    this.slotsOffset = this.sampleTableOffset + roundUp(8 * params.windows);
    this.slotSize = PAGE + roundUp(params.chunk);
    this.totalSize = this.slotsOffset + params.slots * this.slotSize;
    this.chunksPerWindow = Math.ceil(params.window / params.chunk);
    this.#table = params.segments && segmentWindows(params.segments, params.window);
  }

  /** The kernel parameters of window `index`. */
  windowParams(index: number): BrightenParams {
    const p = this.params;
    if (this.#table === undefined || p.layouts === undefined)
      return { delta: p.by, type: p.type, channels: p.channels, ...(p.ops !== undefined && { ops: p.ops }) };
    return p.layouts[this.#table[index]!.layout]!;
  }

  slotOffset(slot: number): number {
    return this.slotsOffset + slot * this.slotSize;
  }

  windowOffset(index: number): number {
    if (this.#table !== undefined) return this.#table[index]?.offset ?? Number.NaN;
    return this.params.offset + index * this.params.window;
  }

  windowLength(index: number): number {
    if (this.#table !== undefined) return this.#table[index]?.length ?? Number.NaN;
    return Math.min(this.params.window, this.params.offset + this.params.length - this.windowOffset(index));
  }

  /** The global number of the chunk that starts at `fileOffset` inside window `index`. */
  chunkNumber(index: number, fileOffset: number): number {
    return index * this.chunksPerWindow + (fileOffset - this.windowOffset(index)) / this.params.chunk;
  }
}

/** The check of a slot record: a CRC-32 of the state, and while saved of the ring's CRC too. */
function recordCheck(state: number, ringCrc: number): number {
  return state !== UNUSED && state % 2 === 1 ? crc32OfWords(state, ringCrc) : crc32OfWords(state);
}

/** The slot record word for `state`: the state in the low half, its check in the high half. */
export function slotRecord(state: number, ringCrc: number): bigint {
  return (BigInt(recordCheck(state, ringCrc)) << 32n) | BigInt(state);
}

/**
 * Reads a slot record: the state (−1 unused), or undefined when the record's check fails (damage:
 * a kill cannot tear the one 64-bit store that writes it).
 */
function readSlotRecord(word: bigint, ringCrc: number): number | undefined {
  const state = Number(word & 0xffffffffn);
  if (Number(word >> 32n) !== recordCheck(state, ringCrc)) return undefined;
  return state === UNUSED ? -1 : state;
}

/** The most bytes one piece of a window's sample covers. */
const SAMPLE_PIECE = 4096;

/**
 * The CRC-32 of a sample of the window `[offset, offset + length)` of `target`: up to four pieces of
 * 4 KiB, at its start, one third, two thirds and its last 4 KiB (overlapping in a small window). Cheap
 * to compute after every window, and a file restored from a copy differs there unless the run left those
 * 16 KiB as they were (saturated pixels, say).
 */
function windowSample(target: MappedFile, offset: number, length: number): number {
  const piece = Math.min(SAMPLE_PIECE, length);
  const last = length - piece;
  const bytes = Buffer.alloc(4 * piece);
  const starts = [0, Math.floor(length / 3), Math.floor((2 * length) / 3), last];
  starts.forEach((start, k) => {
    target.read(offset + Math.min(start, last), bytes.subarray(k * piece, (k + 1) * piece));
  });
  return fastCrc32(bytes);
}

/** The CRC-32 of the first {@link SAMPLE_PIECE} bytes of a chunk: its progress sample (a CRC-32 journal's). */
export function chunkSample(bytes: Uint8Array): number {
  return fastCrc32(bytes.subarray(0, SAMPLE_PIECE));
}

/** A chunk's progress sample, as the journal's `check` takes it. */
export function chunkSampleFor(params: JournalParams, bytes: Uint8Array): number {
  return params.check === 'blocks' ? ringSum(bytes.subarray(0, BLOCKS_SAMPLE)) : chunkSample(bytes);
}

/** The block count word of a `blocks` slot: `count` blocks of chunk `number` saved. */
function countWord(number: number, count: number): bigint {
  return (BigInt(number) << 32n) | BigInt(count);
}

/** The progress word of a slot whose last finished chunk was put back: it names no chunk. */
const NO_PROGRESS = 0n;

/** A slot's progress word: chunk `number`'s sample in the low half, a check of both in the high half. */
function progressWord(number: number, sample: number): bigint {
  return (BigInt(crc32OfWords(0x50524f47, number >>> 0, sample)) << 32n) | BigInt(sample);
}

/** Whether a progress word names chunk `number` (its check holds for that number). */
function progressNames(word: bigint, number: number): boolean {
  return word !== NO_PROGRESS && word === progressWord(number, Number(word & 0xffffffffn));
}

/** The check of a sample table entry: a CRC-32 of the window's index and its sample. */
function sampleCheck(index: number, sample: number): number {
  return crc32OfWords(0x53414d50, index >>> 0, sample);
}

/** The done map's tag for window `index`: never zero in any byte. */
function doneTag(index: number): number {
  return (fastCrc32(Buffer.from(`rawbright window ${index}`)) | 0x01010101) >>> 0;
}

/**
 * One worker's slot, mapped shared: its record and its ring. The worker records each chunk here
 * before and after changing it.
 */
export class JournalSlot {
  readonly #window: Window;
  readonly #record: BigUint64Array;
  readonly #ringCrc: Uint32Array;
  readonly #progress: BigUint64Array;
  readonly #count: BigUint64Array;
  readonly #durable: boolean;
  readonly #params: JournalParams;

  constructor(file: MappedFile, layout: JournalLayout, slot: number, durable: boolean) {
    this.#params = layout.params;
    this.#window = file.map({ offset: layout.slotOffset(slot), length: PAGE + layout.params.chunk });
    this.#window.populate();
    this.#record = new BigUint64Array(this.#window.buffer, 8, 1);
    this.#ringCrc = new Uint32Array(this.#window.buffer, 16, 1);
    this.#progress = new BigUint64Array(this.#window.buffer, PROGRESS_OFFSET, 1);
    this.#count = new BigUint64Array(this.#window.buffer, COUNT_OFFSET, 1);
    this.#durable = durable;
  }

  /** The slot's mapped bytes; the ring starts at {@link JournalSlot.ringOffset}. */
  get buffer(): ArrayBuffer {
    return this.#window.buffer;
  }

  readonly ringOffset = PAGE;

  /**
   * Marks chunk `number` as saved in the ring and about to change. Call after copying its `length`
   * bytes in: their checksum goes in first, then the record that relies on it, in one store.
   * In a `blocks` journal the chunk is recorded as all its blocks saved: their sums, the count word, then the
   * record (the kernel, recording itself, counts them one by one as it goes).
   * @param ringCrc the CRC-32 of those bytes when the copy computed it (KernelHost.copyTo); else it is
   *   computed here (CRC-32 journals only)
   */
  saved(number: number, length: number, ringCrc?: number): void {
    if (this.#params.check === 'blocks') {
      const count = Math.ceil(length / BLOCK);
      const sums = laneSums(new Uint8Array(this.#window.buffer, PAGE, length));
      if (this.#durable) this.#window.flush({ offset: PAGE });
      new Uint32Array(this.#window.buffer, SUMS_OFFSET + 32 * (count % 2), 8).set(sums);
      Atomics.store(this.#count, 0, countWord(number, count));
      if (this.#durable) this.#window.flush({ length: PAGE });
      Atomics.store(this.#record, 0, slotRecord(2 * number + 1, 0));
      if (this.#durable) this.#window.flush({ length: PAGE });
      return;
    }
    const crc = ringCrc ?? fastCrc32(new Uint8Array(this.#window.buffer, PAGE, length));
    this.#ringCrc[0] = crc;
    if (this.#durable) this.#window.flush({ offset: PAGE });
    Atomics.store(this.#record, 0, slotRecord(2 * number + 1, crc));
    if (this.#durable) this.#window.flush({ length: PAGE });
  }

  /**
   * Records chunk `number`'s progress sample, once it is brightened and before {@link JournalSlot.done}.
   * @param sample {@link chunkSampleFor} the chunk's bytes as the run left them
   */
  finished(number: number, sample: number): void {
    Atomics.store(this.#progress, 0, progressWord(number, sample));
    if (this.#durable) this.#window.flush({ length: PAGE });
  }

  /** Marks chunk `number` as brightened (after {@link JournalSlot.finished}). */
  done(number: number): void {
    Atomics.store(this.#record, 0, slotRecord(2 * number, 0));
    if (this.#durable) this.#window.flush({ length: PAGE });
  }

  close(): void {
    this.#window.close();
  }
}

/** A journal opened by one thread: the main thread creates or resumes it, each worker records into its slot. */
export class Journal {
  readonly layout: JournalLayout;

  private constructor(
    readonly path: string,
    readonly file: MappedFile,
    readonly params: JournalParams,
  ) {
    this.layout = new JournalLayout(params);
  }

  /**
   * Creates the journal, preallocated so a full disk is found before any pixel changes.
   * @throws {RawbrightError} `ERR_JOURNAL_EXISTS` when an interrupted run's journal is there, `ENOSPC`, …
   */
  static create(path: string, params: JournalParams): Journal {
    const layout = new JournalLayout(params);
    let file: MappedFile;
    try {
      file = MappedFile.create(path, { size: layout.totalSize });
    } catch (error) {
      if (errorCode(error) === 'EEXIST') {
        throw new RawbrightError(
          'ERR_JOURNAL_EXISTS',
          `${params.file.path} has an interrupted run: finish it with 'rawbright resume ${params.file.path}' first`,
          { path: params.file.path },
        );
      }
      throw error;
    }
    try {
      const json = Buffer.from(JSON.stringify(params));
      if (params.windows * layout.chunksPerWindow > MAX_CHUNKS) {
        throw new RawbrightError(
          'ERR_OUT_OF_RANGE',
          `the run over ${params.file.path} has more than ${MAX_CHUNKS} undo chunks: use a larger journal chunk`,
        );
      }
      if (16 + json.length > MAX_HEADER) {
        throw new RawbrightError(
          'ERR_PATH_TOO_LONG',
          `the run over ${params.file.path} has too many extents for the journal`,
        );
      }
      // The slots first, the header last: killed in between, the journal has no header, which
      // Journal.open reports as unused when the file was never marked with it.
      const slotHeader = Buffer.alloc(20);
      slotHeader.write(SLOT_MAGIC, 0, 'latin1');
      slotHeader.writeBigUInt64LE(slotRecord(UNUSED, 0), 8);
      for (let slot = 0; slot < params.slots; slot++) file.write(layout.slotOffset(slot), slotHeader);
      const header = Buffer.alloc(layout.doneMapOffset);
      header.write(HEADER_MAGIC, 0, 'latin1');
      header.writeUInt32LE(json.length, 8);
      header.writeUInt32LE(fastCrc32(json), 12);
      json.copy(header, 16);
      file.write(0, header);
    } catch (error) {
      file.close();
      unlinkSync(path);
      throw error;
    }
    return new Journal(path, file, params);
  }

  /**
   * Opens an existing journal and checks it thoroughly.
   * @throws {RawbrightError} `ERR_JOURNAL_CORRUPT`; `ERR_JOURNAL_UNUSED` for a journal that is all zeros
   * (created, then killed before its header was written: nothing to restore), and with `unmarked` (the
   * file carries its run's id but was never marked with the journal) for one whose header page is blank.
   */
  static open(path: string, { unmarked = false }: { unmarked?: boolean } = {}): Journal {
    const file = MappedFile.open(path, { access: 'readwrite' });
    try {
      const size = file.size;
      if (size < PAGE) throw corrupt(path, 'it is shorter than its header');
      const header = Buffer.alloc(PAGE);
      file.read(0, header);
      const magic = header.toString('latin1', 0, 8);
      if (magic !== HEADER_MAGIC && magic !== CRC_ONLY_MAGIC) {
        if (OLDER_MAGICS.includes(header.toString('latin1', 0, 8))) {
          throw corrupt(path, 'it was written by an older rawbright, whose resume must finish it');
        }
        if (neverWritten(file, size) || (unmarked && neverWritten(file, PAGE))) {
          throw new RawbrightError(
            'ERR_JOURNAL_UNUSED',
            `the journal ${path} was created but never written: its run was stopped before it changed anything`,
            { path },
          );
        }
        throw corrupt(path, 'its header is not a rawbright journal');
      }
      const length = header.readUInt32LE(8);
      if (length > MAX_HEADER - 16 || 16 + length > size)
        throw corrupt(path, 'its header length is out of range');
      const json = Buffer.alloc(length);
      file.read(16, json);
      if (fastCrc32(json) !== header.readUInt32LE(12))
        throw corrupt(path, 'its header checksum does not match');
      const params = parseJournalParams(json.toString('utf8'), path, magic);
      const journal = new Journal(path, file, params);
      if (size !== journal.layout.totalSize) throw corrupt(path, 'its size does not match its parameters');
      return journal;
    } catch (error) {
      file.close();
      throw error;
    }
  }

  /**
   * True when a journal shows that its run changed nothing: no window done and no slot ever used.
   * A run that failed that early (a worker that could not start, say) needs no resume.
   */
  static untouched(path: string): boolean {
    let journal: Journal;
    try {
      journal = Journal.open(path);
    } catch {
      return false;
    }
    try {
      if (journal.doneWindows().some((byte) => byte !== 0)) return false;
      for (let slot = 0; slot < journal.params.slots; slot++) {
        if (journal.#slotState(slot) !== -1) return false;
      }
      return true;
    } catch {
      // Damaged: it may record changes, and the resume says what is wrong with it.
      return false;
    } finally {
      journal.close();
    }
  }

  /** Opens the journal for a worker, which records into its own slot and the done map. */
  static openForWorker(path: string, params: JournalParams): Journal {
    return new Journal(path, MappedFile.open(path, { access: 'readwrite' }), params);
  }

  /** Maps a worker's slot. */
  slot(slot: number, durable: boolean): JournalSlot {
    return new JournalSlot(this.file, this.layout, slot, durable);
  }

  /**
   * Marks window `index` as brightened: first its sample of `target`'s bytes as they now are goes in the
   * sample table, then the done tag (one aligned 4-byte write), so a window marked done always has its
   * sample. With `durable`, each is flushed before the next.
   */
  markDone(index: number, durable: boolean, target: MappedFile): void {
    this.#writeSample(index, target);
    if (durable) this.file.syncSync();
    const tag = Buffer.alloc(4);
    tag.writeUInt32LE(doneTag(index));
    this.file.write(this.layout.doneMapOffset + 4 * index, tag);
    if (durable) this.file.syncSync();
  }

  /** Records window `index`'s sample of `target` in the sample table. */
  #writeSample(index: number, target: MappedFile): void {
    const sample = windowSample(target, this.layout.windowOffset(index), this.layout.windowLength(index));
    const entry = Buffer.alloc(8);
    entry.writeUInt32LE(sample, 0);
    entry.writeUInt32LE(sampleCheck(index, sample), 4);
    this.file.write(this.layout.sampleTableOffset + 8 * index, entry);
  }

  /**
   * Refuses a file whose done windows no longer hold what the run wrote: recomputes each done window's
   * sample from `target` and compares it with the journal's. Writes nothing.
   * @throws {RawbrightError} `ERR_JOURNAL_STALE` (the file was changed, e.g. restored from a copy over the
   * same inode), `ERR_JOURNAL_CORRUPT` (a damaged sample entry).
   */
  checkDoneWindows(target: MappedFile, done = this.doneWindows()): void {
    const table = Buffer.alloc(8 * this.params.windows);
    this.file.read(this.layout.sampleTableOffset, table);
    for (let index = 0; index < done.length; index++) {
      if (done[index] !== 1) continue;
      const recorded = table.readUInt32LE(8 * index);
      if (table.readUInt32LE(8 * index + 4) !== sampleCheck(index, recorded))
        throw corrupt(this.path, `its sample entry for window ${index} is damaged`);
      const now = windowSample(target, this.layout.windowOffset(index), this.layout.windowLength(index));
      if (now !== recorded) throw staleFile(target.path, index);
    }
  }

  /** Which windows are done: 1 for a done window, 0 for one not done. */
  doneWindows(): Uint8Array {
    const map = Buffer.alloc(4 * this.params.windows);
    this.file.read(this.layout.doneMapOffset, map);
    const done = new Uint8Array(this.params.windows);
    for (let index = 0; index < done.length; index++) {
      const value = map.readUInt32LE(4 * index);
      if (value === doneTag(index)) done[index] = 1;
      else if (value !== 0) throw corrupt(this.path, `its done map entry for window ${index} is damaged`);
    }
    return done;
  }

  /** A slot's state (−1 unused), its header and record checked. */
  #slotState(slot: number): number {
    const header = Buffer.alloc(20);
    this.file.read(this.layout.slotOffset(slot), header);
    if (header.toString('latin1', 0, 8) !== SLOT_MAGIC)
      throw corrupt(this.path, `slot ${slot} has no valid header`);
    // A `blocks` journal's saved record carries no ring checksum (its blocks are checked by their sums).
    const ringCrc = this.params.check === 'blocks' ? 0 : header.readUInt32LE(16);
    const state = readSlotRecord(header.readBigUInt64LE(8), ringCrc);
    if (state === undefined) throw corrupt(this.path, `slot ${slot}'s record fails its checksum`);
    return state;
  }

  /** The CRC-32 a slot recorded for its saved chunk. */
  #ringCrc(slot: number): number {
    const bytes = Buffer.alloc(4);
    this.file.read(this.layout.slotOffset(slot) + 16, bytes);
    return bytes.readUInt32LE(0);
  }

  /**
   * How many bytes of chunk `number` (of `length` bytes), in flight in `slot`, are saved in its ring: all of
   * them in a CRC-32 journal; in a `blocks` journal, the blocks its count word names.
   */
  #savedLength(slot: number, number: number, length: number): number {
    if (this.params.check !== 'blocks') return length;
    const bytes = Buffer.alloc(8);
    this.file.read(this.layout.slotOffset(slot) + COUNT_OFFSET, bytes);
    const word = bytes.readBigUInt64LE(0);
    const count = Number(word & 0xffffffffn);
    if (Number(word >> 32n) !== number || count > Math.ceil(length / BLOCK))
      throw corrupt(this.path, `slot ${slot}'s block count is damaged`);
    return Math.min(count * BLOCK, length);
  }

  /** Whether the ring bytes `saved` (the first of `slot`'s ring) are what the run saved: their checksum holds. */
  #ringHolds(slot: number, saved: Uint8Array): boolean {
    if (this.params.check !== 'blocks') return fastCrc32(saved) === this.#ringCrc(slot);
    // No block counted yet: nothing saved, nothing changed, nothing to check.
    if (saved.length === 0) return true;
    const count = Math.ceil(saved.length / BLOCK);
    const recorded = Buffer.alloc(32);
    this.file.read(this.layout.slotOffset(slot) + SUMS_OFFSET + 32 * (count % 2), recorded);
    const sums = laneSums(saved);
    return sums.every((sum, k) => recorded.readUInt32LE(4 * k) === sum);
  }

  /** A slot's progress word (see the layout at the top of this file). */
  #progress(slot: number): bigint {
    const bytes = Buffer.alloc(8);
    this.file.read(this.layout.slotOffset(slot) + PROGRESS_OFFSET, bytes);
    return bytes.readBigUInt64LE(0);
  }

  /** The file offset and length of chunk `number`, clipped to its window. */
  #chunkExtent(number: number): { offset: number; length: number } {
    const layout = this.layout;
    const index = Math.floor(number / layout.chunksPerWindow);
    const offset = layout.windowOffset(index) + (number % layout.chunksPerWindow) * this.params.chunk;
    const end = layout.windowOffset(index) + layout.windowLength(index);
    return { offset, length: Math.min(this.params.chunk, end - offset) };
  }

  /** {@link chunkSampleFor} chunk `number` as `target` holds it now. */
  sampleOf(target: MappedFile, number: number): number {
    const { offset, length } = this.#chunkExtent(number);
    const bytes = Buffer.alloc(
      Math.min(this.params.check === 'blocks' ? BLOCKS_SAMPLE : SAMPLE_PIECE, length),
    );
    target.read(offset, bytes);
    return chunkSampleFor(this.params, bytes);
  }

  /**
   * A window left part way holds what the run wrote in its changed chunks: checks the last one the slot
   * finished (state `state`) against its progress sample, before anything is written. A "saved" chunk
   * was finished too when the kill came between its progress word and its "done".
   * @throws {RawbrightError} `ERR_JOURNAL_STALE`; `ERR_JOURNAL_CORRUPT` when the word names no chunk it could.
   */
  #checkProgress(slot: number, state: number, target: MappedFile): void {
    const number = Math.floor(state / 2);
    const saved = state % 2 === 1;
    const firstOfWindow = number % this.layout.chunksPerWindow === 0;
    const word = this.#progress(slot);
    let finished: number;
    if (progressNames(word, number)) finished = number;
    else if (saved && !firstOfWindow && progressNames(word, number - 1)) finished = number - 1;
    // Saved as its window's first chunk and not finished: nothing of this window has changed yet.
    else if (saved && firstOfWindow) return;
    else throw corrupt(this.path, `slot ${slot}'s progress sample is damaged`);
    if (this.sampleOf(target, finished) !== Number(word & 0xffffffffn)) {
      throw staleFile(target.path, Math.floor(finished / this.layout.chunksPerWindow));
    }
  }

  /**
   * Puts back the original bytes of every chunk that was being changed when the run stopped, and
   * lists what is left to do: the windows not done, each from the first chunk not yet brightened.
   * Checks everything before writing anything, so a corrupt journal leaves the file as it is.
   *
   * The resume that follows can itself be killed, so the journal is left describing the file as it
   * now is: a restored chunk's slot is rewritten from "saved" to "the chunk before it is done" (a
   * stale "saved" would later put old bytes back over a chunk the resume has brightened since), and
   * a window whose chunks are all done is marked done (otherwise its slot, reused, would forget it
   * and the next resume would brighten it twice). A window resumed part way names its slot.
   *
   * @param durable Flush the restored bytes before the slots change, and the journal after [false].
   * @throws {RawbrightError} `ERR_JOURNAL_CORRUPT`; `ERR_JOURNAL_STALE` when a done window of `target` no
   * longer holds what the run wrote (see {@link Journal.checkDoneWindows}), before anything is written.
   */
  restoreAndPlan(target: MappedFile, durable = false): PendingRange[] {
    const layout = this.layout;
    const { chunk, windows } = this.params;
    const done = this.doneWindows();
    // A file restored from a copy (same inode, same size, same markers) is refused before anything is written.
    this.checkDoneWindows(target, done);
    const resumeAt = new Map<number, { at: number; slot: number }>();
    const restores: { slot: number; offset: number; length: number }[] = [];
    const rewrites: { slot: number; state: number }[] = [];
    for (let slot = 0; slot < this.params.slots; slot++) {
      const state = this.#slotState(slot);
      if (state === -1) continue;
      const number = Math.floor(state / 2);
      const index = Math.floor(number / layout.chunksPerWindow);
      const start = layout.windowOffset(index) + (number % layout.chunksPerWindow) * chunk;
      if (
        !Number.isInteger(state) ||
        state < 0 ||
        index >= windows ||
        start >= layout.windowOffset(index) + layout.windowLength(index)
      ) {
        throw corrupt(this.path, `slot ${slot} names a chunk the run does not have`);
      }
      if (done[index] === 1) continue;
      this.#checkProgress(slot, state, target);
      const end = Math.min(start + chunk, layout.windowOffset(index) + layout.windowLength(index));
      const saved = state % 2 === 1;
      if (saved) {
        restores.push({ slot, offset: start, length: this.#savedLength(slot, number, end - start) });
        rewrites.push({ slot, state: number % layout.chunksPerWindow === 0 ? -1 : 2 * (number - 1) });
      }
      const at = saved ? start : end;
      if (at > (resumeAt.get(index)?.at ?? -1)) resumeAt.set(index, { at, slot });
    }
    // Every saved chunk is read and checked before any is written back.
    const originals = restores.map(({ slot, offset, length }) => {
      const bytes = Buffer.allocUnsafe(length);
      if (this.file.read(layout.slotOffset(slot) + PAGE, bytes) !== length)
        throw corrupt(this.path, `slot ${slot} is cut short`);
      if (!this.#ringHolds(slot, bytes))
        throw corrupt(this.path, `slot ${slot}'s saved chunk fails its checksum`);
      return { offset, bytes };
    });
    for (const { offset, bytes } of originals) target.write(offset, bytes);
    // The restored bytes reach the disk before any slot stops asking for them.
    if (durable && restores.length > 0) target.syncSync();
    const record = Buffer.alloc(8);
    for (const rewrite of rewrites) {
      // The progress word first, as done() writes it: "the chunk before it is done" needs that chunk's
      // sample, and a slot left unused must not name the chunk just put back.
      const before = rewrite.state / 2;
      const progress =
        rewrite.state === -1 ? NO_PROGRESS : progressWord(before, this.sampleOf(target, before));
      record.writeBigUInt64LE(progress);
      this.file.write(layout.slotOffset(rewrite.slot) + PROGRESS_OFFSET, record);
      record.writeBigUInt64LE(slotRecord(rewrite.state === -1 ? UNUSED : rewrite.state, 0));
      this.file.write(layout.slotOffset(rewrite.slot) + 8, record);
    }
    const pending: PendingRange[] = [];
    for (let index = 0; index < windows; index++) {
      if (done[index] === 1) continue;
      const start = layout.windowOffset(index);
      const end = start + layout.windowLength(index);
      const progress = resumeAt.get(index);
      const from = progress?.at ?? start;
      if (from >= end) {
        // Its last chunk was done before its done byte was written: nothing left but the byte (its
        // sample first, as markDone writes them).
        this.#writeSample(index, target);
        if (durable) this.file.syncSync();
        const tag = Buffer.alloc(4);
        tag.writeUInt32LE(doneTag(index));
        this.file.write(layout.doneMapOffset + 4 * index, tag);
      } else {
        pending.push({
          index,
          offset: from,
          length: end - from,
          ...(progress !== undefined && from > start && { slot: progress.slot }),
        });
      }
    }
    if (durable) this.file.syncSync();
    return pending;
  }

  close(): void {
    this.file.close();
  }
}

/** The refusal of a file whose window `index` no longer holds what the interrupted run wrote there. */
function staleFile(path: string, index: number): RawbrightError {
  return new RawbrightError(
    'ERR_JOURNAL_STALE',
    `${path} changed since its run was interrupted (window ${index} no longer holds what the run wrote): it may have been restored from a copy; nothing was changed; run 'rawbright resume ${path} --discard' to accept it as it is`,
    { path },
  );
}

/**
 * True when every byte of the journal is zero: a run killed between creating its journal (which
 * appears with its full size at once) and writing the header. No pixel changes before the header and
 * slots are written, so such a journal records nothing and can go.
 */
function neverWritten(file: MappedFile, size: number): boolean {
  const bytes = Buffer.alloc(Math.min(size, 1024 * 1024));
  for (let at = 0; at < size; at += bytes.length) {
    const read = file.read(at, bytes);
    for (let i = 0; i < read; i++) if (bytes[i] !== 0) return false;
  }
  return true;
}

/** The identity a journal records for its file. */
export function fileIdentity(path: string): { size: number; dev: number; ino: number } {
  const st = statSync(path);
  return { size: st.size, dev: st.dev, ino: st.ino };
}
