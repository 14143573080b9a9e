// A user of a shared memory region for test/torture/shared-memory.ts: `node shm-ledger-child.mjs NAME`.
// It takes the region's mutex over and over and, while holding it, marks the region "inside = my
// pid", spins a little, bumps the counter and clears the mark. The test kills such users with
// SIGKILL at random moments, often while they hold the mutex. Each locker checks what it finds:
//   word 0: inside (pid of the holder in its critical section, 0 outside)
//   word 1: transactions completed
//   word 2: violations: a locker found someone inside although nobody was said to have died
//   word 3: abandonments reported (a holder died holding the mutex)
//   word 4: abandonments reported with nobody inside (the holder died after clearing its mark)
import { SharedMemory } from '../../dist/shm/shared-memory.js';

const region = SharedMemory.open(process.argv[2]);
const words = new Int32Array(region.buffer, 0, 8);
process.stdout.write('ready\n');
for (;;) {
  const guard = await region.mutex.lock({ timeout: 30_000 });
  if (guard.abandoned) {
    Atomics.add(words, 3, 1);
    if (words[0] === 0) Atomics.add(words, 4, 1);
    words[0] = 0;
  } else if (words[0] !== 0) {
    Atomics.add(words, 2, 1);
  }
  words[0] = process.pid;
  const until = performance.now() + Math.random() * 2;
  while (performance.now() < until);
  words[1] += 1;
  words[0] = 0;
  guard.unlock();
  // Let the event loop breathe now and then, so the process stays killable at any point.
  if (Math.random() < 0.2) await new Promise((resolve) => setImmediate(resolve));
}
