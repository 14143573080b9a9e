// Bad input to MappedFile and Window: every refusal is an Error with a stable code (errno name or
// ERR_...), the path where there is one, a one-sentence message, and the file left as it was.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { native } from '../../dist/addon.js';
import { nativeHandle } from '../../dist/file/handle.js';
import { MappedFile, RawbrightError } from '../../dist/index.js';
import { unprivilegedUser } from '../helpers/other-user.js';
import { fixtureFolder, sha256 } from '../helpers/raw.js';

const DIST = new URL('../../dist/index.js', import.meta.url).href;
const GiB = 1024 ** 3;

const folder = fixtureFolder();
const { dir, fixture } = folder;
afterAll(() => folder.cleanup());

interface Expected {
  code: string;
  message: string | RegExp;
  path?: string;
}

/** The message is one plain sentence: one line, no trailing period, no stack or errno noise. */
function expectPlainSentence(message: string): void {
  expect(message).not.toMatch(/\n/);
  expect(message).not.toMatch(/\.$/);
  expect(message.length).toBeLessThan(240);
}

function check(error: unknown, expected: Expected): void {
  // Errors from the addon are converted too, so one instanceof test catches them all.
  expect(error).toBeInstanceOf(RawbrightError);
  const { code, message, path: errorPath } = error as { code: string; message: string; path?: string };
  expect(code).toBe(expected.code);
  if (typeof expected.message === 'string') expect(message).toBe(expected.message);
  else expect(message).toMatch(expected.message);
  expect(errorPath).toBe(expected.path);
  expectPlainSentence(message);
}

function expectThrow(action: () => unknown, expected: Expected): void {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  if (caught === undefined) throw new Error(`expected ${expected.code}, nothing was thrown`);
  check(caught, expected);
}

async function expectReject(action: () => Promise<unknown>, expected: Expected): Promise<void> {
  let caught: unknown;
  try {
    await action();
  } catch (error) {
    caught = error;
  }
  if (caught === undefined) throw new Error(`expected ${expected.code}, the promise resolved`);
  check(caught, expected);
}

const badNumber = (name: string, shown: string, type: string): string =>
  `Expected a whole number of bytes from 0 to 2^53 - 1 for ${name} but received ${shown} of type ${type}`;

describe('opening what cannot be mapped', () => {
  it('a missing file is ENOENT, sync and async', async () => {
    const missing = path.join(dir, 'missing.raw');
    const expected = {
      code: 'ENOENT',
      path: missing,
      message: `cannot open ${missing}: no such file or directory`,
    };
    for (const access of ['read', 'readwrite', 'copy'] as const) {
      expectThrow(() => MappedFile.open(missing, { access }), expected);
      await expectReject(() => MappedFile.openAsync(missing, { access }), expected);
    }
    // Operating-system errors keep their syscall and errno, like Node's fs errors.
    expect(() => MappedFile.open(missing)).toThrow(expect.objectContaining({ syscall: 'open', errno: -2 }));
    // A path through a regular file.
    const through = path.join(fixture(randomBytes(10)), 'inside');
    expectThrow(() => MappedFile.open(through), {
      code: 'ENOTDIR',
      path: through,
      message: `cannot open ${through}: not a directory`,
    });
  });

  it('a directory is EISDIR', async () => {
    const expected = { code: 'EISDIR', path: dir, message: `cannot map ${dir}: it is a directory` };
    for (const access of ['read', 'readwrite', 'copy'] as const) {
      expectThrow(() => MappedFile.open(dir, { access }), expected);
      await expectReject(() => MappedFile.openAsync(dir, { access }), expected);
    }
  });

  it('a FIFO, a socket and character devices are ENODEV, without blocking or opening them', async () => {
    const fifo = path.join(dir, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const socketPath = path.join(dir, 'socket');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      for (const special of [fifo, socketPath, '/dev/null', '/dev/zero']) {
        const expected = {
          code: 'ENODEV',
          path: special,
          message: `cannot map ${special}: it is not a regular file`,
        };
        for (const access of ['read', 'readwrite', 'copy'] as const) {
          expectThrow(() => MappedFile.open(special, { access }), expected);
          await expectReject(() => MappedFile.openAsync(special, { access }), expected);
        }
      }
    } finally {
      server.close();
    }
    expect(fs.statSync(fifo).isFIFO()).toBe(true);
  });

  it('no permission is EACCES (checked as an unprivileged user)', () => {
    // Root may open anything: as root, an unprivileged child (nobody) is asked instead; as any other
    // user, the modes below deny the owner too (0000, 0444, a 0555 folder).
    const user = unprivilegedUser();
    const folder = fs.mkdtempSync(`${os.tmpdir()}/rawbright-eacces-`);
    try {
      const secret = path.join(folder, 'secret.raw');
      const shared = path.join(folder, 'shared.raw');
      fs.writeFileSync(secret, randomBytes(5000), { mode: 0o600 });
      fs.writeFileSync(shared, randomBytes(5000), { mode: 0o444 });
      const before = [sha256(secret), sha256(shared)];
      fs.chmodSync(secret, 0o000);
      fs.chmodSync(folder, 0o555);
      const script = `
        const { MappedFile } = await import(${JSON.stringify(user.path('dist/index.js'))});
        const attempt = async (action) => {
          try { const file = await action(); file.close(); return 'opened'; }
          catch (e) { return { code: e.code, path: e.path, message: e.message }; }
        };
        console.log(JSON.stringify({
          uid: process.getuid(),
          secret: await attempt(() => MappedFile.open(${JSON.stringify(secret)})),
          secretAsync: await attempt(() => MappedFile.openAsync(${JSON.stringify(secret)}, { access: 'copy' })),
          sharedRead: await attempt(() => MappedFile.open(${JSON.stringify(shared)})),
          sharedWrite: await attempt(() => MappedFile.open(${JSON.stringify(shared)}, { access: 'readwrite' })),
          create: await attempt(() => MappedFile.create(${JSON.stringify(path.join(folder, 'new.raw'))}, { size: 10 })),
          overwrite: await attempt(() => MappedFile.create(${JSON.stringify(shared)}, { size: 10, overwrite: true })),
        }));
      `;
      const [command, args] = user.command(['--input-type=module', '-e', script]);
      const result = spawnSync(command, args, { encoding: 'utf8', timeout: 30_000 });
      expect(result.stderr).toBe('');
      const outcome = JSON.parse(result.stdout);
      const denied = (file: string, verb: string) => ({
        code: 'EACCES',
        path: file,
        message: `cannot ${verb} ${file}: permission denied`,
      });
      expect(outcome).toEqual({
        uid: user.uid,
        secret: denied(secret, 'open'),
        secretAsync: denied(secret, 'open'),
        sharedRead: 'opened',
        sharedWrite: denied(shared, 'open'),
        create: denied(path.join(folder, 'new.raw'), 'create'),
        overwrite: denied(shared, 'create'),
      });
      fs.chmodSync(secret, 0o600);
      expect([sha256(secret), sha256(shared)]).toEqual(before);
      expect(fs.readdirSync(folder).sort()).toEqual(['secret.raw', 'shared.raw']);
    } finally {
      fs.chmodSync(folder, 0o755);
      fs.rmSync(folder, { recursive: true, force: true });
      user.cleanup();
    }
  });

  it('bad paths, options and access modes are ERR_INVALID_ARG_VALUE', () => {
    const file = fixture(randomBytes(10));
    const badPath = (shown: string, type: string) => ({
      code: 'ERR_INVALID_ARG_VALUE',
      message: `Expected a path (a non-empty string without NUL bytes, a Buffer or a file: URL) for path but received ${shown} of type ${type}`,
    });
    expectThrow(() => MappedFile.open(''), badPath('""', 'string'));
    expectThrow(() => MappedFile.open('a\0b'), badPath('"a\\u0000b"', 'string'));
    expectThrow(() => MappedFile.open(42 as unknown as string), badPath('42', 'number'));
    expectThrow(
      () => MappedFile.create(undefined as unknown as string, { size: 1 }),
      badPath('undefined', 'undefined'),
    );
    expectThrow(() => MappedFile.open(file, { access: 'write' as 'read' }), {
      code: 'ERR_INVALID_ARG_VALUE',
      message: `Expected one of 'read', 'readwrite', 'copy' for access but received "write" of type string`,
    });
    expectThrow(() => MappedFile.open(file, 'read' as unknown as { access: 'read' }), {
      code: 'ERR_INVALID_ARG_VALUE',
      message: 'Expected an object for options but received "read" of type string',
    });
  });
});

describe('mapping out of range', () => {
  it('an empty file cannot be mapped whole, but an explicit zero length gives an empty window', () => {
    const empty = fixture(new Uint8Array(0));
    using file = MappedFile.open(empty);
    expectThrow(() => file.map(), {
      code: 'ERR_EMPTY_FILE',
      path: empty,
      message: `cannot map ${empty}: the file is empty`,
    });
    using window = file.map({ length: 0 });
    expect(window.buffer.byteLength).toBe(0);
    window.close();
    expect(window.closed).toBe(true);
  });

  it('an offset or a length past the end is ERR_OUT_OF_RANGE', () => {
    const name = fixture(randomBytes(10_000));
    using file = MappedFile.open(name);
    const offsetPast = { code: 'ERR_OUT_OF_RANGE', path: name, message: 'offset is larger than the file' };
    const lengthPast = {
      code: 'ERR_OUT_OF_RANGE',
      path: name,
      message: 'length is past the end of the file',
    };
    expectThrow(() => file.map({ offset: 10_001 }), offsetPast);
    expectThrow(() => file.map({ offset: 2 ** 40, length: 0 }), offsetPast);
    expectThrow(() => file.map({ offset: 2n ** 53n - 1n }), offsetPast);
    expectThrow(() => file.map({ offset: 10, length: 9991 }), lengthPast);
    expectThrow(() => file.map({ length: 10_001 }), lengthPast);
    expectThrow(() => file.map({ offset: 9999, length: 2 }), lengthPast);
    expect(file.openWindows).toBe(0);
  });

  it.each([
    [-1, '-1', 'number'],
    [Number.NaN, 'NaN', 'number'],
    [1.5, '1.5', 'number'],
    [4096.000_1, '4096.0001', 'number'],
    [Number.POSITIVE_INFINITY, 'Infinity', 'number'],
    [2 ** 53, '9007199254740992', 'number'],
    [-1n, '-1n', 'bigint'],
    [2n ** 53n, '9007199254740992n', 'bigint'],
    ['5', '"5"', 'string'],
    [null, 'null', 'null'],
  ])('offset or length %s is ERR_INVALID_ARG_VALUE', (value, shown, type) => {
    using file = MappedFile.open(fixture(randomBytes(100)));
    for (const name of ['offset', 'length'] as const) {
      expectThrow(() => file.map({ [name]: value as number }), {
        code: 'ERR_INVALID_ARG_VALUE',
        message: badNumber(name, shown, type),
      });
    }
    expectThrow(() => file.read(value as number, new Uint8Array(4)), {
      code: 'ERR_INVALID_ARG_VALUE',
      message: badNumber('position', shown, type),
    });
  });

  it('-0 is taken as 0', () => {
    const contents = randomBytes(100);
    using file = MappedFile.open(fixture(contents));
    using window = file.map({ offset: -0, length: 4 });
    expect(window.offset).toBe(0);
    expect(Buffer.from(window.buffer).equals(contents.subarray(0, 4))).toBe(true);
  });

  it('a window over 4 GiB is ERR_WINDOW_TOO_LARGE and says so', () => {
    const name = fixture(6 * GiB);
    using file = MappedFile.open(name);
    const tooLarge = (bytes: number) => ({
      code: 'ERR_WINDOW_TOO_LARGE',
      path: name,
      message: `a window is at most 4 GiB (Node's ArrayBuffer limit) but ${bytes} bytes were asked for`,
    });
    expectThrow(() => file.map(), tooLarge(6 * GiB));
    expectThrow(() => file.map({ offset: 1, length: 4 * GiB + 1 }), tooLarge(4 * GiB + 1));
    expectThrow(() => file.map({ length: 2n ** 32n + 1n }), tooLarge(4 * GiB + 1));
    expect(file.openWindows).toBe(0);
  });
});

describe('closed windows and files', () => {
  it('a closed window throws ERR_CLOSED for every use but close', async () => {
    const name = fixture(randomBytes(10_000));
    using file = MappedFile.open(name, { access: 'readwrite' });
    const window = file.map({ offset: 5, length: 100 });
    window.close();
    const closed = { code: 'ERR_CLOSED', path: name, message: `a window of ${name} is closed` };
    expectThrow(() => window.buffer, closed);
    expectThrow(() => window.flush(), closed);
    expectThrow(() => window.advise('normal'), closed);
    expectThrow(() => window.populate(), closed);
    await expectReject(() => window.flushAsync(), closed);
    window.close();
    window[Symbol.dispose]();
    expect(window.closed).toBe(true);
  });

  it('a closed file throws ERR_CLOSED, and so do the windows it closed', async () => {
    const name = fixture(randomBytes(10_000));
    const file = MappedFile.open(name, { access: 'readwrite' });
    const window = file.map();
    file.close();
    const closed = { code: 'ERR_CLOSED', path: name, message: `the file handle of ${name} is closed` };
    expectThrow(() => file.map(), closed);
    expectThrow(() => file.size, closed);
    expectThrow(() => file.lock('shared'), closed);
    expectThrow(() => file.unlock(), closed);
    expectThrow(() => file.read(0, new Uint8Array(4)), closed);
    expectThrow(() => file.write(0, new Uint8Array(4)), closed);
    await expectReject(() => file.lockAsync('exclusive'), closed);
    await expectReject(() => file.sync(), closed);
    expectThrow(() => window.buffer, {
      code: 'ERR_CLOSED',
      path: name,
      message: `a window of ${name} is closed`,
    });
    expect(file.closed).toBe(true);
    file.close();
  });
});

describe('bad arguments to window and file methods', () => {
  it('flush ranges outside the window are ERR_OUT_OF_RANGE; bad flags ERR_INVALID_ARG_VALUE', async () => {
    const name = fixture(randomBytes(10_000));
    using file = MappedFile.open(name, { access: 'readwrite' });
    using window = file.map({ offset: 1, length: 100 });
    const offsetPast = { code: 'ERR_OUT_OF_RANGE', path: name, message: 'offset is larger than the window' };
    const lengthPast = {
      code: 'ERR_OUT_OF_RANGE',
      path: name,
      message: 'length is past the end of the window',
    };
    expectThrow(() => window.flush({ offset: 101 }), offsetPast);
    expectThrow(() => window.flush({ offset: 50, length: 51 }), lengthPast);
    await expectReject(() => window.flushAsync({ length: 101 }), lengthPast);
    expectThrow(() => window.flush({ sync: 1 as unknown as boolean }), {
      code: 'ERR_INVALID_ARG_VALUE',
      message: 'Expected a boolean for sync but received 1 of type number',
    });
    expectThrow(() => window.flush({ offset: -1 }), {
      code: 'ERR_INVALID_ARG_VALUE',
      message: badNumber('offset', '-1', 'number'),
    });
    expectThrow(() => window.advise('often' as 'normal'), {
      code: 'ERR_INVALID_ARG_VALUE',
      message: `Expected one of 'normal', 'sequential', 'random', 'willneed', 'dontneed', 'hugepage' for advice but received "often" of type string`,
    });
  });

  it('locks, reads and writes check their arguments', () => {
    const name = fixture(randomBytes(100));
    using file = MappedFile.open(name);
    expectThrow(() => file.lock('both' as 'shared'), {
      code: 'ERR_INVALID_ARG_VALUE',
      message: `Expected one of 'shared', 'exclusive' for kind but received "both" of type string`,
    });
    expectThrow(() => file.lock('shared', { wait: 'yes' as unknown as boolean }), {
      code: 'ERR_INVALID_ARG_VALUE',
      message: 'Expected a boolean for wait but received "yes" of type string',
    });
    expectThrow(() => file.lock('shared', 7 as unknown as { wait: boolean }), {
      code: 'ERR_INVALID_ARG_VALUE',
      message: 'Expected an object for options but received 7 of type number',
    });
    expectThrow(() => file.read(0, [1, 2] as unknown as Uint8Array), {
      code: 'ERR_INVALID_ARG_VALUE',
      message:
        'Expected a TypedArray, DataView or Buffer over an ArrayBuffer for target but received an array of type array',
    });
    for (const access of ['read', 'copy'] as const) {
      using readOnly = MappedFile.open(name, { access });
      expectThrow(() => readOnly.write(0, new Uint8Array(4)), {
        code: 'ERR_READ_ONLY',
        path: name,
        message: `cannot write ${name}: it was opened '${access}'`,
      });
    }
  });
});

describe('MappedFile.create refusals', () => {
  it('an existing file without overwrite is EEXIST; a missing folder ENOENT; a directory EISDIR', async () => {
    const existing = fixture(Buffer.from('keep me'));
    const exists = {
      code: 'EEXIST',
      path: existing,
      message: `cannot create ${existing}: it already exists`,
    };
    expectThrow(() => MappedFile.create(existing, { size: 10 }), exists);
    await expectReject(() => MappedFile.createAsync(existing, { size: 10 }), exists);
    expect(fs.readFileSync(existing, 'utf8')).toBe('keep me');

    const orphan = path.join(dir, 'no-such-folder', 'x.raw');
    expectThrow(() => MappedFile.create(orphan, { size: 10 }), {
      code: 'ENOENT',
      path: orphan,
      message: `cannot create ${orphan}: no such file or directory`,
    });
    const folder = fs.mkdtempSync(path.join(dir, 'folder-'));
    expectThrow(() => MappedFile.create(folder, { size: 10, overwrite: true }), {
      code: 'EISDIR',
      path: folder,
      message: `cannot create ${folder}: it is a directory`,
    });
  });

  it('overwrite refuses anything but a regular file (ENODEV), leaving it in place', () => {
    const fifo = path.join(dir, 'fifo-target');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    expectThrow(() => MappedFile.create(fifo, { size: 10, overwrite: true }), {
      code: 'ENODEV',
      path: fifo,
      message: `cannot overwrite ${fifo}: it is not a regular file`,
    });
    expect(fs.statSync(fifo).isFIFO()).toBe(true);
  });

  it('bad sizes are ERR_INVALID_ARG_VALUE; a size the file system cannot hold fails and leaves nothing', () => {
    const target = path.join(dir, 'sized.raw');
    expectThrow(() => MappedFile.create(target, {} as { size: number }), {
      code: 'ERR_INVALID_ARG_VALUE',
      message: badNumber('size', 'undefined', 'undefined'),
    });
    expectThrow(() => MappedFile.create(target, { size: -5 }), {
      code: 'ERR_INVALID_ARG_VALUE',
      message: badNumber('size', '-5', 'number'),
    });
    expectThrow(() => MappedFile.create(target, { size: 10, overwrite: 'yes' as unknown as boolean }), {
      code: 'ERR_INVALID_ARG_VALUE',
      message: 'Expected a boolean for overwrite but received "yes" of type string',
    });
    // 8 PiB: beyond ext4's largest file (EFBIG), or more than the disk holds elsewhere (ENOSPC).
    let caught: { code?: string; path?: string; message?: string } = {};
    try {
      MappedFile.create(target, { size: 2 ** 53 - 1 });
    } catch (error) {
      caught = error as typeof caught;
    }
    expect(caught.code).toMatch(/^(EFBIG|ENOSPC)$/);
    expect(caught.path).toBe(target);
    expect(caught.message).toMatch(
      /^cannot allocate 9007199254740991 bytes for .+: (file too large|no space left on device)$/,
    );
    expect(fs.existsSync(target)).toBe(false);
    expect(fs.readdirSync(dir).filter((entry) => entry.startsWith('.rawbright-new-'))).toEqual([]);
  });
});

describe('refusals leave the file untouched', () => {
  it('no refused operation on a readwrite file changes a byte or its modification time', async () => {
    const name = fixture(randomBytes(3 * 4096 + 11));
    const before = sha256(name);
    const mtime = fs.statSync(name).mtimeMs;
    const attempts: Array<() => unknown> = [];
    {
      using file = MappedFile.open(name, { access: 'readwrite' });
      using window = file.map({ offset: 1, length: 100 });
      attempts.push(
        () => file.map({ offset: 3 * 4096 + 12 }),
        () => file.map({ length: 3 * 4096 + 12 }),
        () => file.map({ offset: -1 }),
        () => file.map({ length: Number.NaN }),
        () => file.map({ length: 2 ** 32 + 1 }),
        () => window.flush({ offset: 101 }),
        () => window.advise('bogus' as 'normal'),
        () => file.write(-1, new Uint8Array(4)),
        () => file.write(0, 'text' as unknown as Uint8Array),
        () => file.lock('bogus' as 'shared'),
        () => MappedFile.create(name, { size: 5 }),
        () => MappedFile.open(name, { access: 'bogus' as 'read' }),
      );
      for (const attempt of attempts) expect(attempt).toThrow(RawbrightError);
      await expect(MappedFile.createAsync(name, { size: 5 })).rejects.toMatchObject({ code: 'EEXIST' });
    }
    expect(sha256(name)).toBe(before);
    expect(fs.statSync(name).mtimeMs).toBe(mtime);
  });
});

describe('another process truncating a mapped file', () => {
  it('map() re-reads the size and populate() reports EFAULT instead of a SIGBUS', () => {
    const name = fixture(randomBytes(4 * 4096));
    // In a child, so that a regression (SIGBUS) kills the child, not the test runner.
    const script = `
      import fs from 'node:fs';
      const { MappedFile } = await import(${JSON.stringify(DIST)});
      const results = {};
      for (const access of ['read', 'readwrite', 'copy']) {
        fs.truncateSync(${JSON.stringify(name)}, 4 * 4096);
        const file = MappedFile.open(${JSON.stringify(name)}, { access });
        const window = file.map();
        fs.truncateSync(${JSON.stringify(name)}, 4096);
        const outcome = {};
        try { window.populate(); outcome.populate = 'loaded'; } catch (e) { outcome.populate = [e.code, e.path, e.message]; }
        try { file.map({ offset: 8192, length: 1 }); outcome.map = 'mapped'; } catch (e) { outcome.map = [e.code, e.message]; }
        outcome.size = file.size;
        file.close();
        results[access] = outcome;
      }
      console.log(JSON.stringify(results));
    `;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.signal).toBe(null);
    expect(result.stderr).toBe('');
    const expected = {
      populate: ['EFAULT', name, "cannot load the window's pages: the file is now shorter than the window"],
      map: ['ERR_OUT_OF_RANGE', 'offset is larger than the file'],
      size: 4096,
    };
    expect(JSON.parse(result.stdout)).toEqual({ read: expected, readwrite: expected, copy: expected });
  });
});

describe('the private native layer still guards itself', () => {
  it('rejects bad buffers, ranges and modes with TypeError / RangeError and a code', () => {
    const name = fixture(randomBytes(100));
    using file = MappedFile.open(name);
    const handle = nativeHandle(file);
    const guard = (action: () => unknown, kind: ErrorConstructor, code: string, message: string) => {
      let caught: unknown;
      try {
        action();
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(kind);
      expect(caught).toMatchObject({ code, message });
    };
    guard(
      () => native.unmap(new ArrayBuffer(8)),
      TypeError,
      'ERR_INVALID_ARG_VALUE',
      'buffer is not a mapped window',
    );
    guard(
      () => native.unmap(42 as unknown as ArrayBuffer),
      TypeError,
      'ERR_INVALID_ARG_TYPE',
      'buffer must be an ArrayBuffer',
    );
    guard(
      () => handle.map(-1, 10, false),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'offset must be a whole number from 0 to 2^53 - 1',
    );
    guard(
      () => handle.map(0, 101, false),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'length is past the end of the file',
    );
    guard(() => handle.map(101, 0, false), RangeError, 'ERR_OUT_OF_RANGE', 'offset is larger than the file');
    guard(
      () => handle.map(0, 10, true),
      Error,
      'ERR_READ_ONLY',
      `${name} was opened read-only and cannot be mapped shared`,
    );
    guard(
      () => native.flush(new ArrayBuffer(8), 4, 5, true),
      RangeError,
      'ERR_OUT_OF_RANGE',
      'the range is outside the buffer',
    );
    const huge = fixture(5 * GiB);
    using hugeFile = MappedFile.open(huge);
    guard(
      () => nativeHandle(hugeFile).map(0, 4 * GiB + 1, false),
      RangeError,
      'ERR_WINDOW_TOO_LARGE',
      'a window is at most 4 GiB',
    );
  });
});
