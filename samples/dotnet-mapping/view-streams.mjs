#!/usr/bin/env node
// The .NET document's BinaryWriter / BinaryReader example over view streams, in its Node form, on a
// persisted map (shared memory regions are rawbright's SharedMemory, samples/ipc):
//
//   using (MemoryMappedViewStream stream = mmf.CreateViewStream()) { BinaryWriter writer = new BinaryWriter(stream); writer.Write(true); }
//   ...
//   using (MemoryMappedViewStream stream = mmf.CreateViewStream()) { BinaryReader reader = new BinaryReader(stream);
//     Console.WriteLine("Process A says: {0}", reader.ReadBoolean()); ... }
//
// Process A creates the file, registers it as "testmap" and writes `true` at byte 0; it starts B,
// which opens "testmap" by name and writes `false` at byte 1, then C, which writes `true` at byte 2;
// A reads the three booleans back through a read stream.
//
//   node samples/dotnet-mapping/view-streams.mjs
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { MappedFile } from '../../dist/index.js';

/** BinaryWriter.Write(bool) at a byte of the view, through a write stream. */
async function writeBoolean(file, at, value) {
  const window = file.map({ length: 10000 });
  const writer = window.createWriteStream({ offset: at });
  writer.end(Buffer.from([value ? 1 : 0]));
  await finished(writer);
  window.close();
}

const role = process.argv[2];
if (role === 'B' || role === 'C') {
  const file = MappedFile.openExisting('testmap', { access: 'readwrite' });
  await writeBoolean(file, role === 'B' ? 1 : 2, role === 'C');
  file.close();
} else {
  const folder = mkdtempSync(join(tmpdir(), 'rawbright-testmap-'));
  try {
    const path = join(folder, 'testmap.data');
    MappedFile.create(path, { size: 10000 }).close();
    const file = MappedFile.open(path, { access: 'readwrite', name: 'testmap' });
    await writeBoolean(file, 0, true);
    for (const other of ['B', 'C']) {
      const result = spawnSync(process.execPath, [fileURLToPath(import.meta.url), other], {
        stdio: 'inherit',
      });
      if (result.status !== 0) throw new Error(`process ${other} failed`);
    }
    const window = file.map({ length: 10000 });
    const reader = window.createReadStream({ length: 3 });
    const said = [];
    for await (const chunk of reader) for (const byte of chunk) said.push(byte !== 0 ? 'True' : 'False');
    window.close();
    file.close();
    console.log(`Process A says: ${said[0]}`);
    console.log(`Process B says: ${said[1]}`);
    console.log(`Process C says: ${said[2]}`);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
