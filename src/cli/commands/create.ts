/** `rawbright create RAW --width W --height H`: a synthetic raw image (and sidecar) of any size. */
import type { Command } from 'commander';
import { createImage, PATTERNS, type Pattern } from '../../convert/create.js';
import { formatBytes, formatRate, formatSeconds } from '../../format.js';
import { SAMPLE_TYPES, type SampleType } from '../../kernels/types.js';
import { runConversion } from '../conversion.js';
import { parseChoice, parseInteger } from '../options.js';

interface CreateFlags {
  width: number;
  height: number;
  type?: SampleType;
  pattern?: Pattern;
  seed?: number;
  overwrite?: boolean;
  json?: boolean;
}

/**
 * Registers `rawbright create RAW --width W --height H [--type] [--pattern] [--seed] [--overwrite] [--json]`.
 * @param program The root command.
 */
export function registerCreate(program: Command): void {
  program
    .command('create')
    .description(
      'create a synthetic raw RGBA image and its sidecar (deterministic for a seed), fast at any size',
    )
    .argument('<raw>', 'the raw file to write (its sidecar goes to RAW.json)')
    .requiredOption('--width <pixels>', 'pixels per row', parseInteger('--width'))
    .requiredOption('--height <pixels>', 'rows', parseInteger('--height'))
    .option(
      '--type <type>',
      `sample type: ${SAMPLE_TYPES.join(' | ')} (default: uint16)`,
      parseChoice('--type', SAMPLE_TYPES),
    )
    .option(
      '--pattern <pattern>',
      `${PATTERNS.join(' | ')} (default: gradient)`,
      parseChoice('--pattern', PATTERNS),
    )
    .option('--seed <n>', 'noise seed, 0 to 4294967295 (default: 1)', parseInteger('--seed'))
    .option('--overwrite', 'replace an existing raw file and sidecar')
    .option('--json', 'print the report as JSON on stdout')
    .action(async (raw: string, flags: CreateFlags) => {
      const report = await runConversion(raw, (onProgress) =>
        createImage(raw, {
          width: flags.width,
          height: flags.height,
          type: flags.type,
          pattern: flags.pattern,
          seed: flags.seed,
          overwrite: flags.overwrite === true,
          onProgress,
        }),
      );
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        return;
      }
      const seed = report.pattern === 'noise' ? ` (seed ${report.seed})` : '';
      process.stdout.write(
        `created ${report.output}: ${report.width}x${report.height} ${report.sampleType} ${report.pattern}${seed}, ` +
          `${formatBytes(report.bytes)} in ${formatSeconds(report.seconds)} (${formatRate(report.bytes, report.seconds)}), ` +
          `sidecar ${report.sidecar}\n`,
      );
    });
}
