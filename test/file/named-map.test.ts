// Named persisted maps (.NET's CreateFromFile with a mapName, and OpenExisting): two processes on one
// name, the name's lifetime (last close, killed users), renamed, replaced and deleted files, and the
// registry folder's defences against other users.
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MappedFile, mapNamesDirectory } from '../../dist/index.js';
import { unprivilegedUser } from '../helpers/other-user.js';
import { randomBytes, sha256 } from '../helpers/raw.js';

const DIST = new URL('../../dist/index.js', import.meta.url).href;
const CHILD = new URL('../helpers/map-child.mjs', import.meta.url).pathname;

// Every test here works in its own runtime folder (children inherit the variable), never in the
// user's real one.
const runtime = fs.mkdtempSync(path.join(os.tmpdir(), 'rawbright-runtime-'));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rawbright-named-'));
const savedRuntime = process.env.XDG_RUNTIME_DIR;
const registry = path.join(runtime, 'rawbright');
let counter = 0;

beforeAll(() => {
  process.env.XDG_RUNTIME_DIR = runtime;
});
afterAll(() => {
  if (savedRuntime === undefined) delete process.env.XDG_RUNTIME_DIR;
  else process.env.XDG_RUNTIME_DIR = savedRuntime;
  fs.rmSync(runtime, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
});

const children: Child[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill();
});

/** A fresh file of `size` pseudo-random bytes and a fresh name for it. */
function fixture(size = 3 * 4096): { file: string; name: string; bytes: Buffer } {
  counter++;
  const file = path.join(work, `image-${counter}.raw`);
  const bytes = randomBytes(size, counter);
  fs.writeFileSync(file, bytes);
  return { file, name: `Img${counter}`, bytes };
}

type Answer = { ok?: true; error?: { code: string; message: string }; [key: string]: unknown };

/** Another Node process running test/helpers/map-child.mjs. */
class Child {
  readonly process: ChildProcessWithoutNullStreams;
  readonly #answers: ((answer: Answer) => void)[] = [];
  stderr = '';

  constructor() {
    this.process = spawn(process.execPath, [CHILD, DIST], { stdio: 'pipe' });
    this.process.stderr.on('data', (data) => {
      this.stderr += data;
    });
    createInterface({ input: this.process.stdout }).on('line', (line) => {
      this.#answers.shift()?.(JSON.parse(line));
    });
    children.push(this);
  }

  send(command: Record<string, unknown>): Promise<Answer> {
    return new Promise((resolve) => {
      this.#answers.push(resolve);
      this.process.stdin.write(`${JSON.stringify(command)}\n`);
    });
  }

  async ok(command: Record<string, unknown>): Promise<Answer> {
    const answer = await this.send(command);
    expect(answer.error, this.stderr).toBeUndefined();
    return answer;
  }

  /** SIGKILL, and wait until the process is gone (its locks with it). */
  async killHard(): Promise<void> {
    const exited = new Promise((resolve) => this.process.once('exit', resolve));
    this.process.kill('SIGKILL');
    await exited;
  }

  kill(): void {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill('SIGKILL');
  }
}

const hexAt = (bytes: Buffer, offset: number, length: number) =>
  bytes.subarray(offset, offset + length).toString('hex');

describe('the registry folder', () => {
  it('is $XDG_RUNTIME_DIR/rawbright, made 0700, with one 0600 file per name', () => {
    const { file, name } = fixture();
    expect(mapNamesDirectory()).toBe(registry);
    using mapped = MappedFile.open(file, { name });
    expect(mapped.name).toBe(name);
    expect(fs.statSync(registry).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(registry, `${name}.map`)).mode & 0o777).toBe(0o600);
    mapped.close();
    expect(fs.existsSync(path.join(registry, `${name}.map`))).toBe(false);
  });

  it('is /dev/shm/rawbright-<uid> without XDG_RUNTIME_DIR', () => {
    const result = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { mapNamesDirectory } from ${JSON.stringify(DIST)}; console.log(mapNamesDirectory())`,
      ],
      { encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: '' } },
    );
    expect(result.stdout.trim()).toBe(`/dev/shm/rawbright-${process.geteuid?.()}`);
  });
  it("ignores an XDG_RUNTIME_DIR that is another user's folder (sudo keeping the caller's environment)", () => {
    // As root, a folder given to nobody; as anyone else, / (root's).
    const foreign =
      process.geteuid?.() === 0 ? fs.mkdtempSync(path.join(os.tmpdir(), 'rawbright-foreign-')) : '/';
    try {
      if (foreign !== '/') fs.chownSync(foreign, 65534, 65534);
      const result = spawnSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `import { mapNamesDirectory } from ${JSON.stringify(DIST)}; console.log(mapNamesDirectory())`,
        ],
        { encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: foreign } },
      );
      expect(result.stdout.trim()).toBe(`/dev/shm/rawbright-${process.geteuid?.()}`);
    } finally {
      if (foreign !== '/') fs.rmSync(foreign, { recursive: true, force: true });
    }
  });
});

describe('two processes on one name', () => {
  it('see each other’s writes through the same file', async () => {
    const { file, name, bytes } = fixture();
    using mapped = MappedFile.open(file, { access: 'readwrite', name });
    using window = mapped.map();
    const view = new Uint8Array(window.buffer);
    view.set([1, 2, 3, 4], 100);

    const child = new Child();
    const opened = await child.ok({ op: 'openExisting', name, access: 'readwrite' });
    expect(opened).toMatchObject({ path: file, size: bytes.length });
    // The child sees this process's write, and this process sees the child's.
    expect((await child.ok({ op: 'read', offset: 100, length: 4 })).hex).toBe('01020304');
    await child.ok({ op: 'write', offset: 5000, hex: 'aabbccdd' });
    expect(Buffer.from(view.subarray(5000, 5004)).toString('hex')).toBe('aabbccdd');
    view.set([9, 9], 8191);
    expect((await child.ok({ op: 'read', offset: 8191, length: 2 })).hex).toBe('0909');
    await child.ok({ op: 'close' });
    // Both wrote the file itself.
    const onDisk = fs.readFileSync(file);
    expect(hexAt(onDisk, 100, 4)).toBe('01020304');
    expect(hexAt(onDisk, 5000, 4)).toBe('aabbccdd');
    expect(hexAt(onDisk, 0, 100)).toBe(hexAt(bytes, 0, 100));
  });

  it('refuses a second registration of a name in use, in another process or this one', async () => {
    const { file, name } = fixture();
    const other = fixture();
    using mapped = MappedFile.open(file, { name });
    const child = new Child();
    const answer = await child.send({ op: 'open', path: other.file, name });
    expect(answer.error).toEqual({ code: 'EEXIST', message: `the map name '${name}' is already in use` });
    expect(() => MappedFile.open(other.file, { name })).toThrow(
      expect.objectContaining({ code: 'EEXIST', message: `the map name '${name}' is already in use` }),
    );
    // The refused opens changed nothing: the name still leads to the first file.
    using again = MappedFile.openExisting(name);
    expect(again.path).toBe(file);
    mapped.close();
  });

  it('several processes racing to register one name: exactly one gets it', async () => {
    const { file, name } = fixture();
    const racers = [new Child(), new Child(), new Child(), new Child()];
    // All four are started and waiting: the commands reach them at nearly the same moment.
    await Promise.all(racers.map((child) => child.ok({ op: 'ping' })));
    const answers = await Promise.all(racers.map((child) => child.send({ op: 'open', path: file, name })));
    expect(answers.filter((answer) => answer.ok).length).toBe(1);
    for (const answer of answers.filter((answer) => !answer.ok)) expect(answer.error?.code).toBe('EEXIST');
    using reopened = MappedFile.openExisting(name);
    expect(reopened.path).toBe(file);
  });

  it('keeps the name while any user has it open, and removes it with the last', async () => {
    const { file, name } = fixture();
    const record = path.join(registry, `${name}.map`);
    const creator = MappedFile.open(file, { access: 'readwrite', name });
    const child = new Child();
    await child.ok({ op: 'openExisting', name, access: 'read' });
    creator.close();
    expect(fs.existsSync(record)).toBe(true);
    // The registrant is gone but a user is left: the name still opens, and the creator's access holds.
    using third = MappedFile.openExisting(name, { access: 'readwrite' });
    expect(third.path).toBe(file);
    third.close();
    expect(fs.existsSync(record)).toBe(true);
    await child.ok({ op: 'close' });
    expect(fs.existsSync(record)).toBe(false);
    expect(() => MappedFile.openExisting(name)).toThrow(
      expect.objectContaining({ code: 'ENOENT', message: `no open map is named '${name}'` }),
    );
  });

  it('a killed registrant does not block the name', async () => {
    const { file, name } = fixture();
    const record = path.join(registry, `${name}.map`);
    const child = new Child();
    await child.ok({ op: 'open', path: file, name, access: 'readwrite' });
    await child.killHard();
    // SIGKILL ran no cleanup: the record is still there, but nobody holds its lock.
    expect(fs.existsSync(record)).toBe(true);
    using mapped = MappedFile.open(file, { name, access: 'readwrite' });
    expect(mapped.name).toBe(name);
    using reopened = MappedFile.openExisting(name);
    expect(reopened.path).toBe(file);
  });

  it('openExisting of a name whose users were all killed is ENOENT and removes the stale record', async () => {
    const { file, name } = fixture();
    const record = path.join(registry, `${name}.map`);
    const first = new Child();
    await first.ok({ op: 'open', path: file, name });
    const second = new Child();
    await second.ok({ op: 'openExisting', name });
    await first.killHard();
    // One user left: still open.
    const third = new Child();
    await third.ok({ op: 'openExisting', name });
    await third.ok({ op: 'close' });
    await second.killHard();
    expect(fs.existsSync(record)).toBe(true);
    expect(() => MappedFile.openExisting(name)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(fs.existsSync(record)).toBe(false);
  });

  it.each([
    ['ends normally', ''],
    ['calls process.exit()', 'process.exit(3);'],
    ['throws an uncaught exception', "throw new Error('boom');"],
  ])('a user of a name that %s without closing releases it', (_, ending) => {
    const { file, name } = fixture();
    const result = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `import { MappedFile } from ${JSON.stringify(DIST)};
         globalThis.keep = MappedFile.open(${JSON.stringify(file)}, { name: ${JSON.stringify(name)} });
         ${ending}`,
      ],
      { encoding: 'utf8' },
    );
    expect(result.status).toBe(ending === '' ? 0 : ending.startsWith('process') ? 3 : 1);
    expect(fs.existsSync(path.join(registry, `${name}.map`))).toBe(false);
  });
});

describe('the file behind a name', () => {
  it('is followed when renamed (same device and inode)', async () => {
    const { file, name, bytes } = fixture();
    const child = new Child();
    await child.ok({ op: 'open', path: file, name, access: 'readwrite' });
    const moved = path.join(work, `moved-${name}.raw`);
    fs.renameSync(file, moved);
    using reopened = MappedFile.openExisting(name, { access: 'readwrite' });
    expect(reopened.path).toBe(moved);
    using window = reopened.map({ offset: 4096, length: 16 });
    expect(Buffer.from(window.buffer).equals(bytes.subarray(4096, 4112))).toBe(true);
    new Uint8Array(window.buffer)[0] = bytes[4096] ^ 0xff;
    expect((await child.ok({ op: 'read', offset: 4096, length: 1 })).hex).toBe(
      Buffer.from([bytes[4096] ^ 0xff]).toString('hex'),
    );
  });

  it('is refused when replaced by another file at the same path, and the new file is untouched', async () => {
    const { file, name } = fixture();
    const child = new Child();
    await child.ok({ op: 'open', path: file, name, access: 'readwrite' });
    const replacement = `${file}.new`;
    fs.writeFileSync(replacement, randomBytes(5000, 99));
    fs.renameSync(replacement, file);
    const before = sha256(file);
    expect(() => MappedFile.openExisting(name, { access: 'readwrite' })).toThrow(
      expect.objectContaining({
        code: 'ERR_FILE_REPLACED',
        path: file,
        message: `cannot open the map '${name}': ${file} was replaced by another file since it was mapped`,
      }),
    );
    expect(sha256(file)).toBe(before);
  });

  it('is refused when deleted', async () => {
    const { file, name } = fixture();
    const child = new Child();
    await child.ok({ op: 'open', path: file, name });
    fs.unlinkSync(file);
    expect(() => MappedFile.openExisting(name)).toThrow(
      expect.objectContaining({
        code: 'ERR_FILE_DELETED',
        message: `cannot open the map '${name}': ${file} was deleted since it was mapped`,
      }),
    );
  });

  it("opens 'readwrite' only what was registered 'readwrite'", () => {
    const { file, name } = fixture();
    using mapped = MappedFile.open(file, { name, access: 'read' });
    expect(() => MappedFile.openExisting(name, { access: 'readwrite' })).toThrow(
      expect.objectContaining({
        code: 'ERR_READ_ONLY',
        message: `cannot open the map '${name}' 'readwrite': it was mapped 'read'`,
      }),
    );
    using copy = MappedFile.openExisting(name, { access: 'copy' });
    expect(copy.access).toBe('copy');
    mapped.close();
  });
});

describe('bad names and an unsafe registry', () => {
  it.each([
    ['', '""'],
    ['.hidden', '".hidden"'],
    ['a/b', '"a/b"'],
    ['x'.repeat(201), `"${'x'.repeat(57)}..."`],
    [7, '7'],
  ])('refuses the name %j', (name, shown) => {
    const { file } = fixture(16);
    const message = new RegExp(
      `^Expected a map name \\(1 to 200 letters, digits, '-', '_' and '\\.', not starting with '\\.'\\) for name but received ${shown.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} of type`,
    );
    expect(() => MappedFile.open(file, { name: name as string })).toThrow(message);
    expect(() => MappedFile.openExisting(name as string)).toThrow(message);
  });

  it('refuses a registry folder other users can use, and creates nothing in it', () => {
    const { file, name } = fixture();
    const unsafe = fs.mkdtempSync(path.join(os.tmpdir(), 'rawbright-unsafe-'));
    try {
      fs.mkdirSync(path.join(unsafe, 'rawbright'), { mode: 0o755 });
      fs.chmodSync(path.join(unsafe, 'rawbright'), 0o755);
      process.env.XDG_RUNTIME_DIR = unsafe;
      expect(() => MappedFile.open(file, { name })).toThrow(
        expect.objectContaining({
          code: 'ERR_UNSAFE_RUNTIME_DIR',
          message: `cannot keep map names in ${unsafe}/rawbright: it is not a folder only you can use (owner uid ${process.geteuid?.()}, mode 0755)`,
        }),
      );
      expect(fs.readdirSync(path.join(unsafe, 'rawbright'))).toEqual([]);
      // A parent anyone may write to (and not sticky) could have its rawbright folder swapped.
      fs.rmSync(path.join(unsafe, 'rawbright'), { recursive: true });
      fs.chmodSync(unsafe, 0o777);
      expect(() => MappedFile.open(file, { name })).toThrow(
        expect.objectContaining({ code: 'ERR_UNSAFE_RUNTIME_DIR' }),
      );
      expect(fs.readdirSync(unsafe)).toEqual([]);
    } finally {
      process.env.XDG_RUNTIME_DIR = runtime;
      fs.rmSync(unsafe, { recursive: true, force: true });
    }
  });

  it('refuses registrations it did not make for this user', () => {
    const { file } = fixture();
    fs.mkdirSync(registry, { recursive: true, mode: 0o700 });
    const plant = (name: string, make: (record: string) => void) => {
      make(path.join(registry, `${name}.map`));
      return name;
    };
    const loose = plant('loose', (record) => fs.writeFileSync(record, 'x', { mode: 0o644 }));
    fs.chmodSync(path.join(registry, 'loose.map'), 0o644);
    const link = plant('link', (record) => fs.symlinkSync(file, record));
    const cases: [string, string][] = [
      [loose, 'ERR_NAME_INVALID'],
      [link, 'ERR_NAME_INVALID'],
    ];
    if (process.geteuid?.() === 0) {
      // Only root can give a file to another user: a record owned by nobody.
      const foreign = plant('foreign', (record) => fs.writeFileSync(record, 'x', { mode: 0o600 }));
      fs.chownSync(path.join(registry, 'foreign.map'), 65534, 65534);
      cases.push([foreign, 'ERR_NAME_NOT_OWNED']);
    }
    for (const [name, code] of cases) {
      expect(() => MappedFile.open(file, { name }), name).toThrow(expect.objectContaining({ code }));
      expect(() => MappedFile.openExisting(name), name).toThrow(expect.objectContaining({ code }));
    }
    expect(fs.readFileSync(file).length).toBe(3 * 4096);
    if (process.geteuid?.() === 0) {
      expect(() => MappedFile.openExisting('foreign')).toThrow(
        "the map name 'foreign' belongs to another user (uid 65534)",
      );
      // And the other way round: nobody finds root's record in its own folder, which it cannot even open.
      const user = unprivilegedUser();
      const theirs = fs.mkdtempSync(path.join(os.tmpdir(), 'rawbright-nobody-'));
      try {
        fs.mkdirSync(path.join(theirs, 'rawbright'), { mode: 0o700 });
        fs.writeFileSync(path.join(theirs, 'rawbright', 'ImgA.map'), 'x', { mode: 0o600 });
        fs.chownSync(theirs, user.uid, user.uid);
        fs.chownSync(path.join(theirs, 'rawbright'), user.uid, user.uid);
        const image = path.join(theirs, 'image.raw');
        fs.copyFileSync(file, image);
        fs.chownSync(image, user.uid, user.uid);
        const script = `
          const { MappedFile } = await import(${JSON.stringify(user.path('dist/index.js'))});
          const attempt = (action) => { try { action().close(); return 'opened'; } catch (e) { return { code: e.code, message: e.message }; } };
          console.log(JSON.stringify([
            attempt(() => MappedFile.open(${JSON.stringify(image)}, { name: 'ImgA' })),
            attempt(() => MappedFile.openExisting('ImgA')),
          ]));`;
        const [command, args] = user.command(['--input-type=module', '-e', script]);
        const result = spawnSync(command, args, {
          encoding: 'utf8',
          env: { ...process.env, XDG_RUNTIME_DIR: theirs },
        });
        expect(result.stderr).toBe('');
        const refused = {
          code: 'ERR_NAME_NOT_OWNED',
          message: "the map name 'ImgA' belongs to another user (uid 0)",
        };
        expect(JSON.parse(result.stdout)).toEqual([refused, refused]);
      } finally {
        fs.rmSync(theirs, { recursive: true, force: true });
        user.cleanup();
      }
    }
  });
});
