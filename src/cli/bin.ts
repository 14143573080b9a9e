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
  requireWithCodeCache(fileURLToPath(new URL(`../bin/${bundled.bundle}.cjs`, import.meta.url)));
}
