// Measures named maps, capacity growth and view streams: `node samples/dotnet-mapping/measure.mjs`
// (after `npm run build`). Medians of several rounds; streams are compared with Buffer.copy of the
// same bytes in the same process, since a copy is what they cost.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MappedFile } from '../../dist/index.js';

const ROUNDS = 7;
const MiB = 1024 * 1024;
const folder = mkdtempSync(join(tmpdir(), 'rawbright-measure-'));
// A private registry on tmpfs, where the default one (/dev/shm or $XDG_RUNTIME_DIR) is too.
const runtime = mkdtempSync('/dev/shm/rawbright-measure-');
process.env.XDG_RUNTIME_DIR = runtime;

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const micros = (body) => {
  const started = process.hrtime.bigint();
  body();
  return Number(process.hrtime.bigint() - started) / 1000;
};
async function timeAsync(body) {
  const started = process.hrtime.bigint();
  await body();
  return Number(process.hrtime.bigint() - started) / 1e9;
}
const rows = [];

try {
  const image = join(folder, 'image.raw');
  writeFileSync(image, Buffer.alloc(64 * MiB, 1));

  rows.push([
    'open + close, no name',
    `${median(Array.from({ length: ROUNDS * 20 }, () => micros(() => MappedFile.open(image).close()))).toFixed(1)} µs`,
  ]);
  rows.push([
    'open with a name + close',
    `${median(Array.from({ length: ROUNDS * 20 }, (_, i) => micros(() => MappedFile.open(image, { name: `m${i}` }).close()))).toFixed(1)} µs`,
  ]);
  {
    const holder = MappedFile.open(image, { name: 'held' });
    rows.push([
      'openExisting + close',
      `${median(Array.from({ length: ROUNDS * 20 }, () => micros(() => MappedFile.openExisting('held').close()))).toFixed(1)} µs`,
    ]);
    holder.close();
  }

  const grow = [];
  for (let round = 0; round < ROUNDS; round++) {
    const file = join(folder, `grow-${round}.raw`);
    writeFileSync(file, '');
    grow.push(
      micros(() => MappedFile.open(file, { access: 'readwrite', capacity: 1024 * MiB }).close()) / 1000,
    );
    rmSync(file);
  }
  rows.push(['open with capacity 1 GiB (empty file, preallocated)', `${median(grow).toFixed(1)} ms`]);

  const file = MappedFile.open(image, { access: 'readwrite' });
  const window = file.map();
  window.populate();
  const target = Buffer.alloc(64 * MiB);
  // One round after another (timed in µs, reported in seconds).
  const copy =
    median(Array.from({ length: ROUNDS }, () => micros(() => Buffer.from(window.buffer).copy(target)))) / 1e6;
  rows.push(['Buffer.copy out of the 64 MiB window (reference)', `${(64 / 1024 / copy).toFixed(2)} GiB/s`]);
  const copyIn =
    median(Array.from({ length: ROUNDS }, () => micros(() => target.copy(Buffer.from(window.buffer))))) / 1e6;
  rows.push(['Buffer.copy into the 64 MiB window (reference)', `${(64 / 1024 / copyIn).toFixed(2)} GiB/s`]);
  for (const highWaterMark of [64 * 1024, MiB]) {
    const read = [];
    const write = [];
    for (let round = 0; round < ROUNDS; round++) {
      read.push(
        await timeAsync(() =>
          pipeline(window.createReadStream({ highWaterMark }), new Writable({ write: (_c, _e, cb) => cb() })),
        ),
      );
      const chunks = Array.from({ length: (64 * MiB) / highWaterMark }, () =>
        target.subarray(0, highWaterMark),
      );
      write.push(
        await timeAsync(() => pipeline(Readable.from(chunks), window.createWriteStream({ highWaterMark }))),
      );
    }
    const kib = highWaterMark / 1024;
    rows.push([
      `read stream, ${kib} KiB chunks, into a null sink`,
      `${(64 / 1024 / median(read)).toFixed(2)} GiB/s (${(copy / median(read)).toFixed(2)}× Buffer.copy)`,
    ]);
    rows.push([
      `write stream, ${kib} KiB chunks, from Readable.from`,
      `${(64 / 1024 / median(write)).toFixed(2)} GiB/s (${(copyIn / median(write)).toFixed(2)}× Buffer.copy)`,
    ]);
  }
  window.close();
  file.close();
} finally {
  rmSync(folder, { recursive: true, force: true });
  rmSync(runtime, { recursive: true, force: true });
}

const width = Math.max(...rows.map(([name]) => name.length));
for (const [name, value] of rows) console.log(`${name.padEnd(width)}  ${value}`);
