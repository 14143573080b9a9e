// Foreign peers on Event, Semaphore and NamedMutex: the C program (test/shm/c-peer.c, built from
// native/include/rawbright_ipc.h) and the Python program (test/shm/py-peer.py, standard library
// only) in their "serve" mode, answering one line per command on stdin. Both ways: the peer sets,
// posts or unlocks while Node waits (with Node's event loop shown running during the wait: a
// ping/pong over the peer's pipes), and Node sets, releases or unlocks while the peer sleeps in
// FUTEX_WAIT (seen in the primitive's waiters word).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Event } from '../../dist/shm/event.js';
import { NamedMutex } from '../../dist/shm/mutex.js';
import { Semaphore } from '../../dist/shm/semaphore.js';
import { SharedMemory } from '../../dist/shm/shared-memory.js';
import { compileCPeer } from '../helpers/c-peer.js';
import { askLine, killChild, startLineChild } from '../helpers/line-child.js';

const PY_PEER = fileURLToPath(new URL('./py-peer.py', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'rb-prim-peer-'));
const binary = join(work, 'c-peer');
let counter = 0;
const uniqueName = () => `rbfprim-${process.pid}-${++counter}`;

beforeAll(() => compileCPeer(binary));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const PEERS = [
  ['C', () => startLineChild(binary, ['serve'], 'c-peer serve')],
  ['Python', () => startLineChild('python3', [PY_PEER, 'serve'], 'py-peer serve')],
] as const;

/** Resolves once word `index` of the primitive's region reaches `count` (sleepers counted). */
async function sleepers(name: string, index: number, count: number): Promise<void> {
  using region = SharedMemory.open(name);
  const words = new Int32Array(region.buffer);
  while (Atomics.load(words, index) < count) await new Promise((resolve) => setTimeout(resolve, 1));
}

// The words the sleepers count in (rawbright_ipc.h): event word 5, semaphore word 4.
const EVENT_WAITERS = 5;
const SEMAPHORE_WAITERS = 4;

describe.each(PEERS)('a %s peer', (_kind, start) => {
  it('auto-reset Event: the peer sets while Node waits, Node sets while the peer sleeps; one wait per set', async () => {
    using event = Event.create(uniqueName());
    const peer = start();
    let settled = false;
    const waiting = event.wait({ timeout: 20_000 }).then(() => {
      settled = true;
    });
    // Node's event loop runs while it waits: a round trip over the peer's pipes.
    expect(await askLine(peer, 'ping')).toBe('pong');
    expect(settled).toBe(false);
    expect(await askLine(peer, `event-set ${event.name}`)).toBe('ok');
    await waiting;
    expect(event.tryWait()).toBe(false); // the wait took the set
    const answer = askLine(peer, `event-wait ${event.name} 20000`);
    await sleepers(event.name, EVENT_WAITERS, 1);
    event.set();
    expect(await answer).toBe('ok');
    expect(event.tryWait()).toBe(false); // the peer took it
    // Sets while nobody waits are not counted: the event is set once.
    event.set();
    event.set();
    expect(await askLine(peer, `event-try ${event.name}`)).toBe('1');
    expect(await askLine(peer, `event-try ${event.name}`)).toBe('0');
    expect(await askLine(peer, `event-wait ${event.name} 30`)).toBe('timeout');
    peer.send('exit');
    expect(await peer.closed).toBe(0);
  });

  it('manual-reset Event: one set by the peer releases every waiter (Node and peer) and stays until reset', async () => {
    using event = Event.create(uniqueName(), { manualReset: true });
    const [sleeper, setter] = [start(), start()];
    const nodeWaits = [event.wait({ timeout: 20_000 }), event.wait({ timeout: 20_000 })];
    const peerWait = askLine(sleeper, `event-wait ${event.name} 20000`);
    await sleepers(event.name, EVENT_WAITERS, 3);
    expect(await askLine(setter, `event-set ${event.name}`)).toBe('ok');
    await Promise.all(nodeWaits);
    expect(await peerWait).toBe('ok');
    expect([event.tryWait(), event.tryWait()]).toEqual([true, true]);
    expect(await askLine(sleeper, `event-try ${event.name}`)).toBe('1');
    expect(await askLine(sleeper, `event-wait ${event.name} 20000`)).toBe('ok');
    expect(await askLine(setter, `event-reset ${event.name}`)).toBe('ok');
    expect(event.tryWait()).toBe(false);
    expect(await askLine(sleeper, `event-try ${event.name}`)).toBe('0');
    event.set();
    expect(await askLine(sleeper, `event-try ${event.name}`)).toBe('1');
    for (const peer of [sleeper, setter]) peer.send('exit');
    expect(await Promise.all([sleeper.closed, setter.closed])).toEqual([0, 0]);
  });

  it('Semaphore: permits posted by the peer are taken by Node and back, the maximum holds, sleepers are woken', async () => {
    using semaphore = Semaphore.create(uniqueName(), { maximumCount: 5 });
    const peer = start();
    expect(await askLine(peer, `sem-post ${semaphore.name} 3`)).toBe('before 0');
    expect(semaphore.count).toBe(3);
    expect(await askLine(peer, `sem-post ${semaphore.name} 3`)).toBe('full');
    expect(semaphore.count).toBe(3);
    for (let i = 0; i < 3; i++) await semaphore.wait({ timeout: 0 });
    expect(semaphore.tryWait()).toBe(false);
    // Node waits (its event loop running), the peer posts two: Node takes one, one is left.
    let settled = false;
    const waiting = semaphore.wait({ timeout: 20_000 }).then(() => {
      settled = true;
    });
    expect(await askLine(peer, 'ping')).toBe('pong');
    expect(settled).toBe(false);
    expect(await askLine(peer, `sem-post ${semaphore.name} 2`)).toBe('before 0');
    await waiting;
    expect(semaphore.count).toBe(1);
    expect(semaphore.release(4)).toBe(1);
    for (let i = 0; i < 5; i++) expect(await askLine(peer, `sem-try ${semaphore.name}`)).toBe('1');
    expect(await askLine(peer, `sem-try ${semaphore.name}`)).toBe('0');
    expect(await askLine(peer, `sem-wait ${semaphore.name} 30`)).toBe('timeout');
    // The peer sleeps for a permit; Node's release wakes it.
    const answer = askLine(peer, `sem-wait ${semaphore.name} 20000`);
    await sleepers(semaphore.name, SEMAPHORE_WAITERS, 1);
    expect(semaphore.release()).toBe(0);
    expect(await answer).toBe('ok');
    expect(semaphore.count).toBe(0);
    peer.send('exit');
    expect(await peer.closed).toBe(0);
  });

  it('NamedMutex: excludes both ways, wakes a sleeping locker on unlock, reports a SIGKILLed peer as abandoned', async () => {
    using mutex = NamedMutex.create(uniqueName());
    const peer = start();
    expect(await askLine(peer, `lock ${mutex.name}`)).toBe('locked');
    expect(mutex.tryLock()).toBeNull();
    const pending = mutex.lock({ timeout: 20_000 });
    expect(await askLine(peer, 'ping')).toBe('pong');
    expect(await askLine(peer, `unlock ${mutex.name}`)).toBe('unlocked');
    const guard = await pending;
    expect(guard.abandoned).toBe(false);
    const answer = askLine(peer, `lock ${mutex.name}`);
    // Time for the peer to reach its sleep (either way it must get the lock once Node unlocks).
    await new Promise((resolve) => setTimeout(resolve, 50));
    guard.unlock();
    expect(await answer).toBe('locked');
    expect(mutex.tryLock()).toBeNull();
    await killChild(peer);
    const taken = await mutex.lock({ timeout: 20_000 });
    expect(taken.abandoned).toBe(true);
    taken.unlock();
  });

  it('refuses a region of the wrong kind with EINVAL, and a missing one with ENOENT', async () => {
    using semaphore = Semaphore.create(uniqueName());
    using event = Event.create(uniqueName());
    const peer = start();
    expect(await askLine(peer, `event-set ${semaphore.name}`)).toBe('error 22');
    expect(await askLine(peer, `sem-post ${event.name} 1`)).toBe('error 22');
    expect(await askLine(peer, `lock ${event.name}`)).toBe('error 22');
    expect(await askLine(peer, `event-set ${uniqueName()}`)).toBe('error 2');
    expect(semaphore.count).toBe(0);
    expect(event.tryWait()).toBe(false);
    peer.send('exit');
    expect(await peer.closed).toBe(0);
  });
});
