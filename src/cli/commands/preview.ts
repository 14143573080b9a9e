/** `rawbright preview RAW OUT.png`: a small 8-bit PNG to look at. */
import type { Command } from 'commander';
import { DEFAULT_PREVIEW_WIDTH, previewImage } from '../../convert/preview.js';
import { formatSeconds } from '../../format.js';
import type { SampleType } from '../../kernels/types.js';
import { runConversion } from '../conversion.js';
import { addRawShapeOptions, parseInteger } from '../options.js';

interface PreviewFlags {
  width?: number;
  overwrite?: boolean;
  rawWidth?: number;
  rawHeight?: number;
  type?: SampleType;
  json?: boolean;
}

/**
 * Registers `rawbright preview RAW OUT.png [--width N] [--overwrite] [--raw-width --raw-height --type] [--json]`.
 * @param program The root command.
 */
export function registerPreview(program: Command): void {
  addRawShapeOptions(
    program
      .command('preview')
      .description('write a small 8-bit PNG of a raw file, to look at')
      .argument(
        '<raw>',
        'the raw file (its shape comes from RAW.json, or from --raw-width/--raw-height/--type)',
      )
      .argument('<out>', 'the PNG to write')
      .option(
        '--width <pixels>',
        `the preview's width, never more than the image's (default: ${DEFAULT_PREVIEW_WIDTH})`,
        parseInteger('--width'),
      )
      .option('--overwrite', 'replace an existing output'),
  )
    .option('--json', 'print the report as JSON on stdout')
    .action(async (raw: string, out: string, flags: PreviewFlags) => {
      const report = await runConversion(out, (onProgress) =>
        previewImage(raw, out, {
          width: flags.width,
          overwrite: flags.overwrite === true,
          rawWidth: flags.rawWidth,
          rawHeight: flags.rawHeight,
          type: flags.type,
          onProgress,
        }),
      );
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        `preview of ${report.input} (${report.sourceWidth}x${report.sourceHeight}) -> ${report.output}: ` +
          `${report.width}x${report.height}, 8-bit, in ${formatSeconds(report.seconds)}\n`,
      );
    });
}
