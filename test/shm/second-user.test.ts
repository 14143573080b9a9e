// Shared memory against a second local user (uid 65534), who runs test/helpers/shm-intruder.mjs:
// pre-creating names, truncating a shared region, forging lock words. The regions are this process's
// (root's); the checks run in this process, so a SIGBUS, SIGSEGV or abort would end the test run.
// Switching users needs root and setpriv: without them these tests cannot run, and say why.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readObject, writeObject } from '../../dist/shm/serialize.js';
import { SharedMemory } from '../../dist/shm/shared-memory.js';
import { killChild } from '../helpers/line-child.js';
import { SECOND_UID, SecondUser, secondUserUnavailable } from '../helpers/second-user.js';

const INTRUDER = fileURLToPath(new URL('../helpers/shm-intruder.mjs', import.meta.url));
const PREFIX = `rbuser-${process.pid}-`;
let counter = 0;
const uniqueName = () => `${PREFIX}${++counter}`;
const shmPath = (name: string) => `/dev/shm/rawbright.${name}`;
// Lock word i of a region sits at byte 128 + 64 * i of its file.
const wordOffset = (index: number) => 128 + 64 * index;

function thrown(call: () => unknown): { code?: string; message: string } {
  try {
    call();
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('expected an error');
}

async function rejection(promise: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('expected a rejection');
}

const unavailable = secondUserUnavailable();
if (unavailable !== undefined) {
  console.warn(`test/shm/second-user.test.ts cannot run: ${unavailable}`);
}
const title = `shared memory and a second local user (uid ${SECOND_UID})${
  unavailable === undefined ? '' : ` — cannot run here: ${unavailable}`
}`;

describe.skipIf(unavailable !== undefined)(title, () => {
  let intruder: SecondUser;
  beforeAll(() => {
    intruder = new SecondUser([INTRUDER]);
  });
  afterAll(() => {
    intruder?.[Symbol.dispose]();
    expect(readdirSync('/dev/shm').filter((file) => file.startsWith(`rawbright.${PREFIX}`))).toEqual([]);
  });
  const run = (...args: (string | number)[]) => intruder.start('shm-intruder.mjs', ...args);
  async function runToEnd(...args: (string | number)[]): Promise<string> {
    const child = run(...args);
    const { code, signal } = await child.exited;
    expect({ code, signal, stderr: child.stderr() }).toEqual({ code: 0, signal: null, stderr: '' });
    return child.lines().join('\n');
  }

  it('runs its children as that user', async () => {
    expect(await runToEnd('uid')).toBe(String(SECOND_UID));
  });

  it('refuses a region another user created first (ERR_SHM_FOREIGN_OWNER), and joins it when trusted', async () => {
    const name = uniqueName();
    const path = shmPath(name);
    const owner = run('create-hold', name, 4096, 0o666);
    await owner.line('ready');
    try {
      const before = readFileSync(path);
      const inode = statSync(path).ino;
      expect(statSync(path).uid).toBe(SECOND_UID);
      const refused = thrown(() => SharedMemory.open(name));
      expect(refused.code).toBe('ERR_SHM_FOREIGN_OWNER');
      expect(refused.message).toBe(
        `shared memory region "${name}" belongs to uid ${SECOND_UID}, not to this user (uid 0); pass { trustOwner: ${SECOND_UID} } to use it`,
      );
      expect(thrown(() => SharedMemory.createOrOpen(name, 4096)).code).toBe('ERR_SHM_FOREIGN_OWNER');
      expect(thrown(() => SharedMemory.open(name, { trustOwner: 1234 })).code).toBe('ERR_SHM_FOREIGN_OWNER');
      expect(thrown(() => SharedMemory.create(name, 4096)).code).toBe('EEXIST');
      expect(SharedMemory.cleanup()).not.toContain(name);
      expect(statSync(path).ino).toBe(inode);
      expect(readFileSync(path).equals(before)).toBe(true);

      // Trusted on purpose: then it is an ordinary region shared by two users.
      const region = SharedMemory.open(name, { trustOwner: SECOND_UID });
      expect(region.owner).toBe(SECOND_UID);
      expect(region.created).toBe(false);
      expect(readObject(region.buffer)).toBe('nobody-was-here');
      const guard = await region.mutex.lock({ timeout: 5000 });
      writeObject(region.buffer, { from: 'root' });
      guard.unlock();
      expect(JSON.parse(await runToEnd('read-object', name, '-'))).toEqual({ from: 'root' });
      const again = SharedMemory.createOrOpen(name, 4096, { trustOwner: SECOND_UID });
      expect(again.created).toBe(false);
      again.close();
      region.close();
    } finally {
      owner.send('close');
      await owner.exited;
    }
    expect(existsSync(path)).toBe(false);
  });

  it('leaves another user’s stale region alone; with trustOwner it is reclaimed like one of ours', async () => {
    const name = uniqueName();
    const path = shmPath(name);
    const owner = run('create-hold', name, 4096, 0o666);
    await owner.line('ready');
    await killChild(owner);
    expect(existsSync(path)).toBe(true);
    expect(thrown(() => SharedMemory.open(name)).code).toBe('ERR_SHM_FOREIGN_OWNER');
    expect(thrown(() => SharedMemory.createOrOpen(name, 4096)).code).toBe('ERR_SHM_FOREIGN_OWNER');
    expect(thrown(() => SharedMemory.create(name, 4096)).code).toBe('EEXIST');
    expect(SharedMemory.cleanup()).not.toContain(name);
    expect(thrown(() => SharedMemory.unlink(name)).code).toBe('ERR_SHM_FOREIGN_OWNER');
    expect(existsSync(path)).toBe(true);
    expect(thrown(() => SharedMemory.open(name, { trustOwner: SECOND_UID })).code).toBe('ENOENT');
    expect(existsSync(path)).toBe(false);
  });

  it('lets the second user join a region of ours only if it trusts us and the mode allows it', async () => {
    const shared = uniqueName();
    const closed = uniqueName();
    const sharedRegion = SharedMemory.create(shared, 64, { mode: 0o666 });
    const privateRegion = SharedMemory.create(closed, 64);
    try {
      expect(await runToEnd('try-open', shared, '-')).toBe('ERR_SHM_FOREIGN_OWNER');
      expect(await runToEnd('try-open', shared, 0)).toBe('opened');
      expect(await runToEnd('try-open', closed, 0)).toBe('EACCES');
    } finally {
      sharedRegion.close();
      privateRegion.close();
    }
  });

  it('lets the second user read a 0644 region of ours with access: read, and write nothing', async () => {
    const name = uniqueName();
    using region = SharedMemory.create(name, 4096, { mode: 0o644 });
    writeObject(region.buffer, { note: 'for readers', n: 3 });
    const before = readFileSync(shmPath(name));
    // Read and write access is refused by the mode; read-only access is what it grants.
    expect(await runToEnd('try-open', name, 0)).toBe('EACCES');
    expect((await runToEnd('read-only', name, 0)).split('\n')).toEqual([
      'read',
      JSON.stringify({ note: 'for readers', n: 3 }),
      'ERR_SHM_READ_ONLY',
      'ERR_SHM_READ_ONLY',
    ]);
    expect(readFileSync(shmPath(name)).equals(before)).toBe(true);
    expect(existsSync(shmPath(name))).toBe(true);
  });

  it('turns a truncation by the second user into ERR_SHM_TRUNCATED, never SIGBUS', async () => {
    const name = uniqueName();
    const region = SharedMemory.create(name, 65536, { mode: 0o666 });
    const waiter = SharedMemory.open(name);
    const bytes = new Uint8Array(region.buffer);
    bytes.fill(7);
    const guard = region.mutex.tryLock();
    expect(guard).not.toBeNull();
    // A lock waiting on its own thread when the pages go.
    const waiting = rejection(waiter.mutex.lock({ timeout: 10_000 }));
    expect(region.truncated).toBe(false);
    await runToEnd('truncate', shmPath(name), 0);
    expect(region.truncated).toBe(true);
    expect(bytes[0]).toBe(0);
    bytes[100] = 1; // goes nowhere, and does not kill us
    expect(bytes[65_535]).toBe(0);
    const unlock = thrown(() => guard?.unlock());
    expect(unlock.code).toBe('ERR_SHM_TRUNCATED');
    expect(unlock.message).toBe(
      `shared memory region "${name}" was truncated by another process; its lost pages now read as zeros here`,
    );
    expect(region.mutex.locked).toBe(false);
    expect(thrown(() => region.mutex.tryLock()).code).toBe('ERR_SHM_TRUNCATED');
    expect((await rejection(region.mutex.lock({ timeout: 1000 }))).code).toBe('ERR_SHM_TRUNCATED');
    expect((await waiting).code).toBe('ERR_SHM_TRUNCATED');
    waiter.close();
    region.close();
    expect(existsSync(shmPath(name))).toBe(false);
  });

  it('takes lock words the second user forged as abandoned, never crashing or aborting', async () => {
    const name = uniqueName();
    const path = shmPath(name);
    const region = SharedMemory.create(name, 4096, { mode: 0o666, mutexes: 4 });
    try {
      // Slot 0 filled with 0xff (where format 1 kept glibc's robust-list pointers), slot 1 a small
      // value no rawbright writes, slot 2 a token no live attachment holds, slot 3 only the bytes
      // after its word (pointer-like garbage that nothing reads).
      await runToEnd('write', path, wordOffset(0), 'ff'.repeat(64));
      await runToEnd('write', path, wordOffset(1), '05000000');
      await runToEnd('write', path, wordOffset(2), '78563412');
      await runToEnd('write', path, wordOffset(3) + 4, 'efbeadde00007f00'.repeat(7));
      for (const index of [0, 1, 2]) {
        const guard = region.mutexAt(index).tryLock();
        expect(guard?.abandoned).toBe(true);
        guard?.unlock();
        const again = region.mutexAt(index).tryLock();
        expect(again?.abandoned).toBe(false);
        again?.unlock();
      }
      const untouched = region.mutexAt(3).tryLock();
      expect(untouched?.abandoned).toBe(false);
      untouched?.unlock();
      // The waiting path meets a forged word too.
      await runToEnd('write', path, wordOffset(0), 'ffffffff');
      const waited = await region.mutex.lock({ timeout: 5000 });
      expect(waited.abandoned).toBe(true);
      waited.unlock();
    } finally {
      region.close();
    }
  });

  it('survives the attacks that broke glibc mutexes: links rewritten under a held lock, a forged own-token', async () => {
    const name = uniqueName();
    const path = shmPath(name);
    const region = SharedMemory.create(name, 4096, { mode: 0o666 });
    try {
      const held = region.mutex.tryLock();
      // Bytes 24-39 of the slot: a held glibc robust mutex's list links, which its unlock followed
      // (format 1 died of SIGSEGV here). Now they are bytes nobody reads.
      await runToEnd('write', path, wordOffset(0) + 24, 'efbeadde00007f00'.repeat(2));
      held?.unlock();
      // The word as this attachment writes it when it holds the lock, copied back while it does not:
      // it must not look like a lock we hold (that would wait forever), but like a forged one.
      const mine = region.mutex.tryLock();
      const word = readFileSync(path)
        .subarray(wordOffset(0), wordOffset(0) + 4)
        .toString('hex');
      mine?.unlock();
      await runToEnd('write', path, wordOffset(0), word);
      const taken = region.mutex.tryLock();
      expect(taken?.abandoned).toBe(true);
      taken?.unlock();
    } finally {
      region.close();
    }
  });

  it('waits for a lock the second user holds until the timeout, and hears of its death', async () => {
    const name = uniqueName();
    const region = SharedMemory.create(name, 4096, { mode: 0o666 });
    const holder = run('lock-hold', name, 0);
    try {
      await holder.line('locked');
      expect(region.mutex.tryLock()).toBeNull();
      expect((await rejection(region.mutex.lock({ timeout: 200 }))).code).toBe('ETIMEDOUT');
      const waiting = region.mutex.lock({ timeout: 10_000 });
      await killChild(holder);
      const guard = await waiting;
      expect(guard.abandoned).toBe(true);
      guard.unlock();
    } finally {
      await killChild(holder);
      region.close();
    }
  });

  it('reports a lock word the second user rewrote under its holder (ERR_SHM_LOCK_BROKEN)', async () => {
    const name = uniqueName();
    const path = shmPath(name);
    const region = SharedMemory.create(name, 4096, { mode: 0o666 });
    try {
      const freed = region.mutex.tryLock();
      await runToEnd('write', path, wordOffset(0), '00000000');
      const broken = thrown(() => freed?.unlock());
      expect(broken.code).toBe('ERR_SHM_LOCK_BROKEN');
      expect(broken.message).toBe(
        `the mutex of shared memory region "${name}" was taken over by another process while this one held it`,
      );
      expect(region.mutex.locked).toBe(false);
      const next = region.mutex.tryLock();
      expect(next?.abandoned).toBe(false);
      await runToEnd('write', path, wordOffset(0), 'efbeadde');
      expect(thrown(() => next?.unlock()).code).toBe('ERR_SHM_LOCK_BROKEN');
      // The forged word is left as it was made, and the next locker takes it as abandoned.
      expect(
        readFileSync(path)
          .subarray(wordOffset(0), wordOffset(0) + 4)
          .toString('hex'),
      ).toBe('efbeadde');
      const after = region.mutex.tryLock();
      expect(after?.abandoned).toBe(true);
      after?.unlock();
    } finally {
      region.close();
    }
  });
});
