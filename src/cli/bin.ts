#!/usr/bin/env node
/**
 * The package's `bin`, bundled by scripts/bundle-cli.mjs into dist/bin/rawbright.cjs: a command of
 * {@link BUNDLED_COMMANDS} runs from its own CommonJS bundle (dist/bin/NAME.cjs) with V8's code cache
 * ({@link requireWithCodeCache}); every other command and the help from dist/cli/index.js, with Node's compile
 * cache where it has one (Node 22.1+).
 */
import { fileURLToPath } from 'node:url';
import { BUNDLED_COMMANDS } from './bundles.js';
import { requireWithCodeCache } from './code-cache.js';
import { runningCommand } from './messages.js';

const name = runningCommand();
const bundled = BUNDLED_COMMANDS.find((command) => (command.names as readonly string[]).includes(name ?? ''));
if (bundled === undefined) {
  (process.getBuiltinModule('node:module') as { enableCompileCache?: () => unknown }).enableCompileCache?.();
  // Not a string literal: the bundler leaves it alone, and dist/cli/index.js loads as it always has.
  void import(new URL('./index.js', import.meta.url).href);
} else {
  // Once the command is done and the event loop has nothing left (every write to stdout and stderr made,
  // every worker thread gone), the process ends with process.exit(): the 'exit' handlers run as ever, and
  // Node's teardown of the environment and the V8 heap, which changes nothing outside the process, is
  // skipped (about 3 ms of a 64 KiB run on Node 24, from the run's last write to the process's end). Not
  // when someone else listens for 'beforeExit': they may have more to do.
  process.once('beforeExit', () => {
    if (process.listenerCount('beforeExit') === 0) process.exit();
  });
  requireWithCodeCache(fileURLToPath(new URL(`../bin/${bundled.bundle}.cjs`, import.meta.url)));
}
