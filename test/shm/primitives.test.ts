// Event, Semaphore and NamedMutex, within a process and between real processes
// (children run test/shm/primitives-child.mjs against the built library).
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Event } from '../../dist/shm/event.js';
import { NamedMutex } from '../../dist/shm/mutex.js';
import { Semaphore } from '../../dist/shm/semaphore.js';
import { SharedMemory } from '../../dist/shm/shared-memory.js';
import { type LineChild, startLineChild } from '../helpers/line-child.js';

const CHILD = fileURLToPath(new URL('./primitives-child.mjs', import.meta.url));
const PREFIX = `rbprim-${process.pid}-`;
let counter = 0;
const uniqueName = () => `${PREFIX}${++counter}`;

/** A child running CHILD with these arguments, its stdout read as lines. */
const child = (...args: string[]): LineChild => startLineChild(process.execPath, [CHILD, ...args]);

async function until(condition: () => boolean): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > 20_000) throw new Error('the peer never got there');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? code : (error as Error).name;
  }
}

describe('Event', () => {
  it('auto-reset lets one wait through per set; manual-reset lets all through until reset', async () => {
    using auto = Event.create(uniqueName());
    expect(auto.manualReset).toBe(false);
    expect(auto.tryWait()).toBe(false);
    auto.set();
    expect(auto.tryWait()).toBe(true);
    expect(auto.tryWait()).toBe(false);
    using manual = Event.create(uniqueName(), { manualReset: true, initialState: true });
    expect(manual.tryWait()).toBe(true);
    expect(manual.tryWait()).toBe(true);
    await manual.wait({ timeout: 0 });
    manual.reset();
    expect(await codeOf(manual.wait({ timeout: 20 }))).toBe('ETIMEDOUT');
    const controller = new AbortController();
    const waiting = manual.wait({ signal: controller.signal });
    controller.abort();
    expect(await codeOf(waiting)).toBe('AbortError');
  });

  it('wakes waiters in other processes: one per set (auto), every one (manual)', async () => {
    using auto = Event.create(uniqueName());
    const peers = [child('event-wait', auto.name, '1'), child('event-wait', auto.name, '1')];
    // Each set lets exactly one through; sets while nobody waits are kept (the event stays set).
    auto.set();
    await until(() => peers.reduce((n, p) => n + p.lines().length, 0) === 1);
    auto.set();
    expect(await Promise.all(peers.map((p) => p.closed))).toEqual([0, 0]);
    expect(peers.map((p) => p.lines())).toEqual([['got'], ['got']]);
    using manual = Event.create(uniqueName(), { manualReset: true });
    const all = [child('event-wait', manual.name, '3'), child('event-wait', manual.name, '3')];
    manual.set();
    expect(await Promise.all(all.map((p) => p.closed))).toEqual([0, 0]);
    expect(all.map((p) => p.lines().length)).toEqual([3, 3]);
  });

  it('close rejects a pending wait with ERR_CLOSED; bad regions and a mismatched mode are refused', async () => {
    const event = Event.create(uniqueName());
    const pending = event.wait();
    event.close();
    expect(await codeOf(pending)).toBe('ERR_CLOSED');
    using region = SharedMemory.create(uniqueName(), 64);
    expect(() => Event.open(region.name)).toThrow(expect.objectContaining({ code: 'ERR_IPC_INVALID' }));
    expect(() => Event.open(uniqueName())).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    using made = Event.create(uniqueName(), { manualReset: true });
    expect(() => Event.createOrOpen(made.name, { manualReset: false })).toThrow(
      expect.objectContaining({ code: 'ERR_SHM_MISMATCH' }),
    );
  });
});

describe('Semaphore', () => {
  it('counts permits, refuses to pass its maximum, times out and aborts', async () => {
    using semaphore = Semaphore.create(uniqueName(), { initialCount: 2, maximumCount: 3 });
    expect(semaphore.tryWait()).toBe(true);
    expect(semaphore.tryWait()).toBe(true);
    expect(semaphore.tryWait()).toBe(false);
    expect(semaphore.release(3)).toBe(0);
    expect(() => semaphore.release()).toThrow(expect.objectContaining({ code: 'ERR_SEMAPHORE_FULL' }));
    expect(semaphore.count).toBe(3);
    for (let i = 0; i < 3; i++) await semaphore.wait({ timeout: 0 });
    expect(await codeOf(semaphore.wait({ timeout: 20 }))).toBe('ETIMEDOUT');
    expect(await codeOf(semaphore.wait({ signal: AbortSignal.abort() }))).toBe('AbortError');
    expect(() => Semaphore.create(uniqueName(), { initialCount: 5, maximumCount: 2 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
  });

  it('hands permits to waiters in other processes, each permit to one', async () => {
    using semaphore = Semaphore.create(uniqueName());
    const peers = [child('sem-wait', semaphore.name, '5'), child('sem-wait', semaphore.name, '5')];
    for (let i = 0; i < 10; i++) semaphore.release();
    expect(await Promise.all(peers.map((p) => p.closed))).toEqual([0, 0]);
    expect(peers.reduce((n, p) => n + p.lines().length, 0)).toBe(10);
    expect(semaphore.count).toBe(0);
  });
});

describe('NamedMutex', () => {
  it('excludes, and reports a SIGKILLed owner as abandoned', async () => {
    using mutex = NamedMutex.create(uniqueName());
    const holder = child('mutex-hold', mutex.name);
    await until(() => holder.lines().includes('held'));
    expect(mutex.tryLock()).toBeNull();
    expect(await codeOf(mutex.lock({ timeout: 20 }))).toBe('ETIMEDOUT');
    holder.process.kill('SIGKILL');
    await holder.closed;
    const guard = await mutex.lock({ timeout: 10_000 });
    expect(guard.abandoned).toBe(true);
    expect(mutex.locked).toBe(true);
    guard.unlock();
    const again = mutex.tryLock();
    expect(again?.abandoned).toBe(false);
    again?.unlock();
  });

  it('opens by name, and refuses regions that are not named mutexes', () => {
    using made = NamedMutex.create(uniqueName());
    using opened = NamedMutex.open(made.name);
    expect(opened.created).toBe(false);
    const guard = made.tryLock();
    expect(guard).not.toBeNull();
    expect(opened.tryLock()).toBeNull();
    guard?.unlock();
    using region = SharedMemory.create(uniqueName(), 64);
    expect(() => NamedMutex.open(region.name)).toThrow(expect.objectContaining({ code: 'ERR_IPC_INVALID' }));
    expect(() => NamedMutex.open('no/such')).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
  });
});
