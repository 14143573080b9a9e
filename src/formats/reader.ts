/** Bounded reads of a file's header bytes: every offset a header gives is checked before it is used. */
import { RawbrightError } from '../errors.js';
import type { MappedFile } from '../file/mapped-file.js';

/** A damaged or hostile header: one line naming the file and what is wrong. */
function damaged(path: string, format: string, what: string): RawbrightError {
  return new RawbrightError(
    'ERR_FORMAT_DAMAGED',
    `${path} is a damaged ${format} file (${what}); nothing was changed`,
    {
      path,
    },
  );
}

export class HeaderReader {
  readonly size: number;
  #bytesRead = 0;

  constructor(
    readonly file: MappedFile,
    readonly format: string,
    /** The most header bytes one file may make us read: a bound against absurd counts. */
    readonly budget = 256 * 1024 * 1024,
  ) {
    this.size = file.size;
  }

  damaged(what: string): RawbrightError {
    return damaged(this.file.path, this.format, what);
  }

  /** Exactly `length` bytes at `offset`, or a damaged-file error when they are not all in the file. */
  read(offset: number, length: number, what: string): Buffer {
    if (!Number.isSafeInteger(offset) || offset < 0 || length < 0 || offset + length > this.size) {
      throw this.damaged(`${what} at offset ${offset} is past the end of the file`);
    }
    this.#bytesRead += length;
    if (this.#bytesRead > this.budget) throw this.damaged('its header is larger than any real file needs');
    const bytes = Buffer.alloc(length);
    if (length > 0 && this.file.read(offset, bytes) !== length)
      throw this.damaged(`${what} could not be read`);
    return bytes;
  }
}
