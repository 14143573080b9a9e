// MappedFile.fromFd (.NET's CreateFromFile(FileStream, …, leaveOpen)): mapping a descriptor the
// caller opened, who closes it, and which descriptors are refused.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MappedFile } from '../../dist/index.js';
import { fixtureFolder, randomBytes, sha256 } from '../helpers/raw.js';

const folder = fixtureFolder();
const { dir, fixture } = folder;
const runtime = fs.mkdtempSync(path.join(os.tmpdir(), 'rawbright-runtime-'));
const savedRuntime = process.env.XDG_RUNTIME_DIR;
process.env.XDG_RUNTIME_DIR = runtime;
afterAll(() => {
  if (savedRuntime === undefined) delete process.env.XDG_RUNTIME_DIR;
  else process.env.XDG_RUNTIME_DIR = savedRuntime;
  fs.rmSync(runtime, { recursive: true, force: true });
  folder.cleanup();
});

const isOpen = (fd: number) => {
  try {
    fs.fstatSync(fd);
    return true;
  } catch (error) {
    expect((error as NodeJS.ErrnoException).code).toBe('EBADF');
    return false;
  }
};

describe('fromFd', () => {
  it("maps a read-only descriptor 'read', under the path the descriptor has", () => {
    const bytes = randomBytes(10_000, 1);
    const file = fixture(bytes);
    const fd = fs.openSync(file, 'r');
    using mapped = MappedFile.fromFd(fd, { leaveOpen: true });
    expect(mapped.path).toBe(fs.realpathSync(file));
    expect(mapped.access).toBe('read');
    expect(mapped.size).toBe(10_000);
    using window = mapped.map({ offset: 4097, length: 100 });
    expect(Buffer.from(window.buffer).equals(bytes.subarray(4097, 4197))).toBe(true);
    mapped.close();
    fs.closeSync(fd);
  });

  it("maps an O_RDWR descriptor 'readwrite': writes reach the file", () => {
    const file = fixture(randomBytes(8192, 2));
    const fd = fs.openSync(file, 'r+');
    using mapped = MappedFile.fromFd(fd, { access: 'readwrite', leaveOpen: true });
    using window = mapped.map();
    new Uint8Array(window.buffer).set([0xde, 0xad], 5000);
    window.flush();
    expect(fs.readFileSync(file).subarray(5000, 5002).toString('hex')).toBe('dead');
    mapped.close();
    fs.closeSync(fd);
  });

  it('with leaveOpen, close() leaves the caller’s descriptor open and usable', () => {
    const bytes = randomBytes(4096, 3);
    const fd = fs.openSync(fixture(bytes), 'r');
    const mapped = MappedFile.fromFd(fd, { leaveOpen: true });
    const window = mapped.map();
    mapped.close();
    expect(window.closed).toBe(true);
    const again = Buffer.alloc(16);
    expect(fs.readSync(fd, again, 0, 16, 100)).toBe(16);
    expect(again.equals(bytes.subarray(100, 116))).toBe(true);
    // And the caller may close its descriptor while the map is open: the map works on its own duplicate.
    const second = MappedFile.fromFd(fd, { leaveOpen: true });
    fs.closeSync(fd);
    using view = second.map({ offset: 100, length: 16 });
    expect(Buffer.from(view.buffer).equals(bytes.subarray(100, 116))).toBe(true);
    second.close();
  });

  it('without leaveOpen (the default), the map owns the descriptor: open until close(), closed by it', () => {
    const fd = fs.openSync(fixture(randomBytes(4096, 4)), 'r');
    const mapped = MappedFile.fromFd(fd);
    expect(isOpen(fd)).toBe(true);
    mapped.close();
    expect(isOpen(fd)).toBe(false);
  });

  it('refuses access its open flags do not allow, in one line, and leaves the descriptor open', () => {
    const file = fixture(randomBytes(4096, 5));
    const before = sha256(file);
    const readOnly = fs.openSync(file, 'r');
    const writeOnly = fs.openSync(file, fs.constants.O_WRONLY);
    const append = fs.openSync(file, 'a+');
    const name = (fd: number) => `fd ${fd} (${fs.realpathSync(file)})`;
    const cases: [number, 'read' | 'readwrite' | 'copy', string][] = [
      [
        readOnly,
        'readwrite',
        `cannot map ${name(readOnly)}: 'readwrite' needs a descriptor opened O_RDWR, and this one is O_RDONLY`,
      ],
      [
        writeOnly,
        'read',
        `cannot map ${name(writeOnly)}: it was opened write-only (O_WRONLY), and a mapping must be able to read`,
      ],
      [
        writeOnly,
        'readwrite',
        `cannot map ${name(writeOnly)}: it was opened write-only (O_WRONLY), and a mapping must be able to read`,
      ],
      [
        append,
        'readwrite',
        `cannot map ${name(append)}: 'readwrite' cannot map a descriptor opened with O_APPEND`,
      ],
    ];
    for (const [fd, access, message] of cases) {
      for (const leaveOpen of [true, false]) {
        expect(() => MappedFile.fromFd(fd, { access, leaveOpen })).toThrow(
          expect.objectContaining({ code: 'ERR_FD_ACCESS', message }),
        );
        expect(isOpen(fd)).toBe(true);
      }
    }
    // What the flags do allow still works: reading through the append descriptor, copying through the read-only one.
    MappedFile.fromFd(append, { leaveOpen: true }).close();
    MappedFile.fromFd(readOnly, { access: 'copy', leaveOpen: true }).close();
    for (const fd of [readOnly, writeOnly, append]) fs.closeSync(fd);
    expect(sha256(file)).toBe(before);
  });

  it('refuses descriptors that are not regular files, or not open', () => {
    const directory = fs.openSync(dir, 'r');
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const pipe = fs.openSync(fifo, fs.constants.O_RDWR | fs.constants.O_NONBLOCK);
    expect(() => MappedFile.fromFd(directory)).toThrow(
      expect.objectContaining({
        code: 'EISDIR',
        message: `cannot map fd ${directory} (${dir}): it is a directory`,
      }),
    );
    expect(() => MappedFile.fromFd(pipe)).toThrow(
      expect.objectContaining({
        code: 'ENODEV',
        message: `cannot map fd ${pipe} (${fifo}): it is not a regular file`,
      }),
    );
    expect(isOpen(directory) && isOpen(pipe)).toBe(true);
    fs.closeSync(directory);
    fs.closeSync(pipe);
    expect(() => MappedFile.fromFd(directory)).toThrow(
      expect.objectContaining({
        code: 'EBADF',
        message: `cannot map fd ${directory}: it is not an open file descriptor`,
      }),
    );
    for (const bad of [-1, 1.5, '3', 2 ** 31]) {
      expect(() => MappedFile.fromFd(bad as number)).toThrow(
        /^Expected an integer from 0 to 2147483647 for fd but received/,
      );
    }
    expect(() => MappedFile.fromFd(0, { leaveOpen: 'yes' as unknown as boolean })).toThrow(
      'Expected a boolean for leaveOpen but received "yes" of type string',
    );
  });

  it('takes a name and a capacity like open, and a refused name leaves the descriptor open', () => {
    const file = fixture(randomBytes(1000, 6));
    const fd = fs.openSync(file, 'r+');
    const mapped = MappedFile.fromFd(fd, { access: 'readwrite', name: 'FromFd', capacity: 8192 });
    expect(mapped.size).toBe(8192);
    using other = MappedFile.openExisting('FromFd', { access: 'readwrite' });
    expect(other.path).toBe(fs.realpathSync(file));
    const second = fs.openSync(file, 'r');
    expect(() => MappedFile.fromFd(second, { name: 'FromFd' })).toThrow(
      expect.objectContaining({ code: 'EEXIST' }),
    );
    expect(isOpen(second)).toBe(true);
    fs.closeSync(second);
    mapped.close();
    expect(isOpen(fd)).toBe(false);
  });
});
