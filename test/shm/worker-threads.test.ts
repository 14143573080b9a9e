// Event, Semaphore, NamedMutex and Channel from worker_threads: a worker (test/shm/worker-peer.mjs)
// opens them by name; a wait in the worker is woken by the main thread and the other way round. While
// one side waits, its event loop is shown running: the main thread exchanges a ping with the worker
// during its own wait, and the worker answers a ping during its.
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { Channel } from '../../dist/shm/channel.js';
import { Event } from '../../dist/shm/event.js';
import { NamedMutex } from '../../dist/shm/mutex.js';
import { Semaphore } from '../../dist/shm/semaphore.js';

const PEER = fileURLToPath(new URL('./worker-peer.mjs', import.meta.url));
let counter = 0;
const uniqueName = () => `rbwork-${process.pid}-${++counter}`;

interface Peer {
  call(op: string, name?: string, arg?: unknown): Promise<unknown>;
  worker: Worker;
}

const workers: Worker[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.terminate()));
});

function startPeer(): Peer {
  const worker = new Worker(PEER);
  workers.push(worker);
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let next = 0;
  worker.on('message', ({ id, result, error }) => {
    const call = pending.get(id);
    pending.delete(id);
    if (error !== undefined) call?.reject(Object.assign(new Error(`worker: ${error}`), { code: error }));
    else call?.resolve(result);
  });
  worker.on('error', (error) => {
    for (const call of pending.values()) call.reject(error);
  });
  return {
    worker,
    call(op, name, arg) {
      const id = ++next;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, op, name, arg });
      });
    },
  };
}

/** A promise with a flag telling whether it has settled. */
function tracked<T>(promise: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let settled = false;
  const wrapped = promise.finally(() => {
    settled = true;
  });
  return { promise: wrapped, settled: () => settled };
}

describe('from worker threads', () => {
  it('Event: the main thread wakes a wait in the worker and the worker one in the main thread; auto and manual reset', async () => {
    using auto = Event.create(uniqueName());
    const peer = startPeer();
    const inWorker = tracked(peer.call('event-wait', auto.name, 20_000));
    expect(await peer.call('ping')).toBe('pong'); // the worker's loop is free while it waits
    expect(inWorker.settled()).toBe(false);
    auto.set();
    await inWorker.promise;
    expect(auto.tryWait()).toBe(false); // the worker took the set
    const inMain = tracked(auto.wait({ timeout: 20_000 }));
    expect(await peer.call('ping')).toBe('pong'); // the main loop is free while it waits
    expect(inMain.settled()).toBe(false);
    await peer.call('event-set', auto.name);
    await inMain.promise;
    expect(await peer.call('event-try', auto.name)).toBe(false);
    using manual = Event.create(uniqueName(), { manualReset: true });
    const both = [peer.call('event-wait', manual.name, 20_000), manual.wait({ timeout: 20_000 })];
    expect(await peer.call('ping')).toBe('pong');
    manual.set();
    await Promise.all(both);
    expect(await peer.call('event-try', manual.name)).toBe(true);
    expect(manual.tryWait()).toBe(true);
    await peer.call('close');
  });

  it('Semaphore: permits released in one thread wake a wait in the other, counted once', async () => {
    using semaphore = Semaphore.create(uniqueName());
    const peer = startPeer();
    const inWorker = tracked(peer.call('sem-wait', semaphore.name, 20_000));
    expect(await peer.call('ping')).toBe('pong');
    expect(inWorker.settled()).toBe(false);
    expect(semaphore.release(2)).toBe(0);
    await inWorker.promise;
    expect(semaphore.count).toBe(1);
    await semaphore.wait({ timeout: 0 });
    const inMain = tracked(semaphore.wait({ timeout: 20_000 }));
    expect(await peer.call('ping')).toBe('pong');
    expect(inMain.settled()).toBe(false);
    expect(await peer.call('sem-release', semaphore.name, 3)).toBe(0);
    await inMain.promise;
    expect(semaphore.count).toBe(2);
    await peer.call('close');
  });

  it('NamedMutex: excludes between threads, hands over on unlock both ways', async () => {
    using mutex = NamedMutex.create(uniqueName());
    const peer = startPeer();
    expect(await peer.call('lock', mutex.name)).toBe('locked');
    expect(mutex.tryLock()).toBeNull();
    const inMain = tracked(mutex.lock({ timeout: 20_000 }));
    expect(await peer.call('ping')).toBe('pong');
    expect(inMain.settled()).toBe(false);
    await peer.call('unlock', mutex.name);
    const guard = await inMain.promise;
    expect(guard.abandoned).toBe(false);
    const inWorker = tracked(peer.call('lock', mutex.name));
    expect(await peer.call('ping')).toBe('pong');
    expect(inWorker.settled()).toBe(false);
    guard.unlock();
    expect(await inWorker.promise).toBe('locked');
    expect(mutex.tryLock()).toBeNull();
    await peer.call('unlock', mutex.name);
    mutex.tryLock()?.unlock();
    await peer.call('close');
  });

  it('Channel: a receive in the worker woken by a send from the main thread, and the other way round', async () => {
    using requests = Channel.create<unknown>(uniqueName(), { capacity: 4096 });
    using replies = Channel.create<unknown>(uniqueName(), { capacity: 4096 });
    const peer = startPeer();
    const inWorker = tracked(peer.call('receive', requests.name));
    expect(await peer.call('ping')).toBe('pong');
    expect(inWorker.settled()).toBe(false);
    await requests.send({ n: 1, bytes: Uint8Array.of(1, 2, 3) });
    expect(await inWorker.promise).toEqual({ n: 1, bytes: Uint8Array.of(1, 2, 3) });
    const inMain = tracked(replies.receive({ timeout: 20_000 }));
    expect(await peer.call('ping')).toBe('pong');
    expect(inMain.settled()).toBe(false);
    await peer.call('send', replies.name, 'from the worker');
    expect(await inMain.promise).toBe('from the worker');
    // With spin in the worker: the same, the spin expiring into the kernel sleep.
    const spinning = peer.call('receive', requests.name, { spin: 100 });
    await requests.send(Uint8Array.of(9));
    expect(await spinning).toEqual(Uint8Array.of(9));
    await peer.call('close');
  });

  // Two waits in flight (two waiter threads) at terminate() aborted the process before the waiter
  // stopped its thread in the finalizer of its thread-safe function (native/ipc.cc).
  it('a worker terminated while it waits (and holds a mutex) leaves the main thread working, the mutex abandoned', async () => {
    using event = Event.create(uniqueName());
    using requests = Channel.create<unknown>(uniqueName(), { capacity: 4096 });
    using mutex = NamedMutex.create(uniqueName());
    const peer = startPeer();
    void peer.call('event-wait', event.name, 20_000).catch(() => {});
    void peer.call('receive', requests.name).catch(() => {});
    expect(await peer.call('lock', mutex.name)).toBe('locked');
    expect(await peer.call('ping')).toBe('pong');
    await peer.worker.terminate();
    const guard = await mutex.lock({ timeout: 20_000 });
    expect(guard.abandoned).toBe(true);
    guard.unlock();
    event.set();
    expect(event.tryWait()).toBe(true);
    await requests.send('still here');
    expect(await requests.receive({ timeout: 1000 })).toBe('still here');
  });
});
