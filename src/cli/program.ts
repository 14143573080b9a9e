/**
 * The rawbright program: the root command, error reporting and exit codes, for any set of subcommands. The
 * command line (index.ts) runs it with every subcommand, each loaded only when named; the bundles of
 * scripts/bundle-cli.mjs run it with one subcommand's module built in.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { errorCode } from '../errors.js';
import { cliMessage, runningCommand } from './messages.js';

type Register = (program: Command) => void;

/** A subcommand: the names it registers, and how to get its register function (a module loaded on demand). */
export interface Subcommand {
  names: readonly string[];
  load: () => Promise<Register>;
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
async function buildProgram(subcommands: readonly Subcommand[], argv: readonly string[]): Promise<Command> {
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
  const name = runningCommand(argv);
  const named = subcommands.filter((entry) => name !== undefined && entry.names.includes(name));
  for (const entry of named.length > 0 ? named : subcommands) (await entry.load())(program);
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
function reportError(error: unknown, debug: boolean): number {
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

/**
 * A reader that goes away (`rawbright brighten *.raw | head -1`) makes the next write to stdout or stderr
 * fail with EPIPE, which Node raises as an unhandled 'error' event: the process would die in the middle of a
 * file. Instead, what is printed from then on goes nowhere and the command finishes what it was asked to
 * change (its exit code still says how that went).
 */
function ignoreClosedOutput(): void {
  const ignoreEpipe = (stream: NodeJS.WriteStream) =>
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') return;
      throw error;
    });
  for (const name of ['stdout', 'stderr'] as const) {
    // Node makes each stream on its first use (2-3 ms of a quiet run's start-up on Node 24): the handler is
    // added then, through the stream's own getter, rather than by making the stream now.
    const descriptor = Object.getOwnPropertyDescriptor(process, name);
    const make = descriptor?.get;
    if (make === undefined || descriptor?.configurable !== true) {
      ignoreEpipe(process[name]);
      continue;
    }
    let stream: NodeJS.WriteStream | undefined;
    Object.defineProperty(process, name, {
      ...descriptor,
      get() {
        if (stream === undefined) stream = ignoreEpipe(make.call(process) as NodeJS.WriteStream);
        return stream;
      },
    });
  }
}

/**
 * Runs the command line `argv` with `subcommands`; resolves with the exit code (0 success, 1 runtime failure,
 * 2 usage error, 130 interrupted).
 */
export async function runCli(subcommands: readonly Subcommand[], argv: string[]): Promise<number> {
  ignoreClosedOutput();
  try {
    const program = await buildProgram(subcommands, argv);
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    return reportError(error, argv.includes('--debug'));
  }
}
