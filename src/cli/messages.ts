/**
 * Error messages in the command line's words. The library's messages name its options as a program writes
 * them (`by`, `overwrite: true`, `the out option`); the CLI prints them with the flags a user types (`--by`,
 * `--overwrite`, `--out`). This is the one place that knows which flag is which option; every command's error
 * output (cli/index.ts, the batch's lines and NDJSON records) goes through {@link cliMessage}. Codes are kept.
 */

/** API option → flag, the same in every command. */
const FLAGS: Readonly<Record<string, string>> = {
  by: '--by',
  type: '--type',
  channels: '--channels',
  alpha: '--alpha',
  bands: '--bands',
  byteOrder: '--byte-order',
  header: '--header',
  window: '--window',
  offset: '--offset',
  length: '--length',
  kernel: '--kernel',
  strategy: '--strategy',
  workers: '--workers',
  out: '--out',
  overwrite: '--overwrite',
  journal: '--no-journal',
  durable: '--durable',
  discard: '--discard',
  compressionLevel: '--compression',
  width: '--width',
  height: '--height',
  rawWidth: '--raw-width',
  rawHeight: '--raw-height',
  pattern: '--pattern',
  seed: '--seed',
};

/**
 * Where a command's flag for an option is not the common one: export and info take a raw file's shape as
 * `--raw-width` / `--raw-height` (their API options are `width` / `height`).
 */
const COMMAND_FLAGS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  export: { width: '--raw-width', height: '--raw-height' },
  info: { width: '--raw-width', height: '--raw-height' },
};

/** A raw file's shape, in the messages about it (sidecar conflicts, a missing sidecar): always --raw-*. */
const RAW_SHAPE: Readonly<Record<string, string>> = { width: '--raw-width', height: '--raw-height' };

/**
 * `message` with the API's option names replaced by the flags of `command` (`brighten`, `export`, …). A name
 * with no flag is left as it is.
 * @example
 * cliMessage('Expected an integer from -65535 to 65535 for by but received 70000 of type number', 'brighten');
 * // '--by must be an integer from -65535 to 65535, not 70000'
 */
export function cliMessage(message: string, command?: string): string {
  const table = { ...FLAGS, ...(command === undefined ? {} : COMMAND_FLAGS[command]) };
  const flag = (name: string, names: Readonly<Record<string, string>> = table) =>
    Object.hasOwn(names, name) ? names[name] : undefined;
  // The one factory's form (errors.ts): `Expected <what> for <name> but received <value> of type <type>`.
  const expected = /^Expected (.+) for (\w+) but received (.+) of type \w+$/s.exec(message);
  if (expected !== null) {
    const [, what, name, value] = expected;
    const f = flag(name!);
    if (f !== undefined) return `${f} must be ${what}, not ${value}`;
    return message;
  }
  return (
    message
      // "pass overwrite: true to replace it" → "use --overwrite to replace it"
      .replace(/\bpass (\w+): true\b/g, (all, name: string) => {
        const f = flag(name);
        return f === undefined ? all : `use ${f}`;
      })
      // "leave out the out option" → "leave out --out"
      .replace(/\bthe (\w+) option\b/g, (all, name: string) => flag(name) ?? all)
      // "(the width and height options)" → "(--raw-width and --raw-height)"
      .replace(/\bthe (\w+) and (\w+) options\b/g, (all, a: string, b: string) => {
        const [fa, fb] = [flag(a, { ...table, ...RAW_SHAPE }), flag(b, { ...table, ...RAW_SHAPE })];
        return fa === undefined || fb === undefined ? all : `${fa} and ${fb}`;
      })
      // "but the options say width 4, type int16" → "but the options say --raw-width 4, --type int16"
      .replace(
        /\bthe options say (.+)$/s,
        (_, list: string) =>
          `the options say ${list
            .split(', ')
            .map((item) => {
              const [name, ...rest] = item.split(' ');
              const f = flag(name!, { ...table, ...RAW_SHAPE });
              return f === undefined ? item : [f, ...rest].join(' ');
            })
            .join(', ')}`,
      )
  );
}

/** The subcommand this process runs (the first word that is not an option), for {@link cliMessage}. */
export function runningCommand(argv: readonly string[] = process.argv): string | undefined {
  return argv.slice(2).find((word) => !word.startsWith('-'));
}
