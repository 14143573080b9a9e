// What a second local user does to shared memory, for test/shm/second-user.test.ts and the torture
// suite: `node shm-intruder.mjs <command> [args...]`, run as another uid from a world-readable copy
// (test/helpers/second-user.ts) next to dist/. It reports steps as lines on stdout.
import { closeSync, openSync, truncateSync, writeSync } from 'node:fs';
import { readObject, writeObject } from './dist/shm/serialize.js';
import { SharedMemory } from './dist/shm/shared-memory.js';

const [command, ...args] = process.argv.slice(2);

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

const trust = (value) => (value === undefined || value === '-' ? {} : { trustOwner: Number(value) });

// A tiny deterministic generator, so a torture run can be replayed from its seed.
function random(seed) {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

switch (command) {
  case 'uid':
    say(String(process.getuid()));
    break;
  case 'create-hold': {
    // create-hold NAME SIZE MODE: a region of this user's, pre-created for another user to join.
    const region = SharedMemory.create(args[0], Number(args[1]), { mode: Number(args[2]) });
    writeObject(region.buffer, 'nobody-was-here');
    say('ready');
    stayAlive(region);
    break;
  }
  case 'open-hold': {
    // open-hold NAME TRUST
    const region = SharedMemory.open(args[0], trust(args[1]));
    say(JSON.stringify({ owner: region.owner }));
    stayAlive(region);
    break;
  }
  case 'read-object': {
    // read-object NAME TRUST
    const region = SharedMemory.open(args[0], trust(args[1]));
    const guard = await region.mutex.lock({ timeout: 10_000 });
    const value = readObject(region.buffer);
    guard.unlock();
    region.close();
    say(JSON.stringify(value));
    break;
  }
  case 'lock-hold': {
    // lock-hold NAME TRUST: takes the first mutex the ordinary way and keeps it.
    const region = SharedMemory.open(args[0], trust(args[1]));
    await region.mutex.lock({ timeout: 10_000 });
    say('locked');
    stayAlive(region);
    break;
  }
  case 'read-only': {
    // read-only NAME TRUST: opens with access 'read', reads the object written there, and reports
    // what a write attempt gets (buffer, mutex), one line each.
    const region = SharedMemory.open(args[0], { ...trust(args[1]), access: 'read' });
    say(region.access);
    say(JSON.stringify(readObject(region.read())));
    for (const attempt of [() => region.buffer, () => region.mutex]) {
      try {
        attempt();
        say('allowed');
      } catch (error) {
        say(error.code);
      }
    }
    region.close();
    break;
  }
  case 'try-open': {
    // try-open NAME TRUST: reports the error code of an open, or "opened".
    try {
      SharedMemory.open(args[0], trust(args[1])).close();
      say('opened');
    } catch (error) {
      say(error.code);
    }
    break;
  }
  case 'truncate': {
    // truncate PATH SIZE: what any user allowed to write the file can do, rawbright or not.
    truncateSync(args[0], Number(args[1]));
    say('done');
    break;
  }
  case 'write': {
    // write PATH OFFSET HEX: overwrites bytes of the file.
    const fd = openSync(args[0], 'r+');
    const bytes = Buffer.from(args[2], 'hex');
    writeSync(fd, bytes, 0, bytes.length, Number(args[1]));
    closeSync(fd);
    say('done');
    break;
  }
  case 'scribble': {
    // scribble PATH START END SEED MILLISECONDS: keeps writing random bytes and random 32-bit words
    // (lock-word-like values among them) into [START, END) of the file until the time is up.
    const [path, start, end, seed, ms] = args.map((value, i) => (i === 0 ? value : Number(value)));
    const next = random(seed);
    const fd = openSync(path, 'r+');
    const word = Buffer.alloc(4);
    const until = Date.now() + ms;
    let writes = 0;
    while (Date.now() < until) {
      const offset = start + Math.floor(next() * (end - start - 4));
      const pick = next();
      // Free, "released by close", the waiters bit alone, token-like values, and plain garbage.
      const value =
        pick < 0.15 ? 0 : pick < 0.25 ? 1 : pick < 0.35 ? 0x80000000 : Math.floor(next() * 2 ** 32);
      word.writeUInt32LE(value >>> 0);
      // Mostly the lock words themselves (every 64 bytes from 128), sometimes anywhere.
      const target = next() < 0.7 ? 128 + 64 * Math.floor(next() * 4) : offset;
      writeSync(fd, word, 0, 4, target);
      writes += 1;
      if (writes % 64 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    closeSync(fd);
    say(JSON.stringify({ writes }));
    break;
  }
  default:
    process.stderr.write(`unknown command ${command}\n`);
    process.exit(2);
}
