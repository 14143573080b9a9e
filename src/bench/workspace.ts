/**
 * The file benchmark's workspace: a temporary folder (in `--dir`, or the system's temp folder) that
 * holds the benchmark's files, checked for free space before anything is written, and removed at the
 * end whatever happens. The disk behind it matters: the in-place figures are page-cache figures, but
 * creating the files, durable runs and anything larger than free memory run at the disk's speed.
 */
import { randomFillSync } from 'node:crypto';
import {
  closeSync,
  fdatasyncSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  statfsSync,
  statSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { RawbrightError } from '../errors.js';
import { formatBytes } from '../format.js';

const MIB = 1024 * 1024;
/** The I/O unit for creating, warming and syncing files. */
const CHUNK = 64 * MIB;
/** Room kept free beyond the files themselves: journals, the reference program's disk test, the file system's own needs. */
const FREE_SPACE_MARGIN = 256 * MIB;

/** Workspaces not yet removed, so an interrupted benchmark can still clean up (see {@link removeLiveWorkspaces}). */
const live = new Set<Workspace>();

/**
 * Removes every workspace still in use: for signal handlers, so Ctrl-C does not leave gigabytes behind.
 * @returns the folders removed
 */
export function removeLiveWorkspaces(): string[] {
  const removed = [...live].map((workspace) => workspace.dir);
  for (const workspace of [...live]) workspace.remove();
  return removed;
}

/** A temporary folder for the benchmark's files. */
export class Workspace {
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * Creates `rawbright-bench-XXXXXX` inside `parent` after checking that `parent` has room.
   * @param parent the folder to work in [the system's temp folder]
   * @param neededBytes the most disk space the benchmark will use at once
   * @returns the workspace
   * @throws {RawbrightError} `ENOENT`/`ENOTDIR` for a bad folder, `ENOSPC` when it has too little free space
   */
  static create(parent: string | undefined, neededBytes: number): Workspace {
    const folder = resolve(parent ?? tmpdir());
    let isFolder: boolean;
    try {
      isFolder = statSync(folder).isDirectory();
    } catch {
      throw new RawbrightError('ENOENT', `the benchmark folder ${folder} does not exist`, { path: folder });
    }
    if (!isFolder) {
      throw new RawbrightError('ENOTDIR', `the benchmark folder ${folder} is not a folder`, { path: folder });
    }
    const free = freeBytes(folder);
    const needed = neededBytes + FREE_SPACE_MARGIN;
    if (free < needed) {
      throw new RawbrightError(
        'ENOSPC',
        `the benchmark needs ${formatBytes(needed)} free in ${folder} but only ${formatBytes(free)} is free; ` +
          'choose another folder with --dir or a smaller --size',
        { path: folder },
      );
    }
    const workspace = new Workspace(mkdtempSync(join(folder, 'rawbright-bench-')));
    live.add(workspace);
    return workspace;
  }

  /**
   * A path inside the workspace.
   * @param name a file name
   * @returns the absolute path
   */
  path(name: string): string {
    return join(this.dir, name);
  }

  /** Removes the workspace and everything in it. */
  remove(): void {
    live.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * Free space for an unprivileged user in the file system holding `path`.
 * @param path an existing path
 * @returns bytes available
 */
function freeBytes(path: string): number {
  const stats = statfsSync(path);
  return Number(stats.bavail) * Number(stats.bsize);
}

/**
 * Creates a file of random pixels (written, not sparse: holes and unwritten extents would be another
 * workload) and syncs it, so the benchmark starts with clean, cached pages and no writeback pending.
 * @param path the file to create (replaced if it exists)
 * @param size its size in bytes, a multiple of 8
 */
export function createRandomFile(path: string, size: number): void {
  const block = Buffer.allocUnsafe(Math.min(CHUNK, size));
  randomFillSync(block);
  const fd = openSync(path, 'w');
  try {
    for (let at = 0; at < size; at += block.length) {
      const length = Math.min(block.length, size - at);
      // A different first word per chunk, so no two chunks of the file are identical.
      block.writeDoubleLE(at, 0);
      for (let done = 0; done < length; ) done += writeSync(fd, block, done, length - done, at + done);
    }
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads a file once, so its pages are in the page cache ("warm") before it is measured.
 * @param path the file
 * @returns seconds taken
 */
export function warmFile(path: string): number {
  const started = performance.now();
  const block = Buffer.allocUnsafe(CHUNK);
  const fd = openSync(path, 'r');
  try {
    let at = 0;
    for (let read = readSync(fd, block, 0, CHUNK, at); read > 0; read = readSync(fd, block, 0, CHUNK, at)) {
      at += read;
    }
  } finally {
    closeSync(fd);
  }
  return (performance.now() - started) / 1000;
}

/**
 * Writes a file's dirty pages to disk and waits (fdatasync), so the next run starts with no
 * writeback pending. Untimed: the figures are for a warm file, and durable runs are measured apart.
 * @param path the file
 */
export function syncFile(path: string): void {
  const fd = openSync(path, 'r+');
  try {
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
