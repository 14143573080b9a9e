// The mutexes' JavaScript fast path (issue #18): an uncontended tryLock/unlock is a compare-exchange
// on the lock word itself, with no call into the addon; everything else (a holder, a sleeper's bit,
// an abandoned or dead holder's word, a caught SIGBUS) goes the native way. These tests count the
// native calls (spies on the addon's MutexHandle prototype) and check that the two paths, in this
// process, in a Node child and in the C peer built from native/include/rawbright_ipc.h, keep one
// protocol. The truncation tests come last: once this process caught a SIGBUS the fast path is off.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, truncateSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { native } from '../../dist/addon.js';
import { NamedMutex } from '../../dist/shm/mutex.js';
import { SharedMemory } from '../../dist/shm/shared-memory.js';
import { compileCPeer } from '../helpers/c-peer.js';
import { askLine, killChild, startLineChild } from '../helpers/line-child.js';
import { kill, rejection, shmPath, startChild, thrown, uniqueName } from '../helpers/shm-processes.js';

const WAITERS = 0x80000000;
const FIRST_TOKEN = 1024;
const wordOffset = (index: number) => 128 + 64 * index;
/** Lock word `index` as another process sees it: read from the region's file. */
const wordOf = (name: string, index = 0) => readFileSync(shmPath(name)).readUInt32LE(wordOffset(index));
const until = async (check: () => boolean) => {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 1));
};

// The prototype every native mutex handle of this process shares: its methods are spied on.
const probe = native.createSharedMemory(`${uniqueName()}-probe`, 16, 0o600, 1, false, undefined);
const handleProto = Object.getPrototypeOf(probe.mutex(0)) as Record<string, (...args: unknown[]) => unknown>;
probe.close();
const calls = () => ({
  tryLock: vi.spyOn(handleProto, 'tryLock'),
  unlock: vi.spyOn(handleProto, 'unlock'),
  adopt: vi.spyOn(handleProto, 'adopt'),
});
afterEach(() => {
  vi.restoreAllMocks();
});

const work = mkdtempSync(join(tmpdir(), 'rb-fast-lock-'));
const binary = join(work, 'c-peer');
beforeAll(() => compileCPeer(binary));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the mutex fast path', () => {
  it('takes and frees an uncontended lock with no call into the addon, writing the native protocol', () => {
    using region = SharedMemory.create(uniqueName(), 64, { mutexes: 3 });
    const spies = calls();
    const guard = region.mutexAt(2).tryLock();
    expect(guard?.abandoned).toBe(false);
    const token = wordOf(region.name, 2);
    expect(token).toBeGreaterThanOrEqual(FIRST_TOKEN);
    expect(token & WAITERS).toBe(0);
    expect(wordOf(region.name, 0)).toBe(0);
    // Held by this object: a second try (fast or native) says busy.
    expect(region.mutexAt(2).tryLock()).toBeNull();
    guard?.unlock();
    expect(wordOf(region.name, 2)).toBe(0);
    expect(spies.tryLock).not.toHaveBeenCalled();
    expect(spies.unlock).not.toHaveBeenCalled();
    expect(spies.adopt).not.toHaveBeenCalled();
    // Another attachment of this process sees the same word, and the same token while held.
    using other = SharedMemory.open(region.name);
    const again = region.mutexAt(2).tryLock();
    expect(wordOf(region.name, 2)).toBe(token);
    expect(other.mutexAt(2).tryLock()).toBeNull(); // fast CAS fails: native tryLock finds a live holder
    expect(spies.tryLock).toHaveBeenCalledTimes(1);
    again?.unlock();
    const theirs = other.mutexAt(2).tryLock();
    expect(theirs?.abandoned).toBe(false);
    expect(wordOf(region.name, 2)).not.toBe(token);
    theirs?.unlock();
    expect(spies.tryLock).toHaveBeenCalledTimes(1);
  });

  it('a Node child sleeping on a fast-path hold (native wait) is woken by the unlock, which goes native for it', async () => {
    const region = SharedMemory.create(uniqueName(), 64);
    const spies = calls();
    const guard = region.mutex.tryLock();
    expect(spies.tryLock).not.toHaveBeenCalled();
    const child = startChild('lock-hold', region.name);
    try {
      // The child's fast CAS failed; its native wait marked the word: a sleeper is there.
      await until(() => (wordOf(region.name) & WAITERS) !== 0);
      guard?.unlock();
      // The fast unlock saw the bit and handed the release (and its futex wake) to the addon.
      expect(spies.adopt).toHaveBeenCalledTimes(1);
      expect(spies.unlock).toHaveBeenCalledTimes(1);
      await child.line('locked');
      expect(region.mutex.tryLock()).toBeNull();
      // The child closes its region holding the lock: the word says so, and this side hears it.
      child.process.stdin!.write('close\n');
      await child.line('closed');
      const taken = region.mutex.tryLock();
      expect(taken?.abandoned).toBe(true);
      taken?.unlock();
      expect(region.mutex.tryLock()?.abandoned).toBe(false);
    } finally {
      await kill(child);
      region.close();
    }
  });

  it('a fast-path holder that is SIGKILLed is reported as abandoned, then the fast path resumes', async () => {
    using region = SharedMemory.create(uniqueName(), 64);
    const child = startChild('lock-hold', region.name); // uncontended: the child's fast path
    await child.line('locked');
    const dead = wordOf(region.name);
    expect(dead).toBeGreaterThanOrEqual(FIRST_TOKEN);
    expect(region.mutex.tryLock()).toBeNull();
    await kill(child);
    const spies = calls();
    const taken = region.mutex.tryLock();
    expect(taken?.abandoned).toBe(true);
    expect(spies.tryLock).toHaveBeenCalledTimes(1);
    taken?.unlock();
    const next = await region.mutex.lock({ timeout: 1000 });
    expect(next.abandoned).toBe(false);
    next.unlock();
    expect(spies.tryLock).toHaveBeenCalledTimes(1);
  });

  it('closing a region while the fast path holds its lock tells the next locker it was abandoned', () => {
    using keeper = SharedMemory.create(uniqueName(), 64);
    const region = SharedMemory.open(keeper.name);
    expect(region.mutex.tryLock()).not.toBeNull();
    region.close();
    expect(wordOf(keeper.name)).toBe(1);
    const spies = calls();
    const taken = keeper.mutex.tryLock();
    expect(taken?.abandoned).toBe(true);
    expect(spies.tryLock).toHaveBeenCalledTimes(1);
    taken?.unlock();
  });

  it('a word rewritten under a fast-path hold: ERR_SHM_LOCK_BROKEN from unlock, then lockable again', () => {
    using region = SharedMemory.create(uniqueName(), 64);
    using other = SharedMemory.open(region.name);
    const guard = region.mutex.tryLock();
    // Another program rewrites the word: a token nobody holds replaces ours.
    const mine = wordOf(region.name);
    const forged = Buffer.alloc(4);
    forged.writeUInt32LE(mine === FIRST_TOKEN ? FIRST_TOKEN + 1 : FIRST_TOKEN);
    const fd = openSync(shmPath(region.name), 'r+');
    writeSync(fd, forged, 0, 4, wordOffset(0));
    closeSync(fd);
    expect(thrown(() => guard?.unlock()).code).toBe('ERR_SHM_LOCK_BROKEN');
    expect(region.mutex.locked).toBe(false);
    // The forged token has no live owner: taken over as abandoned.
    const next = other.mutex.tryLock();
    expect(next?.abandoned).toBe(true);
    next?.unlock();
  });

  it('interoperates with the C peer: it sleeps on a fast-path hold and is woken; its hold blocks the fast path; its death is abandoned', async () => {
    using mutex = NamedMutex.create(uniqueName());
    const peer = startLineChild(binary, ['serve'], 'c-peer serve');
    try {
      const spies = calls();
      const guard = mutex.tryLock();
      expect(spies.tryLock).not.toHaveBeenCalled();
      const answer = askLine(peer, `lock ${mutex.name}`);
      await until(() => (wordOf(mutex.name) & WAITERS) !== 0);
      guard?.unlock();
      expect(await answer).toBe('locked');
      expect(spies.unlock).toHaveBeenCalledTimes(1); // the sleeper's bit sent the unlock native
      expect(mutex.tryLock()).toBeNull();
      expect(await askLine(peer, `unlock ${mutex.name}`)).toBe('unlocked');
      // The peer's unlock left the word free: the next take is the fast path's again.
      spies.tryLock.mockClear();
      const mine = mutex.tryLock();
      expect(mine?.abandoned).toBe(false);
      expect(spies.tryLock).not.toHaveBeenCalled();
      const pending = askLine(peer, `lock ${mutex.name}`);
      await until(() => (wordOf(mutex.name) & WAITERS) !== 0);
      mine?.unlock();
      expect(await pending).toBe('locked');
      await killChild(peer);
      const taken = await mutex.lock({ timeout: 20_000 });
      expect(taken.abandoned).toBe(true);
      taken.unlock();
    } finally {
      await killChild(peer);
    }
  });
});

/** Runs `body` (an ES module using `SharedMemory`) in a new Node process; its stdout, exit code, signal. */
async function runScript(
  body: string,
): Promise<{ out: string; err: string; code: number | null; signal: string | null }> {
  const library = new URL('../../dist/shm/shared-memory.js', import.meta.url).href;
  const script = `const { SharedMemory } = await import(${JSON.stringify(library)});\n${body}`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'pipe' });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  child.stderr.on('data', (chunk) => {
    err += chunk;
  });
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
    child.on('exit', (c, s) => resolve([c, s])),
  );
  return { out, err, code, signal };
}

describe('the mutex fast path under contention', () => {
  it('keeps mutual exclusion between processes that take it in a tight tryLock loop', async () => {
    // A racy read-modify-write of two words under the lock: a lost update or a torn pair shows.
    using region = SharedMemory.create(uniqueName(), 64);
    const rounds = 100_000;
    const body = `
      const region = SharedMemory.open(${JSON.stringify(region.name)});
      const words = new Uint32Array(region.buffer, 0, 3);
      // All start together: each counts in at word 2 and waits for the others.
      Atomics.add(words, 2, 1);
      while (Atomics.load(words, 2) < 3) {}
      let torn = 0;
      let busy = 0;
      for (let i = 0; i < ${rounds}; i++) {
        let guard = region.mutex.tryLock();
        while (guard === null) {
          busy++;
          guard = region.mutex.tryLock();
        }
        const value = words[0];
        if (words[1] !== value) torn++;
        words[0] = value + 1;
        words[1] = value + 1;
        guard.unlock();
      }
      region.close();
      console.log(JSON.stringify({ torn, busy }));`;
    const results = await Promise.all([runScript(body), runScript(body), runScript(body)]);
    let busy = 0;
    for (const result of results) {
      expect(result.err).toBe('');
      expect(result.code).toBe(0);
      const counts = JSON.parse(result.out) as { torn: number; busy: number };
      expect(counts.torn).toBe(0);
      busy += counts.busy;
    }
    // They did contend (the native tryLock saw the others' holds), and no update was lost.
    expect(busy).toBeGreaterThan(0);
    expect(Array.from(new Uint32Array(region.buffer, 0, 2))).toEqual([3 * rounds, 3 * rounds]);
    expect(wordOf(region.name)).toBe(0);
  });
});

describe('the mutex fast path and truncation (SIGBUS guard)', () => {
  it('a lock word truncated away under a fast-path try: ERR_SHM_TRUNCATED, never SIGBUS (fresh process)', async () => {
    // A process that never caught a SIGBUS, so its first touch of the lost word is the fast path's.
    const name = uniqueName();
    const { out, err, code, signal } = await runScript(`
      import('node:fs').then(({ truncateSync }) => {
        const region = SharedMemory.create(${JSON.stringify(name)}, 4096);
        truncateSync(region.path, 0);
        const codes = [];
        for (let i = 0; i < 2; i++) {
          try { region.mutex.tryLock(); codes.push('none'); } catch (error) { codes.push(error.code); }
        }
        region.close();
        console.log(JSON.stringify(codes));
      });`);
    expect(err).toBe('');
    expect(signal).toBeNull();
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual(['ERR_SHM_TRUNCATED', 'ERR_SHM_TRUNCATED']);
  });

  it('a fast-path hold whose word is truncated away: unlock is ERR_SHM_TRUNCATED, never SIGBUS', async () => {
    const name = uniqueName();
    const region = SharedMemory.create(name, 4096);
    const guard = region.mutex.tryLock();
    expect(wordOf(name)).toBeGreaterThanOrEqual(FIRST_TOKEN);
    truncateSync(shmPath(name), 0);
    expect(thrown(() => guard?.unlock()).code).toBe('ERR_SHM_TRUNCATED');
    expect(region.mutex.locked).toBe(false);
    expect(thrown(() => region.mutex.tryLock()).code).toBe('ERR_SHM_TRUNCATED');
    expect((await rejection(region.mutex.lock())).code).toBe('ERR_SHM_TRUNCATED');
    region.close();
  });
});
