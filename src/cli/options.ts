/** Parsers for command-line option values, shared by the subcommands. */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { STRATEGIES } from '../brighten/options.js';
import { RawbrightError } from '../errors.js';
import { KERNEL_NAMES, SAMPLE_TYPES } from '../kernels/types.js';
import { parseSize } from './size.js';

/** An integer option such as `--by -500`; rejects fractions, blanks, `-0`, and values past 2^53. */
export function parseInteger(flag: string): (text: string) => number {
  return (text) => {
    if (!/^[+-]?\d+$/.test(text.trim()) || /^-0+$/.test(text.trim())) {
      throw new InvalidArgumentError(`${flag} must be a whole number, not ${JSON.stringify(text)}`);
    }
    const value = Number(text);
    if (!Number.isSafeInteger(value)) throw new InvalidArgumentError(`${flag} is out of range: ${text}`);
    return value;
  };
}

/** `--workers auto` or a count of at least 1. */
function parseWorkers(text: string): number | 'auto' {
  if (text.trim() === 'auto') return 'auto';
  const value = parseInteger('--workers')(text);
  if (value < 1)
    throw new InvalidArgumentError(`--workers must be at least 1 (or auto), not ${JSON.stringify(text)}`);
  return value;
}

/** A size option such as `--window 64MiB`. */
export function parseSizeOption(flag: string): (text: string) => number {
  return (text) => {
    try {
      return parseSize(text, flag);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  };
}

/** Rejects a value not in `choices` with a message that lists them. */
export function parseChoice<T extends string>(flag: string, choices: readonly T[]): (text: string) => T {
  return (text) => {
    if ((choices as readonly string[]).includes(text)) return text as T;
    throw new InvalidArgumentError(
      `${flag} must be one of ${choices.join(', ')}, not ${JSON.stringify(text)}`,
    );
  };
}

/** A usage error raised after parsing (options that do not go together). */
/**
 * The options every command that runs the pipeline shares: the kernel, the strategy and the workers.
 * @param workersHelp what --workers means for this command
 */
export function addRunOptions(command: Command, workersHelp: string): Command {
  return command
    .option(
      '--kernel <kernel>',
      `${KERNEL_NAMES.join(' | ')} (default: wasm-simd)`,
      parseChoice('--kernel', KERNEL_NAMES),
    )
    .option(
      '--strategy <strategy>',
      `${STRATEGIES.join(' | ')} (default: auto)`,
      parseChoice('--strategy', STRATEGIES),
    )
    .option('--workers <n>', workersHelp, parseWorkers);
}

export function usageError(message: string): RawbrightError {
  return new RawbrightError('ERR_USAGE', message);
}

/**
 * Adds the options that describe a raw file read without a sidecar: `--raw-width`, `--raw-height` and `--type`,
 * the same names in every command that reads a raw file (export, info, preview); `--width` and `--height` are
 * always the size of an image being made (create, preview's output). With `legacyAliases`, the `--width` /
 * `--height` that export and info documented before keep working, hidden from the help.
 */
export function addRawShapeOptions(command: Command, legacyAliases = false): Command {
  command
    .option('--raw-width <pixels>', "the raw image's width (without a sidecar)", parseInteger('--raw-width'))
    .option(
      '--raw-height <pixels>',
      "the raw image's height (without a sidecar)",
      parseInteger('--raw-height'),
    )
    .option(
      '--type <type>',
      `sample type: ${SAMPLE_TYPES.join(' | ')} (default: the sidecar's, else uint16)`,
      parseChoice('--type', SAMPLE_TYPES),
    );
  if (legacyAliases) {
    command
      .addOption(new Option('--width <pixels>').argParser(parseInteger('--width')).hideHelp())
      .addOption(new Option('--height <pixels>').argParser(parseInteger('--height')).hideHelp());
  }
  return command;
}

/** The raw shape flags of {@link addRawShapeOptions}, the hidden aliases folded in. */
export function rawShape(flags: { rawWidth?: number; rawHeight?: number; width?: number; height?: number }): {
  width?: number;
  height?: number;
} {
  for (const [name, value, alias] of [
    ['width', flags.rawWidth, flags.width],
    ['height', flags.rawHeight, flags.height],
  ] as const) {
    if (value !== undefined && alias !== undefined && value !== alias)
      throw usageError(`--raw-${name} ${value} and --${name} ${alias} disagree: give --raw-${name} alone`);
  }
  return { width: flags.rawWidth ?? flags.width, height: flags.rawHeight ?? flags.height };
}
