// A user of a region that a second local user attacks, for test/torture/shared-memory-hostile.ts:
// `node shm-hostile-user.mjs NAME MUTEXES MILLISECONDS SEED`. Until the time is up it takes one of
// the region's mutexes (timeout 1 s), writes and checks a few data bytes, and unlocks. Every error it
// meets must carry one of the codes an attack can cause; anything else is a failure (exit 1). A
// truncation ends the run (the region is gone). It prints one JSON line of counts and exits 0.
import { SharedMemory } from '../../dist/shm/shared-memory.js';

const [name, mutexCount, ms, seed] = process.argv.slice(2);
const EXPECTED = new Set(['ETIMEDOUT', 'ERR_SHM_LOCK_BROKEN', 'ERR_SHM_TRUNCATED']);
let state = Number(seed) >>> 0 || 1;
const next = () => {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 2 ** 32;
};

const region = SharedMemory.open(name);
const data = new Uint8Array(region.buffer);
const counts = { locks: 0, abandoned: 0, codes: {}, truncated: false };
const until = Date.now() + Number(ms);
process.stdout.write('ready\n');
while (Date.now() < until && !counts.truncated) {
  const mutex = region.mutexAt(Math.floor(next() * Number(mutexCount)));
  try {
    const guard = next() < 0.3 ? mutex.tryLock() : await mutex.lock({ timeout: 1000 });
    if (guard !== null) {
      counts.locks += 1;
      if (guard.abandoned) counts.abandoned += 1;
      const at = Math.floor(next() * data.length);
      data[at] = (data[at] + 1) & 0xff;
      guard.unlock();
    }
  } catch (error) {
    const code = error?.code;
    if (!EXPECTED.has(code)) {
      process.stdout.write(`${JSON.stringify({ problem: String(error?.stack ?? error) })}\n`);
      process.exit(1);
    }
    counts.codes[code] = (counts.codes[code] ?? 0) + 1;
    if (code === 'ERR_SHM_TRUNCATED') counts.truncated = true;
  }
  if (next() < 0.1) await new Promise((resolve) => setImmediate(resolve));
}
region.close();
process.stdout.write(`${JSON.stringify(counts)}\n`);
