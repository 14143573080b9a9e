/** `rawbright export RAW OUT.png|OUT.tif`: raw → 16-bit RGBA PNG or TIFF. */
import type { Command } from 'commander';
import { DEFAULT_COMPRESSION_LEVEL, exportImage } from '../../convert/export.js';
import { formatBytes, formatRate, formatSeconds } from '../../format.js';
import type { SampleType } from '../../kernels/types.js';
import { runConversion } from '../conversion.js';
import { addRawShapeOptions, parseInteger, rawShape } from '../options.js';

interface ExportFlags {
  overwrite?: boolean;
  rawWidth?: number;
  rawHeight?: number;
  width?: number;
  height?: number;
  type?: SampleType;
  compression?: number;
  json?: boolean;
}

/**
 * Registers `rawbright export RAW OUT [--overwrite] [--raw-width --raw-height --type] [--compression N] [--json]`.
 * @param program The root command.
 */
export function registerExport(program: Command): void {
  addRawShapeOptions(
    program
      .command('export')
      .description(
        'convert a raw file to a 16-bit RGBA PNG or TIFF (BigTIFF past 4 GiB); int16 samples get +32768',
      )
      .argument(
        '<raw>',
        'the raw file (its shape comes from RAW.json, or from --raw-width/--raw-height/--type)',
      )
      .argument('<out>', 'the image to write: .png, .tif or .tiff')
      .option('--overwrite', 'replace an existing output'),
    true,
  )
    .option(
      '--compression <level>',
      `zlib level 0 (none) to 9 (smallest) (default: ${DEFAULT_COMPRESSION_LEVEL})`,
      parseInteger('--compression'),
    )
    .option('--json', 'print the report as JSON on stdout')
    .action(async (raw: string, out: string, flags: ExportFlags) => {
      const report = await runConversion(out, (onProgress) =>
        exportImage(raw, out, {
          overwrite: flags.overwrite === true,
          ...rawShape(flags),
          type: flags.type,
          compressionLevel: flags.compression,
          onProgress,
        }),
      );
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        return;
      }
      const kind = report.format === 'png' ? 'PNG' : report.bigtiff ? 'BigTIFF' : 'TIFF';
      const offset = report.sampleType === 'int16' ? ', samples + 32768' : '';
      process.stdout.write(
        `exported ${report.input} (${report.width}x${report.height} ${report.sampleType}${offset}) -> ${report.output}: ` +
          `16-bit ${kind}, ${formatBytes(report.bytes)} in ${formatSeconds(report.seconds)} ` +
          `(${formatRate(report.rawBytes, report.seconds)} of raw)\n`,
      );
    });
}
