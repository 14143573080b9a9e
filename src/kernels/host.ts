/**
 * The kernel host: one WebAssembly.Memory per thread with a page-aligned arena at its end, into
 * which file windows are either overlaid (their pages mapped in place, no copy) or copied
 * (pread/pwrite), and a kernel that brightens them there.
 *
 * Why the arena is placed per window: on ext4 the page cache of a large file lives in 2 MiB folios,
 * and writes through a mapping crawl (~10× slower) unless the mapping's absolute address and the
 * file offset agree modulo 2 MiB. The arena is over-allocated by 2 MiB and each overlay is shifted
 * so that they agree (see ../shared/DESIGN.md, fact 4).
 *
 * Why the memory never grows: V8's grow re-protects the whole memory read-write (which fails over a
 * read-only shared mapping) and, without guard regions, may move the memory and leave the overlay
 * behind. The memory is created at its final size with `maximum === initial`; its base address is
 * still checked before every overlay, and any mismatch falls back to copying.
 */

import { native } from '../addon.js';
import { invalidParameterError, RawbrightError } from '../errors.js';
import { nativeHandle } from '../file/handle.js';
import type { MappedFile } from '../file/mapped-file.js';
import { createKernel, wasmDataEnd } from './index.js';
import type { BrightenParams, Kernel, KernelName } from './types.js';

const WASM_PAGE = 65536;
/** The folio size that overlays are aligned to. */
export const OVERLAY_ALIGNMENT = 2 * 1024 * 1024;
/** Where the arena starts in wasm memory: above the kernels' own (tiny) static data. */
const ARENA_START = OVERLAY_ALIGNMENT;
/**
 * Room above the arena for a journal slot (its header page and ring) mapped in for the kernel to record into
 * (KernelHost.mapJournalSlot): one wasm page, enough for a ring of the journal's KERNEL_CHUNK.
 */
const JOURNAL_SLOT_ROOM = WASM_PAGE;
/** The largest arena a wasm32 memory can hold next to its low memory, the alignment slack and the slot room. */
export const MAX_ARENA_BYTES = 4 * 1024 ** 3 - 2 * ARENA_START - OVERLAY_ALIGNMENT - JOURNAL_SLOT_ROOM;

/**
 * How one region of the file reached the arena: mapped over it (`'overlay'`) or read into it
 * (`'copy'`). A fact about a region of this public, lower-level API; the pipeline names the same choice
 * by its strategy (`mmap` brings windows in as overlays, `pread` as copies) and never translates back.
 */
export type Placement = 'overlay' | 'copy';

/** A file region present in the arena; the kernel works at `[pointer, pointer + length)`. */
export interface ArenaRegion {
  readonly placement: Placement;
  /** Byte offset in the wasm memory of the region's first byte. */
  readonly pointer: number;
  readonly length: number;
  /** Absolute address of the first mapped page (overlays only), for alignment checks. */
  readonly mappedAddress?: bigint;
  /** Which bring-in this region belongs to: parts of it (`{ ...region, pointer, length }`) keep it. */
  readonly generation: number;
}

export interface KernelHostOptions {
  /** The largest region brought in at once, in bytes. */
  arenaBytes: number;
  kernel: KernelName;
  /**
   * Aligns overlays so their absolute address and file offset agree modulo 2 MiB [true].
   * Turned off only by the benchmark, to show what the alignment is worth.
   */
  alignOverlays?: boolean;
  /**
   * Bytes (a page multiple below 2 MiB) by which aligned overlays are deliberately shifted off the
   * 2 MiB congruence [0]. Benchmark only: it reproduces, on every run, the misplacement an unaligned
   * arena gets by chance, so the cost of misalignment can be measured.
   */
  overlayMisalignment?: number;
  /**
   * Advise MADV_HUGEPAGE on the arena and on every overlay [false]. Benchmark lever: transparent huge
   * pages for the copy path's arena, and PMD mappings of the file's 2 MiB folios where the kernel allows.
   */
  hugepage?: boolean;
}

/** A file another program truncated under a run. */
function truncatedError(path: string): RawbrightError {
  return new RawbrightError(
    'ERR_FILE_TRUNCATED',
    `${path} was truncated by another program while it was being brightened`,
    { path },
  );
}

export class KernelHost {
  readonly memory: WebAssembly.Memory;
  readonly kernel: Kernel;
  readonly arenaBytes: number;
  readonly #alignOverlays: boolean;
  readonly #overlayMisalignment: number;
  readonly #hugepage: boolean;
  readonly #baseAddress: bigint;
  #live: { arenaOffset: number; file: MappedFile | undefined; region: ArenaRegion } | undefined;
  /** Where a journal slot is mapped in: the wasm page after the arena's room. */
  readonly #slotOffset: number;
  #slot: { path: string } | undefined;
  #generation = 0;
  /** Why overlays are not possible here, if they are not. */
  readonly overlayUnavailableReason: string | undefined;

  constructor(options: KernelHostOptions) {
    if (
      !Number.isInteger(options.arenaBytes) ||
      options.arenaBytes <= 0 ||
      options.arenaBytes > MAX_ARENA_BYTES
    ) {
      throw new RawbrightError(
        'ERR_WINDOW_TOO_LARGE',
        `the arena must be between 1 byte and ${MAX_ARENA_BYTES} bytes, not ${options.arenaBytes}`,
      );
    }
    this.arenaBytes = options.arenaBytes;
    this.#alignOverlays = options.alignOverlays ?? true;
    this.#overlayMisalignment = options.overlayMisalignment ?? 0;
    if (
      !Number.isInteger(this.#overlayMisalignment) ||
      this.#overlayMisalignment < 0 ||
      this.#overlayMisalignment >= OVERLAY_ALIGNMENT ||
      this.#overlayMisalignment % native.pageSize !== 0
    ) {
      throw invalidParameterError(
        'overlayMisalignment',
        `a multiple of ${native.pageSize} from 0 to ${OVERLAY_ALIGNMENT - native.pageSize}`,
        options.overlayMisalignment,
      );
    }
    this.#hugepage = options.hugepage ?? false;
    // Room for the region, the page it may start inside, and the 2 MiB alignment shift.
    const bytes = ARENA_START + options.arenaBytes + native.pageSize + OVERLAY_ALIGNMENT;
    this.#slotOffset = Math.ceil(bytes / WASM_PAGE) * WASM_PAGE;
    const pages = this.#slotOffset / WASM_PAGE + JOURNAL_SLOT_ROOM / WASM_PAGE;
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    this.kernel = createKernel(options.kernel, this.memory);
    // After the kernel: a wasm kernel's instance gives the module's layout, with no scratch instance for it.
    if (wasmDataEnd() > ARENA_START) {
      throw new RawbrightError('ERR_WASM_LAYOUT', 'the wasm kernels use memory where the arena would start');
    }
    this.#baseAddress = native.address(this.memory.buffer);
    if (this.#hugepage) {
      native.advise(this.memory.buffer, ARENA_START, this.memory.buffer.byteLength - ARENA_START, 'hugepage');
    }
    this.overlayUnavailableReason = native.canOverlay
      ? undefined
      : `this platform (${process.platform}) cannot map files into WebAssembly memory`;
  }

  /** True when {@link KernelHost.overlay} can map file pages in place. */
  get canOverlay(): boolean {
    return this.overlayUnavailableReason === undefined && this.#memoryInPlace();
  }

  #memoryInPlace(): boolean {
    return native.address(this.memory.buffer) === this.#baseAddress;
  }

  /**
   * A region (or a part of one) is usable only while it is the one in the arena: an old region,
   * used after release or after another overlay took its place, would touch the wrong bytes.
   */
  #checkLive(region: ArenaRegion): void {
    const live = this.#live?.region;
    if (
      live === undefined ||
      region.generation !== live.generation ||
      region.pointer < live.pointer ||
      region.pointer + region.length > live.pointer + live.length
    ) {
      throw new RawbrightError(
        'ERR_REGION_RELEASED',
        'the region is no longer in the arena (it was released)',
      );
    }
  }

  #checkFits(length: number): void {
    if (this.#live !== undefined) {
      throw new RawbrightError('ERR_OVERLAY_BUSY', 'the arena already holds a region: release it first');
    }
    if (length <= 0 || length > this.arenaBytes) {
      throw new RawbrightError(
        'ERR_WINDOW_TOO_LARGE',
        `a region of ${length} bytes does not fit in the ${this.arenaBytes}-byte arena`,
      );
    }
  }

  /**
   * Maps file bytes [offset, offset + length) over the arena: the kernel then works on the file's own
   * pages. Writable files are mapped shared (changes reach the file), read-only ones private.
   * @param populate Prefault the pages (MADV_POPULATE_WRITE) [true].
   * @throws {RawbrightError} `ERR_MEMORY_MOVED` if the memory is no longer where it was.
   */
  overlay(file: MappedFile, offset: number, length: number, populate = true): ArenaRegion {
    this.#checkFits(length);
    if (!this.#memoryInPlace()) {
      throw new RawbrightError(
        'ERR_MEMORY_MOVED',
        'the WebAssembly memory moved; overlays are not safe here',
      );
    }
    const page = native.pageSize;
    const fileStart = offset - (offset % page);
    const delta = offset - fileStart;
    const arenaStart = BigInt(ARENA_START);
    const arenaAddress = this.#baseAddress + arenaStart;
    const shift = this.#alignOverlays
      ? (Number((((BigInt(fileStart) - arenaAddress) % 2097152n) + 2097152n) % 2097152n) +
          this.#overlayMisalignment) %
        OVERLAY_ALIGNMENT
      : 0;
    const arenaOffset = ARENA_START + shift;
    const shared = file.access === 'readwrite';
    const buffer = this.memory.buffer;
    native.overlay(buffer, arenaOffset, nativeHandle(file), fileStart, length + delta, shared);
    const region: ArenaRegion = {
      placement: 'overlay',
      pointer: arenaOffset + delta,
      length,
      mappedAddress: this.#baseAddress + BigInt(arenaOffset),
      generation: ++this.#generation,
    };
    this.#live = { arenaOffset, file, region };
    try {
      if (this.#hugepage) native.advise(buffer, arenaOffset, length + delta, 'hugepage');
      // Prefaulting a private overlay for writing would copy every page at once: only shared ones.
      if (populate) native.populate(buffer, arenaOffset, length + delta, shared);
    } catch (error) {
      this.release();
      throw error;
    }
    return region;
  }

  /** Reads file bytes [offset, offset + length) into the arena (pread): the copying path. */
  copyIn(file: MappedFile, offset: number, length: number): ArenaRegion {
    this.#checkFits(length);
    const read = nativeHandle(file).read(offset, this.memory.buffer, ARENA_START, length);
    if (read !== length) {
      throw new RawbrightError('ERR_FILE_CHANGED', `${file.path} became shorter while it was being read`, {
        path: file.path,
      });
    }
    const region: ArenaRegion = {
      placement: 'copy',
      pointer: ARENA_START,
      length,
      generation: ++this.#generation,
    };
    this.#live = { arenaOffset: ARENA_START, file: undefined, region };
    return region;
  }

  /** Writes a copied region (or any arena bytes) to `file` at `offset` (pwrite). */
  copyOut(region: ArenaRegion, file: MappedFile, offset: number): void {
    this.#checkLive(region);
    // Written past the end of a file that another program truncated meanwhile, the window would
    // grow it back around a hole: refuse instead.
    if (file.size < offset + region.length) throw truncatedError(file.path);
    nativeHandle(file).write(offset, this.memory.buffer, region.pointer, region.length);
  }

  /**
   * Out of place: reads the input's bytes [offset, offset + region.length) into an overlaid region
   * (the output's pages), so the input is read once and the output written by the page cache.
   * @throws {RawbrightError} `ERR_FILE_CHANGED` when the input became shorter.
   */
  readInto(region: ArenaRegion, file: MappedFile, offset: number): void {
    this.#checkLive(region);
    const read = nativeHandle(file).read(offset, this.memory.buffer, region.pointer, region.length);
    if (read !== region.length) {
      throw new RawbrightError('ERR_FILE_CHANGED', `${file.path} became shorter while it was being read`, {
        path: file.path,
      });
    }
  }

  /**
   * Copies a region's bytes into `target` at `targetOffset`, where target is a mapped window of
   * another file (a journal's ring): a copy from or into truncated pages is an error, not a crash.
   * @returns the CRC-32 of the copy (as zlib.crc32 computes it), taken while it is still in the cache
   * @throws {RawbrightError} `ERR_FILE_TRUNCATED` naming `targetPath` or the region's file.
   */
  copyTo(region: ArenaRegion, target: ArrayBuffer, targetOffset: number, targetPath: string): number {
    this.#checkLive(region);
    const crc = native.copyWithCrc32(target, targetOffset, this.memory.buffer, region.pointer, region.length);
    this.checkTruncation();
    if (native.sigbusGuard && native.mappingFaulted(target, 0)) throw truncatedError(targetPath);
    return crc;
  }

  /**
   * Maps a journal slot (its header page and ring: `length` bytes of `file` at `offset`, a page boundary)
   * into the memory above the arena, for {@link KernelHost.brightenJournaled}; false when it does not fit
   * the room there or overlays are not possible here (the caller then records from JavaScript).
   */
  mapJournalSlot(file: MappedFile, offset: number, length: number): boolean {
    if (this.#slot !== undefined) {
      throw new RawbrightError('ERR_OVERLAY_BUSY', 'a journal slot is already mapped: release it first');
    }
    if (!this.canOverlay || length > JOURNAL_SLOT_ROOM || this.kernel.brightenJournaled === undefined)
      return false;
    native.overlay(this.memory.buffer, this.#slotOffset, nativeHandle(file), offset, length, true);
    this.#slot = { path: file.path };
    try {
      native.populate(this.memory.buffer, this.#slotOffset, length, true);
    } catch (error) {
      this.releaseJournalSlot();
      throw error;
    }
    return true;
  }

  /** Gives back the journal slot's room (anonymous memory again). */
  releaseJournalSlot(): void {
    if (this.#slot === undefined) return;
    this.#slot = undefined;
    native.releaseOverlay(this.memory.buffer, this.#slotOffset);
  }

  /**
   * Brightens a region in the arena under the journal protocol, the kernel recording each chunk into the
   * mapped journal slot itself (see Kernel.brightenJournaled, and src/brighten/journal.ts for the protocol).
   * @param first the journal's number of the region's first chunk
   * @param budget protocol steps before stopping, as a kill would (tests) [all]
   * @returns the steps left of the budget (-1 without one), or undefined when the kernel cannot take these
   *   parameters (nothing was done)
   * @throws {RawbrightError} `ERR_FILE_TRUNCATED` when the file or the journal was truncated meanwhile
   */
  brightenJournaled(
    region: ArenaRegion,
    params: BrightenParams,
    chunk: number,
    first: number,
    budget?: number,
  ): number | undefined {
    this.#checkLive(region);
    const slot = this.#slot;
    if (slot === undefined || this.kernel.brightenJournaled === undefined) return undefined;
    const left = this.kernel.brightenJournaled(this.memory.buffer, region.pointer, region.length, params, {
      slot: this.#slotOffset,
      chunk,
      first,
      ...(budget !== undefined && { budget }),
    });
    this.checkTruncation();
    if (native.sigbusGuard && native.mappingFaulted(this.memory.buffer, this.#slotOffset)) {
      throw truncatedError(slot.path);
    }
    return left;
  }

  /** Flushes an overlaid region to the file and waits for the disk (msync MS_SYNC): durable runs. */
  flush(region: ArenaRegion): void {
    this.#checkLive(region);
    native.flush(this.memory.buffer, region.pointer, region.length, true);
  }

  /**
   * Runs the kernel over a region in the arena, with any layout {@link BrightenParams} describes (bands, alpha,
   * byte order, max, per-band deltas); the region's length must be whole pixels of that layout.
   */
  brighten(region: ArenaRegion, params: BrightenParams): void {
    this.#checkLive(region);
    this.kernel.brighten(this.memory.buffer, region.pointer, region.length, params);
    this.checkTruncation();
  }

  /**
   * Throws `ERR_FILE_TRUNCATED` if a page of the live overlay was truncated away by another program
   * while the kernel or a copy touched it: the SIGBUS guard (native/sigbus.cc) put zero pages there
   * instead of letting the process die, and what was computed on them never reaches the file.
   */
  checkTruncation(): void {
    const live = this.#live;
    if (live?.file === undefined || !native.sigbusGuard) return;
    if (native.mappingFaulted(this.memory.buffer, live.arenaOffset)) throw truncatedError(live.file.path);
  }

  /**
   * Gives the arena back: an overlay is replaced by fresh anonymous memory (the arena then reads as
   * zeros, never the file's pages); a copy needs nothing.
   */
  release(): void {
    const live = this.#live;
    if (live === undefined) return;
    this.#live = undefined;
    if (live.file !== undefined) native.releaseOverlay(this.memory.buffer, live.arenaOffset);
  }

  /** The arena's bytes as a view, for tests and the benchmark. */
  view(region: ArenaRegion): Uint8Array {
    this.#checkLive(region);
    return new Uint8Array(this.memory.buffer, region.pointer, region.length);
  }

  close(): void {
    this.release();
    this.releaseJournalSlot();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
