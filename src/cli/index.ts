#!/usr/bin/env node
/**
 * The rawbright command line. Each subcommand lives in src/cli/commands/ and registers itself here.
 * Exit codes: 0 success, 1 runtime failure, 2 usage error, 130 interrupted (resumable).
 */
import { readFileSync } from 'node:fs';
import module from 'node:module';
import { Command, CommanderError } from 'commander';
import { errorCode } from '../errors.js';
import { cliMessage, runningCommand } from './messages.js';

// Node 22.1+ keeps compiled code between runs; the subcommands load after this line, so they use it.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();

type Register = (program: Command) => void;

/**
 * Every subcommand, by the names it registers, with the module that defines it. Only the module of the
 * subcommand being run is loaded: `brighten` never pays for sharp or the benchmark (start-up is most of
 * the time of a small file). The order is the order of the help text.
 */
const SUBCOMMANDS: readonly { names: readonly string[]; load: () => Promise<Register> }[] = [
  {
    names: ['brighten', 'resume'],
    load: async () => (await import('./commands/brighten.js')).registerBrighten,
  },
  { names: ['adjust'], load: async () => (await import('./commands/adjust.js')).registerAdjust },
  { names: ['bench'], load: async () => (await import('./commands/bench.js')).registerBench },
  { names: ['import'], load: async () => (await import('./commands/import.js')).registerImport },
  { names: ['export'], load: async () => (await import('./commands/export.js')).registerExport },
  { names: ['preview'], load: async () => (await import('./commands/preview.js')).registerPreview },
  { names: ['create'], load: async () => (await import('./commands/create.js')).registerCreate },
  { names: ['info'], load: async () => (await import('./commands/info.js')).registerInfo },
  { names: ['enqueue'], load: async () => (await import('./commands/enqueue.js')).registerEnqueue },
  { names: ['worker'], load: async () => (await import('./commands/worker.js')).registerWorker },
  { names: ['status'], load: async () => (await import('./commands/status.js')).registerStatus },
];

/** The subcommand named on the command line: the first word that is not an option. */
function subcommandOf(argv: readonly string[]): string | undefined {
  return argv.slice(2).find((word) => !word.startsWith('-'));
}

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

/**
 * The program with the subcommand `argv` names registered, or every subcommand when it names none
 * (the overview help) or one that does not exist (so commander can say so and suggest another).
 */
export async function buildProgram(argv: readonly string[] = []): Promise<Command> {
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
  const name = subcommandOf(argv);
  const named = SUBCOMMANDS.filter((entry) => name !== undefined && entry.names.includes(name));
  for (const entry of named.length > 0 ? named : SUBCOMMANDS) (await entry.load())(program);
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
  if (errorCode(error) === 'ERR_BATCH_FAILED') {
    // runBatch printed each failure as it happened.
    const codes = (error as { failedCodes?: string[] }).failedCodes ?? [];
    return codes.length > 0 && codes.every((code) => USAGE_CODES.has(code)) ? 2 : 1;
  }
  const message = oneLine(
    cliMessage(error instanceof Error ? error.message : String(error), runningCommand()),
  );
  if (errorCode(error) === 'ERR_ABORTED') {
    process.stderr.write(`rawbright: ${message}\n`);
    return 130;
  }
  process.stderr.write(`rawbright: ${message}\n`);
  if (debug && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  return USAGE_CODES.has(errorCode(error) ?? '') ? 2 : 1;
}

async function main(argv: string[]): Promise<number> {
  try {
    const program = await buildProgram(argv);
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    return reportError(error, argv.includes('--debug'));
  }
}

process.exitCode = await main(process.argv);
