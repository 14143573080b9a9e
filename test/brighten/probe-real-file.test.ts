/**
 * The pre-run probe (reserveInPlace reads the range's last byte and writes it back) only ever writes
 * to a regular file on a real file system, judged on the open descriptor: a symlink into /proc is
 * refused by where it leads, before any byte changes.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { brightenFile } from '../../dist/brighten/pipeline.js';
import { refuseUnlessRealFile, reserveInPlace } from '../../dist/brighten/plan.js';
import { MappedFile } from '../../dist/file/mapped-file.js';
import { tempDir } from '../helpers/raw.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('the probe writes only to regular files on real file systems', () => {
  it('a symlink to /proc/self/comm (writable, a regular file on proc): ERR_UNSUPPORTED, comm unchanged', () => {
    const link = join(tmp.dir, 'comm.raw');
    symlinkSync('/proc/self/comm', link);
    const before = readFileSync('/proc/self/comm', 'utf8');
    const file = MappedFile.open(link, { access: 'readwrite' });
    try {
      expect(file.fileKind()).toEqual({ regular: true, pseudo: 'proc' });
      expect(() => reserveInPlace(file, 0, 4)).toThrow(
        expect.objectContaining({
          code: 'ERR_UNSUPPORTED',
          message: expect.stringMatching(/on proc, a pseudo file system/),
        }),
      );
    } finally {
      file.close();
    }
    expect(readFileSync('/proc/self/comm', 'utf8')).toBe(before);
  });

  it('a symlink to /proc/self/status: refused by brightenFile with a one-line error', async () => {
    const link = join(tmp.dir, 'status.raw');
    symlinkSync('/proc/self/status', link);
    const error = await brightenFile(link, { by: 1 }).then(
      () => undefined,
      (e: unknown) => e as { code?: string; message: string },
    );
    expect(error?.code).toBeDefined();
    expect(error?.message).not.toContain('\n');
    const file = MappedFile.open(link, { access: 'read' });
    try {
      expect(() => refuseUnlessRealFile(file)).toThrow(expect.objectContaining({ code: 'ERR_UNSUPPORTED' }));
    } finally {
      file.close();
    }
  });

  it('a FIFO, a directory and /dev/null are refused with a code before anything is written', async () => {
    const fifo = join(tmp.dir, 'fifo.raw');
    execFileSync('mkfifo', [fifo]);
    const dir = join(tmp.dir, 'dir.raw');
    mkdirSync(dir);
    for (const path of [fifo, dir, '/dev/null']) {
      const error = await brightenFile(path, { by: 1 }).then(
        () => undefined,
        (e: unknown) => e as { code?: string; message: string },
      );
      expect(error?.code, path).toMatch(/^(ENODEV|EISDIR|ERR_UNSUPPORTED)$/);
      expect(error?.message).not.toContain('\n');
    }
  });

  it('a regular file on a real file system passes', () => {
    const path = join(tmp.dir, 'ok.raw');
    execFileSync('truncate', ['-s', '4096', path]);
    const file = MappedFile.open(path, { access: 'readwrite' });
    try {
      expect(file.fileKind()).toEqual({ regular: true, pseudo: undefined });
      reserveInPlace(file, 0, 4096);
    } finally {
      file.close();
    }
    expect(readFileSync(path).every((b) => b === 0)).toBe(true);
  });
});
