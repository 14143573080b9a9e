// A worker thread for test/shm/worker-threads.test.ts: opens Events, Semaphores, NamedMutexes and
// Channels by name (from the built library) and runs the operations the main thread posts,
// { id, op, name, arg }, answering { id, result } or { id, error: code } when each one ends. Several
// operations may be in flight at once: a pending wait leaves the worker's event loop free.
import { parentPort } from 'node:worker_threads';
import { Channel } from '../../dist/shm/channel.js';
import { Event } from '../../dist/shm/event.js';
import { NamedMutex } from '../../dist/shm/mutex.js';
import { Semaphore } from '../../dist/shm/semaphore.js';

const opened = new Map();
const guards = new Map();
function get(kind, name) {
  const key = `${kind}:${name}`;
  if (!opened.has(key)) {
    const open = { event: Event, semaphore: Semaphore, mutex: NamedMutex, channel: Channel }[kind];
    opened.set(key, open.open(name));
  }
  return opened.get(key);
}

const ops = {
  ping: async () => 'pong',
  'event-wait': async (name, timeout) => get('event', name).wait({ timeout }),
  'event-set': async (name) => get('event', name).set(),
  'event-try': async (name) => get('event', name).tryWait(),
  'sem-wait': async (name, timeout) => get('semaphore', name).wait({ timeout }),
  'sem-release': async (name, count) => get('semaphore', name).release(count),
  lock: async (name) => {
    const guard = await get('mutex', name).lock({ timeout: 20_000 });
    guards.set(name, guard);
    return guard.abandoned ? 'abandoned' : 'locked';
  },
  unlock: async (name) => guards.get(name).unlock(),
  receive: async (name, options) => get('channel', name).receive({ timeout: 20_000, ...options }),
  send: async (name, value) => get('channel', name).send(value, { timeout: 20_000 }),
  close: async () => {
    for (const handle of opened.values()) handle.close();
    opened.clear();
  },
};

parentPort.on('message', async ({ id, op, name, arg }) => {
  try {
    parentPort.postMessage({ id, result: await ops[op](name, arg) });
  } catch (error) {
    parentPort.postMessage({ id, error: error.code ?? error.name });
  }
});
