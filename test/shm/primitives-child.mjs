// A peer for test/shm/primitives.test.ts, run against the built library.
//   event-wait <name> <times>   waits on the event <times> times, printing "got" after each
//   sem-wait <name> <times>     takes <times> permits, printing "took" after each
//   mutex-hold <name>           locks the named mutex, prints "held", then waits to be killed
import { Event } from '../../dist/shm/event.js';
import { NamedMutex } from '../../dist/shm/mutex.js';
import { Semaphore } from '../../dist/shm/semaphore.js';

const [mode, name, times] = process.argv.slice(2);
if (mode === 'event-wait') {
  const event = Event.open(name);
  for (let i = 0; i < Number(times); i++) {
    await event.wait({ timeout: 20_000 });
    process.stdout.write('got\n');
  }
  event.close();
} else if (mode === 'sem-wait') {
  const semaphore = Semaphore.open(name);
  for (let i = 0; i < Number(times); i++) {
    await semaphore.wait({ timeout: 20_000 });
    process.stdout.write('took\n');
  }
  semaphore.close();
} else if (mode === 'mutex-hold') {
  const mutex = NamedMutex.open(name);
  await mutex.lock();
  process.stdout.write('held\n');
  setInterval(() => {}, 1000);
}
