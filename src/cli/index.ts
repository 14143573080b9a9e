#!/usr/bin/env node
/**
 * The rawbright command line. Each subcommand lives in src/cli/commands/ and registers itself here.
 * Exit codes: 0 success, 1 runtime failure, 2 usage error, 130 interrupted (resumable).
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { errorCode } from '../errors.js';
import { registerBench } from './commands/bench.js';
import { registerBrighten } from './commands/brighten.js';
import { registerCreate } from './commands/create.js';
import { registerEnqueue } from './commands/enqueue.js';
import { registerExport } from './commands/export.js';
import { registerImport } from './commands/import.js';
import { registerInfo } from './commands/info.js';
import { registerPreview } from './commands/preview.js';
import { registerStatus } from './commands/status.js';
import { registerWorker } from './commands/worker.js';

const USAGE_CODES = new Set([
  'ERR_USAGE',
  'ERR_INVALID_ARG_VALUE',
  'ERR_INVALID_ARG_TYPE',
  'ERR_OUT_OF_RANGE',
]);

function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return manifest.version;
}

export function buildProgram(): Command {
  const program = new Command('rawbright')
    .description(
      'Brighten huge raw 16-bit RGBA images in place, window by window, with a WebAssembly SIMD kernel.',
    )
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('--debug', 'print stack traces for errors')
    .configureOutput({
      // One line, in the same form as every other error.
      outputError: (text, write) => write(`rawbright: ${text.replace(/^error: /, '')}`),
    })
    .exitOverride();
  registerBrighten(program);
  registerBench(program);
  registerImport(program);
  registerExport(program);
  registerPreview(program);
  registerCreate(program);
  registerInfo(program);
  registerEnqueue(program);
  registerWorker(program);
  registerStatus(program);
  return program;
}

/** Escapes control characters (a file name with a newline in it), so an error stays one line. */
function oneLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point.
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    return named[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

/** Prints one line for an error and returns the exit code. */
export function reportError(error: unknown, debug: boolean): number {
  if (error instanceof CommanderError) {
    // commander already printed its message (and help, where asked).
    return error.exitCode === 0 ? 0 : 2;
  }
  const message = oneLine(error instanceof Error ? error.message : String(error));
  if (errorCode(error) === 'ERR_ABORTED') {
    process.stderr.write(`rawbright: ${message}\n`);
    return 130;
  }
  process.stderr.write(`rawbright: ${message}\n`);
  if (debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  return USAGE_CODES.has(errorCode(error) ?? '') ? 2 : 1;
}

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    return reportError(error, argv.includes('--debug'));
  }
}

process.exitCode = await main(process.argv);
