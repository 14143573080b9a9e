/**
 * `dryRunFile`: what a brighten or adjust run of a file would do — its format and layout, the windows, the
 * workers, the journal and the free space it needs — found by the same checks and plan as the run itself,
 * with the file opened read-only and nothing written: no journal, no mark, no output.
 */

import { statfs } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { settleSampleType } from '../convert/raw-source.js';
import { readSidecar } from '../convert/sidecar.js';
import { MappedFile } from '../file/mapped-file.js';
import type { FileLayout } from '../formats/layout.js';
import { checkOps } from '../kernels/ops.js';
import type { SampleType } from '../kernels/types.js';
import { JournalLayout } from './journal.js';
import {
  type BrightenOptions,
  type CheckedBrighten,
  checkAdjustOptions,
  checkBrightenOptions,
} from './options.js';
import type { AdjustOptions } from './pipeline.js';
import {
  arenaSize,
  checkFileShape,
  checkRange,
  detectFileLayout,
  journalChunking,
  planSegments,
  splitIntoWindows,
  splitWholeFile,
} from './plan.js';
import type { ResolvedStrategy } from './protocol.js';
import { chooseWorkers, sampleMachine } from './workers.js';

/** What {@link dryRunFile} found. */
export interface DryRunReport {
  path: string;
  /** 'raw' for a headerless file, else the format rawbright read from its bytes. */
  format: string;
  /** One line: the layout of the pixels (type, byte order, bands, pages). */
  layout: string;
  /** The file's size. */
  fileBytes: number;
  /** The bytes that would change. */
  bytes: number;
  out?: string;
  windows: number;
  windowBytes: number;
  workers: number;
  strategy: ResolvedStrategy;
  /** The undo journal: whether one would be kept, and its size. */
  journal: { used: boolean; bytes: number };
  /** New bytes on the disk of the file (or of --out): the journal in place, the whole copy with --out. */
  freeSpaceNeeded: number;
  /** Free bytes there now, for an unprivileged user (undefined when the file system does not say). */
  freeSpaceAvailable?: number;
}

async function freeBytes(folder: string): Promise<number | undefined> {
  try {
    const info = await statfs(folder);
    return Number(info.bavail) * Number(info.bsize);
  } catch {
    return undefined;
  }
}

/** The windows a run would brighten, found as the run finds them. */
interface WindowPlan {
  windows: number;
  arenaBytes: number;
  /** The bytes that would change. */
  bytes: number;
  description: string;
  /** Whether the run goes by segments of a format's layout (its journal chunks are whole segment units). */
  segmented: boolean;
}

/** The windows of a headerless raw file: its shape, sidecar, type, ops and range checked in that order. */
async function planRawWindows(
  file: MappedFile,
  checked: CheckedBrighten,
  givenType: SampleType | undefined,
): Promise<WindowPlan> {
  const { out } = checked;
  const size = checkFileShape(file);
  const sidecar = await readSidecar(checked.path);
  const type = settleSampleType(checked.path, givenType, sidecar);
  if (checked.ops !== undefined) checkOps(checked.ops, 4, checked.channels === 'rgb');
  const { offset, length } = checkRange(checked.path, size, checked.offset, checked.length);
  const arenaBytes = arenaSize(checked.windowSize, out === undefined ? length : size);
  const windows = (
    out === undefined
      ? splitIntoWindows(offset, length, arenaBytes)
      : splitWholeFile(size, arenaBytes, offset, length)
  ).length;
  return {
    windows,
    arenaBytes,
    bytes: length,
    description: `${type}, little-endian, 4 bands (RGBA)${sidecar === undefined ? '' : ', from its sidecar'}`,
    segmented: false,
  };
}

/** The windows of a file whose format rawbright read: the segments of its layout. */
function planLayoutWindows(layout: FileLayout, checked: CheckedBrighten): WindowPlan {
  const segments = planSegments(layout, checked.windowSize, checked.by, checked.alpha, checked.ops);
  return {
    windows: segments.windows.length,
    arenaBytes: segments.arenaBytes,
    bytes: layout.extents.reduce((sum, extent) => sum + extent.length, 0),
    description: layout.description,
    segmented: true,
  };
}

/** The size of the undo journal the run would keep (0 without one). */
function journalSize(checked: CheckedBrighten, fileSize: number, plan: WindowPlan, workers: number): number {
  const { common } = checked;
  const { arenaBytes, segmented } = plan;
  if (!checked.useJournal) return 0;
  const { chunk } = journalChunking(
    common,
    checked.strategy,
    checked.ops === undefined,
    arenaBytes,
    segmented,
  );
  // The header's parameters are a few hundred bytes of JSON; a page holds them.
  return new JournalLayout({
    version: 2,
    file: { path: checked.path, size: fileSize, dev: 0, ino: 0 },
    by: checked.by,
    type: 'uint16',
    channels: checked.channels,
    offset: 0,
    length: plan.bytes,
    window: arenaBytes,
    windows: plan.windows,
    chunk,
    slots: workers,
    durable: common.durable,
    run: '0000000000000000',
    marked: true,
  } as ConstructorParameters<typeof JournalLayout>[0]).totalSize;
}

/**
 * Plans a brighten (`by`) or adjust (`ops`) run of `path` without running it.
 * @throws {RawbrightError} every error the run would raise before a byte changes (bad options, `ENOENT`,
 * `ERR_UNSUPPORTED_FORMAT`, …).
 */
export async function dryRunFile(
  path: string,
  options: BrightenOptions | AdjustOptions,
): Promise<DryRunReport> {
  const checked =
    'ops' in options && options.ops !== undefined
      ? checkAdjustOptions(path, options as AdjustOptions)
      : checkBrightenOptions(path, options as BrightenOptions);
  const { common, out } = checked;
  const file = MappedFile.open(checked.path, { access: 'read' });
  try {
    const { givenType, layout } = detectFileLayout(file, checked);
    const plan =
      layout === undefined
        ? await planRawWindows(file, checked, givenType)
        : planLayoutWindows(layout, checked);
    const { windows, arenaBytes, bytes } = plan;
    const workers = chooseWorkers(
      common.workers,
      { bytes, windows },
      await sampleMachine(common.workers, bytes),
    ).workers;
    const journalBytes = journalSize(checked, file.size, plan, workers);
    const extra = out === undefined ? 0 : file.size;
    const where = out === undefined ? dirname(resolve(checked.path)) : dirname(resolve(out));
    const available = await freeBytes(where);
    return {
      path: checked.path,
      format: layout?.format ?? 'raw',
      layout: plan.description,
      fileBytes: file.size,
      bytes,
      ...(out !== undefined && { out }),
      windows,
      windowBytes: arenaBytes,
      workers,
      strategy: checked.strategy,
      journal: { used: checked.useJournal, bytes: journalBytes },
      freeSpaceNeeded: journalBytes + extra,
      ...(available !== undefined && { freeSpaceAvailable: available }),
    };
  } finally {
    file.close();
  }
}
