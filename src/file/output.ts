/**
 * Output files that never look finished before they are: every new file rawbright writes (`brighten --out`
 * and every conversion) goes to a temporary name in the destination's folder and only takes its real name
 * once it is complete and on disk. An interrupted run leaves at most a hidden
 * `.NAME.rawbright-PID-RANDOM.tmp` file, never a truncated `NAME`.
 */
import { constants, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { errorCode, RawbrightError } from '../errors.js';
import { MappedFile } from './mapped-file.js';

/**
 * node:fs/promises, loaded on first use: an in-place run never needs it, and loading it (with the readline and
 * stream modules it brings) cost a small file's run 1.2 ms on Node 20 and more on Node 24.
 */
export function fsPromises(): typeof import('node:fs/promises') {
  return process.getBuiltinModule('node:fs/promises');
}

/** Where an output is being written, and where it goes once complete. */
export interface OutputPlan {
  /** The final path. */
  readonly path: string;
  /** The temporary path in the same folder (same file system, so the final rename is atomic). */
  readonly temporary: string;
  /** Replace an existing file at {@link OutputPlan.path}. */
  readonly overwrite: boolean;
}

/** An errno failure as a RawbrightError with one plain message, keeping its code. */
export function fsError(error: unknown, message: string, path: string): RawbrightError {
  return new RawbrightError(errorCode(error) ?? 'EIO', message, { path, cause: error });
}

/**
 * Gives a failed write of `path` one plain sentence and keeps its errno code (`ENOSPC`, `EIO`, …); rawbright's
 * own errors pass through unchanged.
 */
export function writeFailure(error: unknown, path: string): Error {
  if (error instanceof RawbrightError) return error;
  const code = errorCode(error);
  if (code === undefined) return error instanceof Error ? error : new Error(String(error));
  const reason =
    code === 'ENOSPC'
      ? 'no space left on the disk'
      : code === 'EFBIG'
        ? 'file too large (the file size limit, ulimit -f, or the file system)'
        : code === 'EACCES'
          ? 'permission denied'
          : (error as Error).message;
  return new RawbrightError(code, `cannot write ${path}: ${reason}`, { path, cause: error });
}

/**
 * Refuses to replace a file a rawbright run holds (its flock, shared or exclusive): the run would go on
 * writing or reading a file nobody sees any more, and report success. Returns the lock, to hold until
 * the new file has taken the name; undefined when there is no file to guard.
 * @throws {RawbrightError} `ERR_FILE_LOCKED`.
 */
function lockForReplacement(path: string): MappedFile | undefined {
  let file: MappedFile;
  try {
    file = MappedFile.open(path, { access: 'read' });
  } catch {
    // Gone, or not ours to open: the rename that follows says what is wrong, if anything.
    return undefined;
  }
  try {
    file.lock('exclusive');
    return file;
  } catch (error) {
    file.close();
    if (errorCode(error) !== 'ERR_FILE_LOCKED') throw error;
    throw new RawbrightError(
      'ERR_FILE_LOCKED',
      `cannot replace ${path}: a rawbright run is using it (it is locked by another process)`,
      { path },
    );
  }
}

/** The error for an output that exists when overwriting was not asked for. */
function existsError(path: string): RawbrightError {
  return new RawbrightError('EEXIST', `${path} already exists; pass overwrite: true to replace it`, { path });
}

/**
 * Checks that `path` can be written (it does not exist, or `overwrite` is set and it is a regular file)
 * and picks a temporary name next to it. Nothing is created yet.
 * @param path The final output path.
 * @param overwrite Whether an existing regular file may be replaced.
 * @param suffix The temporary name's ending ['.tmp'] (sharp picks its output format by extension).
 * @throws {RawbrightError} `EEXIST`, `EISDIR`, `ENODEV` (not a regular file), or `ENOENT` when the folder does not exist.
 */
export async function planOutput(path: string, overwrite: boolean, suffix = '.tmp'): Promise<OutputPlan> {
  try {
    const info = await fsPromises().stat(path);
    if (info.isDirectory())
      throw new RawbrightError('EISDIR', `cannot write ${path}: it is a directory`, { path });
    if (!overwrite) throw existsError(path);
    if (!info.isFile())
      throw new RawbrightError('ENODEV', `cannot overwrite ${path}: it is not a regular file`, { path });
    lockForReplacement(path)?.close();
  } catch (error) {
    if (error instanceof RawbrightError) throw error;
    if (errorCode(error) !== 'ENOENT')
      throw fsError(error, `cannot write ${path}: ${(error as Error).message}`, path);
  }
  const folder = dirname(path);
  try {
    if (!(await fsPromises().stat(folder)).isDirectory()) {
      throw new RawbrightError('ENOTDIR', `cannot write ${path}: ${folder} is not a folder`, { path });
    }
  } catch (error) {
    if (error instanceof RawbrightError) throw error;
    if (errorCode(error) === 'ENOENT') {
      throw new RawbrightError('ENOENT', `cannot write ${path}: the folder ${folder} does not exist`, {
        path,
      });
    }
    throw fsError(error, `cannot write ${path}: ${(error as Error).message}`, path);
  }
  return { path, temporary: temporaryName(path, suffix), overwrite };
}

/**
 * A hidden, unique name next to `path` for work in progress: `.NAME.rawbright-PID-RANDOM.tmp`.
 * @param path The file the work is for.
 * @param suffix The name's ending ['.tmp'].
 */
export function temporaryName(path: string, suffix = '.tmp'): string {
  const random = Math.random().toString(36).slice(2, 10).padEnd(8, '0');
  const name = join(dirname(path), `.${basename(path)}.rawbright-${process.pid}-${random}${suffix}`);
  pending.add(name);
  return name;
}

/** Every temporary name handed out and not yet removed or committed, for {@link removeTemporaryFilesSync}. */
const pending = new Set<string>();

/**
 * Removes, synchronously, every temporary file this process named and has not yet removed or given its final
 * name: for a signal handler that is about to exit (Ctrl-C during a conversion). Names that were renamed away
 * meanwhile are simply gone.
 * @returns How many files were removed.
 */
export function removeTemporaryFilesSync(): number {
  let removed = 0;
  for (const name of pending) {
    try {
      unlinkSync(name);
      removed++;
    } catch {}
  }
  pending.clear();
  return removed;
}

/** Removes a file, ignoring a missing one: for temporary files on the way out of a failed run. */
export async function removeQuietly(path: string | undefined): Promise<void> {
  if (path === undefined) return;
  await fsPromises()
    .unlink(path)
    .catch(() => undefined);
  pending.delete(path);
}

/** Flushes a written file to disk, so that the rename which follows never publishes an empty file after a crash. */
export async function syncFile(path: string): Promise<void> {
  const handle = await fsPromises().open(path, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes a small new file (`wx`: never an existing one) and flushes it to disk. */
export async function writeNewTextFile(path: string, text: string): Promise<void> {
  const handle = await fsPromises().open(path, 'wx');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Flushes a folder's entries (a rename or a new name) to disk. */
export async function syncFolder(folder: string): Promise<void> {
  // The rename itself must reach the disk too; a folder that cannot be opened or synced is not worth failing for.
  try {
    const handle = await fsPromises().open(folder, constants.O_RDONLY | constants.O_DIRECTORY);
    await handle.sync().finally(() => handle.close());
  } catch {}
}

/**
 * Gives the finished temporary file its final name. Without `overwrite`, a hard link makes the final name
 * appear atomically and fail with `EEXIST` if another process created it meanwhile; with `overwrite`, a
 * rename replaces the old file atomically. The temporary name is gone afterwards either way.
 * @throws {RawbrightError} `EEXIST`, or the errno code of the failed rename.
 */
export async function commitOutput(plan: OutputPlan): Promise<void> {
  let guard: MappedFile | undefined;
  try {
    if (plan.overwrite) {
      guard = lockForReplacement(plan.path);
      await fsPromises().rename(plan.temporary, plan.path);
    } else {
      try {
        await fsPromises().link(plan.temporary, plan.path);
        await fsPromises().unlink(plan.temporary);
      } catch (error) {
        const code = errorCode(error);
        if (code === 'EEXIST') throw existsError(plan.path);
        // File systems without hard links (FAT, some FUSE mounts): check, then rename.
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EMLINK') throw error;
        const exists = await fsPromises()
          .stat(plan.path)
          .then(
            () => true,
            () => false,
          );
        if (exists) throw existsError(plan.path);
        await fsPromises().rename(plan.temporary, plan.path);
      }
    }
  } catch (error) {
    guard?.close();
    await removeQuietly(plan.temporary);
    if (error instanceof RawbrightError) throw error;
    throw fsError(error, `cannot write ${plan.path}: ${(error as Error).message}`, plan.path);
  }
  guard?.close();
  pending.delete(plan.temporary);
  await syncFolder(dirname(plan.path));
}
