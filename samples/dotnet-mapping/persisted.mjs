#!/usr/bin/env node
// Process one of the .NET document's persisted memory-mapped file example, in its Node form:
//
//   using (var mmf = MemoryMappedFile.CreateFromFile(@"c:\ExtremelyLargeImage.data", FileMode.Open, "ImgA"))
//   using (var accessor = mmf.CreateViewAccessor(offset, length))   // 256 MiB, 512 MiB
//     for (long i = 0; i < length; i += colorSize) { accessor.Read(i, out color); color.Brighten(10); accessor.Write(i, ref color); }
//
// It opens the image under the name "ImgA", starts process two (open-existing.mjs), which opens the
// same file by that name alone and brightens bytes 4,000,000 … 6,000,000 by 20, while this process
// brightens its own view by 10. At the end it checks that the file holds both edits.
//
//   node samples/dotnet-mapping/persisted.mjs [IMAGE] [--offset 268435456] [--length 536870912]
//
// Without IMAGE it makes a sparse image of offset + length bytes (768 MiB by default) in the
// temporary folder, filled with a pattern where it is checked, and removes it afterwards.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MappedFile } from '../../dist/index.js';
import { brightenColors, COLOR_SIZE } from './color.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at < 0 ? fallback : Number(args.splice(at, 2)[1]);
};
const offset = option('--offset', 0x10000000); // 256 megabytes
const length = option('--length', 0x20000000); // 512 megabytes
const TWO = { offset: 4_000_000, length: 2_000_000, by: 20 };
let [image] = args;
const made = image === undefined ? mkdtempSync(join(tmpdir(), 'rawbright-imga-')) : undefined;
if (made) {
  image = join(made, 'ExtremelyLargeImage.data');
  writeFileSync(image, '');
  truncateSync(image, Math.max(offset + length, TWO.offset + TWO.length));
}

try {
  const file = MappedFile.open(image, { access: 'readwrite', name: 'ImgA' });
  // Spot checks: a few colors inside each view and just outside them, before either process starts.
  const probes = [
    0,
    offset - 8,
    offset,
    offset + length - 8,
    offset + length,
    TWO.offset - 8,
    TWO.offset,
    TWO.offset + TWO.length - 8,
    TWO.offset + TWO.length,
  ].filter((at) => at >= 0 && at + 8 <= file.size);
  const read = (at) => {
    const color = new Int16Array(4);
    file.read(at, color);
    return color;
  };
  if (made) for (const [i, at] of probes.entries()) file.write(at, new Int16Array([i, 32760, -5, 100 * i]));
  const before = probes.map(read);

  const two = spawn(process.execPath, [fileURLToPath(new URL('open-existing.mjs', import.meta.url))], {
    stdio: 'inherit',
  });
  const twoDone = new Promise((resolve, reject) => {
    two.on('error', reject);
    two.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`process two exited with ${code}`))));
  });

  // Window by window (a window is at most 4 GiB), here one window for the whole view.
  const window = file.map({ offset, length });
  brightenColors(window.buffer, 10);
  window.flush();
  window.close();
  console.log(`Process one brightened ${length} bytes from byte ${offset} by 10`);
  await twoDone;

  const inside = (at, view) => at >= view.offset && at + COLOR_SIZE <= view.offset + view.length;
  let wrong = 0;
  for (const [i, at] of probes.entries()) {
    const by = (inside(at, { offset, length }) ? 10 : 0) + (inside(at, TWO) ? TWO.by : 0);
    const expected = before[i].map((channel) => Math.min(32767, channel + by));
    if (read(at).join() !== expected.join()) wrong++;
  }
  file.close();
  console.log(wrong === 0 ? 'Both edits are in the file' : `${wrong} probes are wrong`);
  process.exitCode = wrong === 0 ? 0 : 1;
} finally {
  if (made) rmSync(made, { recursive: true, force: true });
}
