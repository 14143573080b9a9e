/**
 * unlinkDetached (native/detach.cc): the name is gone when it returns, the inode's last release is left to a
 * detached process, and nothing of the caller's (its locks, its files, its output pipe) stays held by it.
 * The tests ask for the detached process always (it is made only when pages are under writeback).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { native } from '../../dist/addon.js';
import { MappedFile } from '../../dist/file/mapped-file.js';
import { tempDir } from '../helpers/raw.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('unlinkDetached', () => {
  it('without pages under writeback, removes at once, as unlink does', () => {
    const path = join(tmp.dir, 'plain.bin');
    writeFileSync(path, Buffer.alloc(4096, 3));
    native.unlinkDetached(path);
    expect(existsSync(path)).toBe(false);
  });

  it('removes the name before it returns, and refuses a missing one with ENOENT', () => {
    const path = join(tmp.dir, 'gone.bin');
    writeFileSync(path, Buffer.alloc(1 << 20, 7));
    native.unlinkDetached(path, true);
    expect(existsSync(path)).toBe(false);
    expect(() => native.unlinkDetached(path, true)).toThrow(
      expect.objectContaining({ code: 'ENOENT', syscall: 'unlink' }),
    );
  });

  it("leaves no lock of the caller's held once the caller lets go of it", () => {
    const locked = join(tmp.dir, 'locked.bin');
    writeFileSync(locked, Buffer.alloc(4096));
    const holder = MappedFile.open(locked, { access: 'readwrite' });
    holder.lockRange(0, 4096, 'exclusive');
    const journal = join(tmp.dir, 'journal.bin');
    writeFileSync(journal, Buffer.alloc(65536, 1));
    native.unlinkDetached(journal, true);
    holder.close();
    // The forked processes shared the lock's open file description for a moment: none of them holds it now.
    const other = MappedFile.open(locked, { access: 'readwrite' });
    try {
      expect(other.rangeHolder(0, 4096, 'exclusive')).toBeUndefined();
    } finally {
      other.close();
    }
  });

  it("does not keep a caller's output pipe open: a process that uses it ends its reader's wait at once", () => {
    const path = join(tmp.dir, 'piped.bin');
    writeFileSync(path, Buffer.alloc(65536, 2));
    const script = `import(${JSON.stringify(new URL('../../dist/addon.js', import.meta.url).href)}).then(({ native }) => { native.unlinkDetached(${JSON.stringify(path)}, true); console.log('done'); })`;
    // execFileSync returns when stdout reaches end of file, which needs every copy of its write end closed.
    expect(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 10_000 })).toBe(
      'done\n',
    );
    expect(existsSync(path)).toBe(false);
  });
});
