#!/usr/bin/env node
// The .NET document's two processes on one image, at the same time, each a brightenFile over its own
// view of the file (offset/length): each run holds an OFD byte-range lock over its bytes and keeps its
// own undo journal (FILE.rawbright-journal.START-END), so the two go on together, and either could be
// killed and finished by `rawbright resume FILE` while the other goes on:
//
//   process one: brightens bytes 256 MiB … 768 MiB by 10 (MyColor.Brighten: int16 channels, alpha too)
//   process two: brightens bytes 4,000,000 … 6,000,000 by 20
//
// Process one starts process two (this script with --two), whose run says "locked" after its first
// window and holds there (a barrier) until process one's own run is going too, so both runs are live at
// the same moment. Process one then shows that process two's range is held and that an overlapping lock
// is refused at once, naming the holder's range. At the end it reads the whole file back and checks
// that it equals both edits applied, and prints so.
//
//   node samples/dotnet-mapping/two-views.mjs [--offset 268435456] [--length 536870912] [--size 1073741824]
//
// The image is a sparse file of zeros (1 GiB by default) in the temporary folder, removed afterwards.
// Brightening writes every byte of both views, so the default run writes 514 MB to disk; a smaller
// --offset/--length/--size (as the test uses) runs the same steps on a smaller file.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { brightenFile, MappedFile } from '../../dist/index.js';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at < 0 ? fallback : Number(args.splice(at, 2)[1]);
};
const TWO = { offset: 4_000_000, length: 2_000_000, by: 20 };
const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * brightenFile over one view of `image`, as MyColor.Brighten does (int16, alpha included); `ready` runs
 * once, after the first window, while the run is live and holds its range.
 */
async function brightenView(image, view, window, ready) {
  let live = false;
  await brightenFile(image, {
    by: view.by,
    offset: view.offset,
    length: view.length,
    type: 'int16',
    channels: 'rgba',
    window,
    workers: 1,
    onProgress: () => {
      if (live) return;
      live = true;
      ready();
    },
  });
}

if (args[0] === '--two') {
  // Process two: brighten; once live, tell process one, and hold until its barrier file appears.
  const [image, barrier] = args.slice(1);
  await brightenView(image, TWO, 1024 * 1024, () => {
    process.stdout.write('locked\n');
    while (!existsSync(barrier)) Atomics.wait(pause, 0, 0, 5);
  });
  process.stdout.write(`Process two brightened ${TWO.length} bytes from byte ${TWO.offset} by ${TWO.by}\n`);
  process.exit(0);
}

const ONE = { offset: option('--offset', 0x10000000), length: option('--length', 0x20000000), by: 10 };
const size = option('--size', Math.max(0x40000000, ONE.offset + ONE.length, TWO.offset + TWO.length));
const made = mkdtempSync(join(tmpdir(), 'rawbright-two-views-'));
const image = join(made, 'ExtremelyLargeImage.data');
try {
  writeFileSync(image, '');
  truncateSync(image, size);
  const barrier = join(made, 'go');
  const two = spawn(process.execPath, [fileURLToPath(import.meta.url), '--two', image, barrier], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const twoLines = createInterface({ input: two.stdout })[Symbol.asyncIterator]();
  const twoDone = new Promise((resolve, reject) => {
    two.on('error', reject);
    two.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`process two exited with ${code}`))));
  });
  const { value } = await twoLines.next();
  if (value !== 'locked') throw new Error(`process two said ${value} instead of locked`);
  await brightenView(image, ONE, 64 * 1024 * 1024, () => {
    // Both runs are live now. Process two's range, as the kernel reports it (pid -1: an OFD lock).
    const probe = MappedFile.open(image, { access: 'readwrite' });
    try {
      const holder = probe.rangeHolder(TWO.offset, TWO.length, 'shared');
      console.log(
        `Process two holds bytes ${holder.start} … ${holder.start + holder.length} (pid ${holder.pid})`,
      );
      probe.lockRange(TWO.offset + TWO.length - 8, 16, 'exclusive');
      throw new Error('an overlapping lock was not refused');
    } catch (error) {
      if (error.code !== 'ERR_RANGE_LOCKED') throw error;
      console.log(`An overlapping lock is refused: ${error.message}`);
    } finally {
      probe.close();
    }
    writeFileSync(barrier, '');
  });
  console.log(`Process one brightened ${ONE.length} bytes from byte ${ONE.offset} by ${ONE.by}`);
  for (;;) {
    const { value, done } = await twoLines.next();
    if (done) break;
    console.log(value);
  }
  await twoDone;

  // Read everything back: each int16 channel is 10 in view one, 20 in view two, 0 elsewhere.
  const file = MappedFile.open(image, { access: 'read' });
  let wrong = 0;
  try {
    const chunk = 16 * 1024 * 1024;
    const channels = new Int16Array(chunk / 2);
    for (let at = 0; at < size; at += chunk) {
      const bytes = Math.min(chunk, size - at);
      file.read(at, channels.subarray(0, bytes / 2));
      for (let i = 0; i < bytes / 2; i++) {
        const byte = at + i * 2;
        let expected = 0;
        if (byte >= ONE.offset && byte < ONE.offset + ONE.length) expected = ONE.by;
        else if (byte >= TWO.offset && byte < TWO.offset + TWO.length) expected = TWO.by;
        if (channels[i] !== expected) wrong++;
      }
    }
  } finally {
    file.close();
  }
  if (wrong > 0) {
    console.error(`${wrong} channels differ from both edits applied`);
    process.exitCode = 1;
  } else {
    console.log(`The file equals both edits applied (${size} bytes checked)`);
  }
} finally {
  rmSync(made, { recursive: true, force: true });
}
