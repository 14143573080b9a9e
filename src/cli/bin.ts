#!/usr/bin/env node
/**
 * The package's `bin`, bundled by scripts/bundle-cli.mjs into dist/bin/rawbright.cjs: a command of
 * {@link BUNDLED_COMMANDS} runs from its own CommonJS bundle (dist/bin/NAME.cjs), every other command and the
 * help from dist/cli/index.js. Both are compiled with a cache: Node's own (`module.enableCompileCache`, Node
 * 22.1+), else V8's code cache kept by {@link requireWithCodeCache} (Node 20).
 */
import module, { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { BUNDLED_COMMANDS } from './bundles.js';
import { requireWithCodeCache } from './code-cache.js';
import { runningCommand } from './messages.js';

const name = runningCommand();
const bundled = BUNDLED_COMMANDS.find((command) => (command.names as readonly string[]).includes(name ?? ''));
const enableCompileCache = (module as { enableCompileCache?: () => unknown }).enableCompileCache;
if (bundled === undefined) {
  enableCompileCache?.();
  // Not a string literal: the bundler leaves it alone, and dist/cli/index.js loads as it always has.
  void import(new URL('./index.js', import.meta.url).href);
} else {
  const bundle = fileURLToPath(new URL(`../bin/${bundled.bundle}.cjs`, import.meta.url));
  if (enableCompileCache !== undefined) {
    enableCompileCache();
    createRequire(import.meta.url)(bundle);
  } else {
    requireWithCodeCache(bundle);
  }
}
