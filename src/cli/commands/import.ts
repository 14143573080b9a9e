/** `rawbright import IMAGE OUT.raw`: any image sharp reads → raw RGBA uint16 + sidecar. */
import type { Command } from 'commander';
import { importImage } from '../../convert/import.js';
import { formatBytes, formatRate, formatSeconds } from '../../format.js';
import { runConversion } from '../conversion.js';

/**
 * Registers `rawbright import IMAGE RAW [--overwrite] [--json]` on the program.
 * @param program The root command.
 */
export function registerImport(program: Command): void {
  program
    .command('import')
    .description('convert an image (PNG, TIFF, JPEG, WebP, GIF, AVIF, SVG) to raw RGBA uint16 + OUT.raw.json')
    .argument('<image>', 'the image to read')
    .argument('<raw>', 'the raw file to write (its sidecar goes to RAW.json)')
    .option('--overwrite', 'replace an existing raw file and sidecar')
    .option('--json', 'print the report as JSON on stdout')
    .action(async (image: string, raw: string, flags: { overwrite?: boolean; json?: boolean }) => {
      const report = await runConversion(raw, (onProgress) =>
        importImage(image, raw, { overwrite: flags.overwrite === true, onProgress }),
      );
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        return;
      }
      process.stdout.write(
        `imported ${report.input} (${report.sourceFormat}, ${report.sourceBits}-bit, ${report.sourceChannels} ` +
          `channel${report.sourceChannels === 1 ? '' : 's'}) -> ${report.output}: ${report.width}x${report.height} ` +
          `uint16 RGBA, ${formatBytes(report.bytes)} in ${formatSeconds(report.seconds)} ` +
          `(${formatRate(report.bytes, report.seconds)}), sidecar ${report.sidecar}\n`,
      );
    });
}
