/**
 * The native handle behind each MappedFile, kept out of the class (and so out of the published types):
 * only the file and kernel modules reach the addon through it.
 */
import type { NativeFileHandle } from '../addon.js';
import { RawbrightError } from '../errors.js';
import type { MappedFile } from './mapped-file.js';

const handles = new WeakMap<MappedFile, NativeFileHandle>();

/** Called once by each MappedFile as it is made. */
export function registerHandle(file: MappedFile, handle: NativeFileHandle): void {
  handles.set(file, handle);
}

/**
 * The open native handle of `file`.
 * @throws {RawbrightError} `ERR_CLOSED` once the file is closed.
 */
export function nativeHandle(file: MappedFile): NativeFileHandle {
  const handle = handles.get(file);
  if (handle === undefined || handle.isClosed()) {
    throw new RawbrightError('ERR_CLOSED', `the file handle of ${file.path} is closed`, { path: file.path });
  }
  return handle;
}
