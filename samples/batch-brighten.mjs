#!/usr/bin/env node
// Brightens every .raw file in a folder through the rawbright library API.
//
//   node samples/batch-brighten.mjs FOLDER DELTA [--out OUTFOLDER]
//
// In place by default (journaled: a killed batch is finished with `rawbright resume FILE`);
// with --out, each result goes to OUTFOLDER/<name>.raw and the inputs are left untouched.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { brightenFile } from 'rawbright';

// Plain argv parsing: a negative DELTA such as -500 must not be taken for an option.
const args = process.argv.slice(2);
const outAt = args.indexOf('--out');
const outFolder = outAt >= 0 ? args.splice(outAt, 2)[1] : undefined;
const [folder, deltaText] = args;
const by = Number(deltaText);
if (!folder || !/^[+-]?\d+$/.test(deltaText ?? '') || (outAt >= 0 && !outFolder)) {
  console.error('usage: node samples/batch-brighten.mjs FOLDER DELTA [--out OUTFOLDER]');
  process.exit(2);
}

const files = readdirSync(folder)
  .filter((name) => name.endsWith('.raw'))
  .sort();
let failed = 0;
for (const name of files) {
  const path = join(folder, name);
  try {
    const report = await brightenFile(path, { by, ...(outFolder && { out: join(outFolder, name) }) });
    console.log(`${name}: ${(report.bytes / 2 ** 20).toFixed(1)} MiB at ${report.gbps.toFixed(2)} GB/s`);
  } catch (error) {
    failed++;
    console.error(`${name}: ${error.message} (${error.code})`);
  }
}
console.log(`${files.length - failed} of ${files.length} files brightened`);
process.exitCode = failed === 0 ? 0 : 1;
