#!/usr/bin/env node
// After tsc: ships the WebAssembly declarations rawbright's types use (src/webassembly.d.ts; @types/node
// lacks them and a consumer need not load the DOM lib) and points every declaration file that
// mentions WebAssembly at them, so a consumer with skipLibCheck: false compiles against dist/.
import { copyFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const DIST = new URL('../dist/', import.meta.url).pathname;
copyFileSync(new URL('../src/webassembly.d.ts', import.meta.url), join(DIST, 'webassembly.d.ts'));

function* declarations(folder) {
  for (const name of readdirSync(folder)) {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) yield* declarations(path);
    else if (name.endsWith('.d.ts') && name !== 'webassembly.d.ts') yield path;
  }
}

for (const path of declarations(DIST)) {
  const text = readFileSync(path, 'utf8');
  if (!text.includes('WebAssembly.') || text.startsWith('/// <reference path=')) continue;
  const target = relative(join(path, '..'), join(DIST, 'webassembly.d.ts'));
  writeFileSync(path, `/// <reference path="${target.startsWith('.') ? target : `./${target}`}" />\n${text}`);
}
