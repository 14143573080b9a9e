// A child process for test/shm/shared-memory.test.ts and test/shm/serialize.test.ts: `node shm-child.mjs <command> <name> [args...]`.
// It reports progress as lines on stdout ("ready", "locked", "done", or a JSON line) so the test can
// wait for each step, and it uses the built library, as a user's process would.
import { readObject, writeObject } from '../../dist/shm/serialize.js';
import { SharedMemory } from '../../dist/shm/shared-memory.js';

const [command, name, ...args] = process.argv.slice(2);

function say(line) {
  process.stdout.write(`${line}\n`);
}

// Keeps the process alive until the test kills it or tells it (on stdin) to close.
function stayAlive(region) {
  const timer = setInterval(() => {}, 1 << 30);
  process.stdin.on('data', () => {
    region?.close();
    clearInterval(timer);
    say('closed');
    process.stdin.destroy();
  });
}

switch (command) {
  case 'create-hold': {
    const region = SharedMemory.create(name, Number(args[0]));
    say('ready');
    stayAlive(region);
    break;
  }
  case 'open-hold': {
    const region = SharedMemory.open(name);
    say('ready');
    stayAlive(region);
    break;
  }
  case 'lock-hold': {
    const region = SharedMemory.open(name);
    await region.mutex.lock();
    say('locked');
    stayAlive(region);
    break;
  }
  case 'write-byte': {
    const region = SharedMemory.open(name);
    const guard = await region.mutex.lock();
    new Uint8Array(region.buffer)[Number(args[0])] = Number(args[1]);
    guard.unlock();
    region.close();
    say('done');
    break;
  }
  case 'read-bytes': {
    const region = SharedMemory.open(name);
    const guard = await region.mutex.lock();
    say(JSON.stringify([...new Uint8Array(region.buffer, 0, Number(args[0]))]));
    guard.unlock();
    region.close();
    break;
  }
  case 'increment': {
    // A deliberately racy read-modify-write: without the mutex, concurrent children lose updates.
    // All children start together (on a line from the test), so their updates really overlap.
    const region = SharedMemory.open(name);
    const counter = new Uint32Array(region.buffer, 0, 1);
    say('ready');
    await new Promise((resolve) => process.stdin.once('data', resolve));
    process.stdin.destroy();
    for (let i = 0; i < Number(args[0]); i++) {
      const guard = await region.mutex.lock({ timeout: 20_000 });
      const value = counter[0];
      await new Promise((resolve) => setImmediate(resolve));
      counter[0] = value + 1;
      guard.unlock();
    }
    region.close();
    say('done');
    break;
  }
  case 'create-or-open': {
    const region = SharedMemory.createOrOpen(name, Number(args[0]));
    say(JSON.stringify({ created: region.created }));
    stayAlive(region);
    break;
  }
  case 'write-object': {
    const region = SharedMemory.open(name);
    const guard = await region.mutex.lock();
    writeObject(region.buffer, {
      id: 42,
      name: 'record',
      when: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)),
      tags: new Set(['a', 'b']),
      scores: new Map([['x', 1.5]]),
      big: 2n ** 70n,
      samples: new Uint16Array([1, 65535]),
      nested: { list: [1, 'two', null, [3]] },
    });
    guard.unlock();
    region.close();
    say('done');
    break;
  }
  case 'read-object': {
    const region = SharedMemory.open(name);
    const guard = await region.mutex.lock();
    const value = readObject(region.buffer);
    guard.unlock();
    region.close();
    say(JSON.stringify(value));
    break;
  }
  case 'exit-without-close': {
    const region = SharedMemory.create(name, 4096);
    new Uint8Array(region.buffer)[0] = 1;
    say('ready');
    process.exit(0);
    break;
  }
  case 'lock-and-close': {
    const region = SharedMemory.open(name);
    await region.mutex.lock();
    region.close();
    say('done');
    break;
  }
  case 'drop-and-collect': {
    // Needs --expose-gc. A region nobody references any more is closed by garbage collection.
    const { existsSync } = await import('node:fs');
    (() => {
      const region = SharedMemory.create(name, 4096);
      new Uint8Array(region.buffer)[0] = 1;
      region.mutex.tryLock();
    })();
    const path = `/dev/shm/rawbright.${name}`;
    say(existsSync(path) ? 'present' : 'missing');
    for (let i = 0; i < 50 && existsSync(path); i++) {
      globalThis.gc();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    say(existsSync(path) ? 'still there' : 'gone');
    setInterval(() => {}, 1 << 30); // stays alive: the name went away without the process ending
    break;
  }
  default:
    process.stderr.write(`unknown command ${command}\n`);
    process.exit(2);
}
