// Process A of the classic three-process shared memory demonstration (after .NET's
// MemoryMappedFile.CreateNew / OpenExisting sample): A creates the region "testmap" and writes
// `true` at byte 0; B opens it by name and writes `false` at byte 1; C opens it and writes `true`
// at byte 2; A reads all three back. B and C are real, separate processes that A starts (in .NET
// you start them by hand); they take turns through a standalone named mutex, "testmapmutex", that
// lives apart from the map, as in .NET (`new Mutex(true, "testmapmutex")`, `Mutex.OpenExisting`).
//
// Run: npm run sample:ipc   (after npm run build)
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NamedMutex, SharedMemory } from '../../dist/index.js';

function run(script) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(new URL(script, import.meta.url))], {
      stdio: 'inherit',
    });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${script} failed (${signal ?? `exit code ${code}`})`)),
    );
  });
}

const region = SharedMemory.create('testmap', 10000);
const mutex = NamedMutex.create('testmapmutex');
try {
  // Like `new Mutex(true, "testmapmutex")`: A holds the mutex while it writes its own answer.
  const guard = await mutex.lock();
  new Uint8Array(region.buffer)[0] = 1; // BinaryWriter.Write(true)
  guard.unlock();

  await Promise.all([run('process-b.mjs'), run('process-c.mjs')]);

  const readGuard = await mutex.lock();
  const bytes = new Uint8Array(region.buffer);
  const said = (byte) => (byte !== 0 ? 'True' : 'False');
  console.log(`Process A says: ${said(bytes[0])}`);
  console.log(`Process B says: ${said(bytes[1])}`);
  console.log(`Process C says: ${said(bytes[2])}`);
  readGuard.unlock();
} finally {
  mutex.close();
  region.close();
}

// A was the last user, so closing removed the region and the mutex from /dev/shm.
for (const path of [region.path, mutex.path]) {
  if (existsSync(path)) {
    process.stderr.write(`${path} was left behind\n`);
    process.exitCode = 1;
  }
}
