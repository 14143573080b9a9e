/**
 * What a farm job knows of its file, so that a file changed, replaced or gone between enqueueing and
 * running is refused rather than brightened. The device number is left out on purpose: an NFS client
 * numbers each mount itself, so the same file has another `dev` on every machine (its inode number,
 * the server's file id, is the same everywhere).
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/** A file as the farm saw it: enough to tell that it is still the same file with the same bytes. */
export interface FileIdentity {
  ino: number;
  size: number;
  /** Nanoseconds, as a decimal string (JSON has no bigint). */
  mtimeNs: string;
  /** SHA-256 of up to three 64 KiB pieces (start, middle, end): catches a rewrite that kept the mtime. */
  sample: string;
}

const SAMPLE_PIECE = 64 * 1024;

function sampleHash(path: string, size: number): string {
  const hash = createHash('sha256');
  const buffer = Buffer.alloc(SAMPLE_PIECE);
  // A small file is hashed whole.
  const pieces: [number, number][] =
    size <= 3 * SAMPLE_PIECE
      ? [[0, size]]
      : [
          [0, SAMPLE_PIECE],
          [Math.floor(size / 2), SAMPLE_PIECE],
          [size - SAMPLE_PIECE, SAMPLE_PIECE],
        ];
  const fd = openSync(path, 'r');
  try {
    for (const [start, length] of pieces) {
      for (let at = start; at < start + length; ) {
        const got = readSync(fd, buffer, 0, Math.min(buffer.length, start + length - at), at);
        if (got === 0) break;
        hash.update(buffer.subarray(0, got));
        at += got;
      }
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/**
 * The identity of `path` now.
 * @throws The `fs` error (`ENOENT`, `EACCES`, …) when the file cannot be read.
 */
export function fileIdentity(path: string): FileIdentity {
  const st = statSync(path, { bigint: true });
  const size = Number(st.size);
  return { ino: Number(st.ino), size, mtimeNs: st.mtimeNs.toString(), sample: sampleHash(path, size) };
}

/** The inode of the folder that holds `path`: on every worker it must be the folder the job was enqueued in. */
export function folderIdentity(path: string): { ino: number } {
  return { ino: Number(statSync(dirname(path), { bigint: true }).ino) };
}

export function sameIdentity(a: FileIdentity, b: FileIdentity): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.sample === b.sample;
}

/** How `now` differs from `then`, in a few words for an error message. */
export function describeChange(then: FileIdentity, now: FileIdentity): string {
  if (then.ino !== now.ino) return 'it was replaced by another file';
  if (then.size !== now.size) return `its size changed from ${then.size} to ${now.size} bytes`;
  if (then.mtimeNs !== now.mtimeNs) return 'it was modified';
  return 'its contents changed';
}
