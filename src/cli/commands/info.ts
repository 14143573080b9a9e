/** `rawbright info RAW`: shape, size and per-channel statistics of a raw file. */
import type { Command } from 'commander';
import { type ImageInfo, imageInfo } from '../../convert/info.js';
import { formatBytes } from '../../format.js';
import { describeFormatInfo, formatInfo } from '../../formats/info.js';
import type { SampleType } from '../../kernels/types.js';
import { addRawShapeOptions, rawShape } from '../options.js';

interface InfoFlags {
  rawWidth?: number;
  rawHeight?: number;
  width?: number;
  height?: number;
  type?: SampleType;
  json?: boolean;
}

/** The human-readable form of {@link imageInfo}'s report. */
export function describeInfo(info: ImageInfo): string {
  const lines = [
    `file      ${info.path}`,
    `sidecar   ${info.sidecar ?? 'none (shape given on the command line)'}`,
    `pixels    ${info.width} x ${info.height} (${info.pixels}), ${info.channels} channels RGBA, ${info.sampleType} ${info.byteOrder}-endian`,
    `size      ${info.bytes} bytes (${formatBytes(info.bytes)})`,
    `channel   ${'min'.padStart(7)} ${'max'.padStart(7)} ${'mean'.padStart(10)}`,
    ...info.stats.map(
      (s) =>
        `${s.channel.padEnd(9)} ${String(s.min).padStart(7)} ${String(s.max).padStart(7)} ${s.mean.toFixed(2).padStart(10)}`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * Registers `rawbright info RAW [--raw-width --raw-height --type] [--json]`.
 * @param program The root command.
 */
export function registerInfo(program: Command): void {
  addRawShapeOptions(
    program
      .command('info')
      .description(
        "describe an image: a TIFF, FITS or PNM file's format, pages, pixel ranges and per-band statistics, or a raw file's shape, size and per-channel min, max and mean",
      )
      .argument(
        '<raw>',
        'the raw file (its shape comes from RAW.json, or from --raw-width/--raw-height/--type)',
      ),
    true,
  )
    .option('--json', 'print the report as JSON on stdout')
    .action(async (raw: string, flags: InfoFlags) => {
      // A file that describes itself (TIFF, FITS, PNM) is described from its own header.
      const described = formatInfo(raw);
      if (described !== undefined) {
        process.stdout.write(
          flags.json ? `${JSON.stringify(described, null, 2)}\n` : describeFormatInfo(described),
        );
        return;
      }
      const info = await imageInfo(raw, { ...rawShape(flags), type: flags.type });
      process.stdout.write(flags.json ? `${JSON.stringify(info, null, 2)}\n` : describeInfo(info));
    });
}
