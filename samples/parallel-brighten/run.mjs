// N processes brighten one raw file together. Their work queue is a Channel (one message per window,
// then one "stop" per process); they report each finished window on a second Channel, the progress
// feed, which this process reads as it comes (no polling). The result is checked against a
// single-process run of the library's brightenFile on a copy of the same input.
//
//   node samples/parallel-brighten/run.mjs [--processes 3] [--size-mib 96] [--window-mib 4] [--by 1000]
//
// (after npm run build). The input is a generated 16-bit RGBA image in a temporary directory,
// removed at the end.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { brightenFile, Channel, MappedFile } from '../../dist/index.js';

const { values } = parseArgs({
  options: {
    processes: { type: 'string', default: '3' },
    'size-mib': { type: 'string', default: '96' },
    'window-mib': { type: 'string', default: '4' },
    by: { type: 'string', default: '1000' },
  },
});
const processes = Number(values.processes);
const size = Number(values['size-mib']) * 1024 * 1024;
const window = Number(values['window-mib']) * 1024 * 1024;
const by = Number(values.by);
if (!(processes >= 1 && processes <= 64) || !(size > 0) || !(window > 0) || !Number.isInteger(by)) {
  process.stderr.write('usage: run.mjs [--processes 1-64] [--size-mib N] [--window-mib N] [--by DELTA]\n');
  process.exit(2);
}

function sha256(path) {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

// A deterministic test image: xorshift noise, so every sample value and saturation case shows up.
function makeImage(path) {
  const file = MappedFile.create(path, { size });
  file.close();
  const writable = MappedFile.open(path, { access: 'readwrite' });
  let state = 0x9e3779b9;
  for (let offset = 0; offset < size; offset += window) {
    const view = writable.map({ offset, length: Math.min(window, size - offset) });
    const words = new Uint32Array(view.buffer);
    for (let i = 0; i < words.length; i++) {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      words[i] = state >>> 0;
    }
    view.close();
  }
  writable.close();
}

function startWorker(name, number) {
  const script = fileURLToPath(new URL('./worker.mjs', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, name, String(number)], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0
        ? resolve()
        : reject(new Error(`worker ${number} failed (${signal ?? `exit code ${code}`})`)),
    );
  });
}

const dir = mkdtempSync(join(tmpdir(), 'rawbright-parallel-'));
const name = `parallel-brighten-${process.pid}`;
const work = Channel.create(`${name}.work`, { capacity: 64 * 1024 });
const progress = Channel.create(`${name}.progress`, { capacity: 64 * 1024 });
try {
  const input = join(dir, 'image.raw');
  const reference = join(dir, 'reference.raw');
  makeImage(input);
  copyFileSync(input, reference);
  const before = sha256(input);

  const windows = Math.ceil(size / window);
  console.log(
    `${processes} processes brighten ${size / 1024 / 1024} MiB in ${windows} windows of ${window / 1024 / 1024} MiB by ${by}`,
  );

  const started = performance.now();
  const workers = Promise.all(Array.from({ length: processes }, (_, number) => startWorker(name, number)));
  // The queue: a send waits (sleeping) while the queue is full, so any number of windows fits.
  const queued = (async () => {
    for (let index = 0; index < windows; index++) {
      const offset = index * window;
      await work.send({
        path: input,
        by,
        type: 'uint16',
        channels: 'rgb',
        offset,
        length: Math.min(window, size - offset),
        window,
      });
    }
    for (let i = 0; i < processes; i++) await work.send('stop');
  })();
  const perWorker = new Array(processes).fill(0);
  let done = 0;
  let finished = 0;
  const failed = workers.then(
    () => new Promise(() => {}),
    (error) => Promise.reject(error),
  );
  while (finished < processes) {
    const message = await Promise.race([progress.receive(), failed]);
    if (message.finished) {
      finished++;
      continue;
    }
    done++;
    perWorker[message.worker]++;
    console.log(`  progress: ${done}/${windows} windows (${Math.round((100 * done) / windows)}%)`);
  }
  await Promise.all([queued, workers]);
  const seconds = (performance.now() - started) / 1000;
  console.log(`  windows per process: ${perWorker.join(', ')} (${seconds.toFixed(2)} s)`);

  await brightenFile(reference, { by, type: 'uint16', channels: 'rgb' });
  const after = sha256(input);
  const same = after === sha256(reference);
  console.log(`identical to a single-process brightenFile run: ${same ? 'yes' : 'NO'}`);
  if (!same || after === before) process.exitCode = 1;
  if (after === before) console.log('but the file did not change');
} finally {
  work.close();
  progress.close();
  rmSync(dir, { recursive: true, force: true });
}
