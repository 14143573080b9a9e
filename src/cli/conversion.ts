/**
 * How the conversion commands (create, import, export, preview) run: a progress bar on a terminal, and
 * Ctrl-C / SIGTERM remove the conversion's temporary files and exit with 130. A conversion writes only new
 * files under temporary names, so there is nothing to resume and nothing else to undo.
 */
import { removeTemporaryFilesSync } from '../convert/cleanup.js';
import { createProgressDisplay } from './progress.js';

/** Reports bytes done of a total, as the conversions' `onProgress` options do. */
export type ConversionProgress = (bytesDone: number, bytesTotal: number) => void;

/**
 * Runs one conversion with a progress bar labelled `label` (nothing when stderr is not a terminal) and the
 * signal handlers; they are removed when it ends.
 * @param label What the bar names, usually the output.
 * @param run The conversion, given the callback for its `onProgress` option.
 */
export async function runConversion<T>(
  label: string,
  run: (onProgress: ConversionProgress) => Promise<T>,
): Promise<T> {
  const progress = createProgressDisplay(label);
  const started = performance.now();
  const onSignal = () => {
    progress.stop();
    const removed = removeTemporaryFilesSync();
    process.stderr.write(
      `rawbright: interrupted; ${removed === 0 ? 'nothing was written' : `removed ${removed} temporary file${removed === 1 ? '' : 's'}`}\n`,
    );
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await run((bytesDone, bytesTotal) =>
      progress.update({
        bytesDone,
        bytesTotal,
        windowsDone: 0,
        windowsTotal: 0,
        seconds: (performance.now() - started) / 1000,
      }),
    );
  } finally {
    progress.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
