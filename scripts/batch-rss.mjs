#!/usr/bin/env node
// RSS over a batch: N files of 64 KiB brightened one brightenFiles call at a time in chunks of 500,
// RSS, heap, external memory, open fds and /proc/self/maps entries printed after each chunk. Usage: node scripts/batch-rss.mjs [files=4000] [inThread|worker]
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brightenFiles } from '../dist/brighten/pipeline.js';

const count = Number(process.argv[2] ?? 4000);
const inThread = (process.argv[3] ?? 'inThread') === 'inThread';
const dir = mkdtempSync(join(tmpdir(), 'rawbright-rss-'));
const data = Buffer.alloc(64 * 1024, 0x11);
const paths = [];
for (let i = 0; i < count; i++) {
  const p = join(dir, `f${i}.raw`);
  writeFileSync(p, data);
  paths.push(p);
}
const mib = (n) => (n / 1048576).toFixed(1);
const fds = () => readdirSync('/proc/self/fd').length;
const maps = () => readFileSync('/proc/self/maps', 'utf8').trim().split('\n').length;
const start = process.memoryUsage();
console.log(`mode ${inThread ? 'inThread' : 'worker'}; start rss ${mib(start.rss)} MiB`);
for (let i = 0; i < count; i += 500) {
  await brightenFiles(paths.slice(i, i + 500), { by: 1, inThread, workers: 1 });
  const m = process.memoryUsage();
  console.log(`${i + 500} files: rss ${mib(m.rss)} MiB (+${((m.rss - start.rss) / 1024 / (i + 500)).toFixed(1)} KiB/file), heap ${mib(m.heapUsed)} MiB, external ${mib(m.external)} MiB, fds ${fds()}, maps ${maps()}`);
}
rmSync(dir, { recursive: true, force: true });
