/**
 * The undo journal that makes in-place runs crash safe.
 *
 * Layout of `FILE.rawbright-journal` (little-endian), all sections page aligned:
 * - header page: magic `RBJRNL01`, u32 length of the parameters JSON, u32 CRC-32 of it, the JSON;
 * - done map: one byte per window, 1 once the window is brightened;
 * - one slot per worker: a slot header page (magic `RBSLOT01`, u32 state, u32 CRC-32 of the 24 bytes
 *   that follow, f64 window index, f64 file offset, f64 length) and room for one window's bytes.
 *
 * Before a worker changes a window it copies the window's original bytes into its slot and only
 * then marks the slot `saved`; once the window is brightened it sets the window's done byte. Writes
 * from one thread reach the page cache in order, so after a kill at any moment every window is
 * either done, untouched, or restorable from a saved slot. A resume restores the saved slots whose
 * windows are not done, then brightens every window not done: byte-identical to a run that was
 * never interrupted. With `durable`, each step is also fsync'd, which extends the same guarantee to
 * power loss.
 */
import { statSync, unlinkSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { RawbrightError, errorCode } from './errors.js';
import type { Channels, SampleType } from './kernels/types.js';
import { MappedFile } from './mapped-file.js';

const HEADER_MAGIC = 'RBJRNL01';
const SLOT_MAGIC = 'RBSLOT01';
const PAGE = 4096;
const JOURNAL_VERSION = 1;

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
  slots: number;
}

/** The journal's path for a file. */
export const journalPathFor = (path: string): string => `${path}.rawbright-journal`;

const roundUp = (n: number): number => Math.ceil(n / PAGE) * PAGE;

function corrupt(path: string, what: string): RawbrightError {
  return new RawbrightError('ERR_JOURNAL_CORRUPT', `the journal ${path} is corrupt (${what}); the file was left as it is`, {
    path,
  });
}

/** Byte positions of the journal's sections. */
class JournalLayout {
  readonly doneMapOffset = PAGE;
  readonly slotsOffset: number;
  readonly slotSize: number;
  readonly totalSize: number;

  constructor(readonly params: JournalParams) {
    this.slotsOffset = this.doneMapOffset + roundUp(params.windows);
    this.slotSize = PAGE + roundUp(params.window);
    this.totalSize = this.slotsOffset + params.slots * this.slotSize;
  }

  slotHeaderOffset(slot: number): number {
    return this.slotsOffset + slot * this.slotSize;
  }

  slotDataOffset(slot: number): number {
    return this.slotHeaderOffset(slot) + PAGE;
  }
}

function isWholeNumber(value: unknown, max = Number.MAX_SAFE_INTEGER): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max;
}

/** Checks a parsed parameters object field by field (the journal may be damaged or forged). */
export function parseJournalParams(text: string, journalPath: string): JournalParams {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw corrupt(journalPath, 'its parameters are not valid JSON');
  }
  const p = value as Partial<JournalParams> | null;
  const file = p?.file as Partial<JournalParams['file']> | undefined;
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
    p.offset % 8 === 0 &&
    p.length % 8 === 0 &&
    p.offset + p.length <= file.size &&
    isWholeNumber(p.window, 2 ** 32) &&
    p.window >= 8 &&
    p.window % 8 === 0 &&
    isWholeNumber(p.windows) &&
    p.windows === Math.ceil(p.length / p.window) &&
    isWholeNumber(p.slots, 64) &&
    p.slots >= 1;
  if (!valid) throw corrupt(journalPath, 'its parameters are missing or out of range');
  return p as JournalParams;
}

/** A journal opened by one thread (the main thread to create or resume it, a worker to record windows). */
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
    const json = Buffer.from(JSON.stringify(params));
    if (16 + json.length > PAGE) {
      file.close();
      unlinkSync(path);
      throw new RawbrightError('ERR_PATH_TOO_LONG', `the path ${params.file.path} is too long for the journal`);
    }
    const header = Buffer.alloc(PAGE);
    header.write(HEADER_MAGIC, 0, 'latin1');
    header.writeUInt32LE(json.length, 8);
    header.writeUInt32LE(crc32(json), 12);
    json.copy(header, 16);
    try {
      file.write(0, header);
    } catch (error) {
      file.close();
      unlinkSync(path);
      throw error;
    }
    return new Journal(path, file, params);
  }

  /** Opens an existing journal and checks it thoroughly. */
  static open(path: string): Journal {
    const file = MappedFile.open(path, { access: 'readwrite' });
    try {
      const size = file.size;
      if (size < PAGE) throw corrupt(path, 'it is shorter than its header');
      const header = Buffer.alloc(PAGE);
      file.read(0, header);
      if (header.toString('latin1', 0, 8) !== HEADER_MAGIC) throw corrupt(path, 'its header is not a rawbright journal');
      const length = header.readUInt32LE(8);
      if (length > PAGE - 16) throw corrupt(path, 'its header length is out of range');
      const json = header.subarray(16, 16 + length);
      if (crc32(json) !== header.readUInt32LE(12)) throw corrupt(path, 'its header checksum does not match');
      const params = parseJournalParams(json.toString('utf8'), path);
      const journal = new Journal(path, file, params);
      if (size !== journal.layout.totalSize) throw corrupt(path, 'its size does not match its parameters');
      return journal;
    } catch (error) {
      file.close();
      throw error;
    }
  }

  /** Opens the journal for a worker, which records its own slot and done bytes. */
  static openForWorker(path: string, params: JournalParams): Journal {
    return new Journal(path, MappedFile.open(path, { access: 'readwrite' }), params);
  }

  /** Copies a window's original bytes into `slot`, then marks the slot saved. */
  save(slot: number, windowIndex: number, fileOffset: number, memory: ArrayBuffer, pointer: number, length: number): void {
    const handle = this.file._handle;
    handle.write(this.layout.slotDataOffset(slot), memory, pointer, length);
    const header = Buffer.alloc(32);
    header.write(SLOT_MAGIC, 0, 'latin1');
    header.writeUInt32LE(1, 8);
    header.writeDoubleLE(windowIndex, 16);
    header.writeDoubleLE(fileOffset, 24);
    const tail = Buffer.alloc(8);
    tail.writeDoubleLE(length, 0);
    header.writeUInt32LE(crc32(Buffer.concat([header.subarray(16, 32), tail])), 12);
    this.file.write(this.layout.slotHeaderOffset(slot), Buffer.concat([header, tail]));
  }

  /** Marks a window as brightened. */
  markDone(windowIndex: number): void {
    this.file.write(this.layout.doneMapOffset + windowIndex, Uint8Array.of(1));
  }

  /** Flushes the journal to disk (durable runs). */
  syncNow(): void {
    this.file._handle.sync();
  }

  /** Which windows are done. */
  doneWindows(): Uint8Array {
    const done = new Uint8Array(this.params.windows);
    this.file.read(this.layout.doneMapOffset, done);
    for (const byte of done) if (byte > 1) throw corrupt(this.path, 'its done map holds a value other than 0 or 1');
    return done;
  }

  /**
   * Puts back the original bytes of every window that was saved but not finished.
   * @returns The indices of the windows restored.
   */
  restoreUnfinished(target: MappedFile): number[] {
    const done = this.doneWindows();
    const restored: number[] = [];
    for (let slot = 0; slot < this.params.slots; slot++) {
      const raw = Buffer.alloc(40);
      this.file.read(this.layout.slotHeaderOffset(slot), raw);
      if (raw.toString('latin1', 0, 8) !== SLOT_MAGIC) {
        if (raw.every((byte) => byte === 0)) continue; // never used
        throw corrupt(this.path, `slot ${slot} has no valid header`);
      }
      if (raw.readUInt32LE(8) !== 1) continue;
      if (crc32(raw.subarray(16, 40)) !== raw.readUInt32LE(12)) throw corrupt(this.path, `slot ${slot} fails its checksum`);
      const index = raw.readDoubleLE(16);
      const fileOffset = raw.readDoubleLE(24);
      const length = raw.readDoubleLE(32);
      const expectedOffset = this.windowOffset(index);
      if (
        !Number.isInteger(index) ||
        index < 0 ||
        index >= this.params.windows ||
        fileOffset !== expectedOffset ||
        length !== this.windowLength(index)
      ) {
        throw corrupt(this.path, `slot ${slot} describes a window the run does not have`);
      }
      if (done[index] === 1) continue;
      const data = Buffer.allocUnsafe(length);
      const read = this.file.read(this.layout.slotDataOffset(slot), data);
      if (read !== length) throw corrupt(this.path, `slot ${slot} is cut short`);
      target.write(fileOffset, data);
      restored.push(index);
    }
    return restored;
  }

  /** The file offset of window `index`. */
  windowOffset(index: number): number {
    return this.params.offset + index * this.params.window;
  }

  /** The length of window `index`. */
  windowLength(index: number): number {
    return Math.min(this.params.window, this.params.offset + this.params.length - this.windowOffset(index));
  }

  close(): void {
    this.file.close();
  }

  /** Closes and deletes the journal: the run is complete. */
  remove(): void {
    this.close();
    unlinkSync(this.path);
  }
}

/** The identity a journal records for its file. */
export function fileIdentity(path: string): { size: number; dev: number; ino: number } {
  const st = statSync(path);
  return { size: st.size, dev: st.dev, ino: st.ino };
}
