/** The warning about a `--window` so small that a run crawls, shared by `brighten`, `adjust` and `enqueue`. */
import { statSync } from 'node:fs';
import { formatBytes } from '../format.js';

/**
 * Every window costs a fixed time however small it is (measured: 0.3 ms a window copied, up to 1 ms overlaid),
 * so a tiny `--window` makes a run crawl: `--window 1000` took 61 s on a 64 MiB file that the default
 * brightens in 0.15 s. A small window still has its uses (little memory, a run kept slow on purpose), so it is
 * not refused: a run that it cuts into more than this many windows is warned about.
 */
const MANY_WINDOWS = 4096;
/** Windows of this size or more cost little next to their bytes (16 MiB: 256 KiB and 1 MiB ran as fast). */
const SMALL_WINDOW = 1024 * 1024;

/** The flags the warning looks at: the window, the range it cuts (else the file from `offset`), `--quiet`. */
export interface WindowFlags {
  window?: number | undefined;
  offset?: number | undefined;
  length?: number | undefined;
  quiet?: boolean | undefined;
}

/** Warns on stderr when `--window` would cut `file` into so many windows that the run crawls. */
export function warnSmallWindow(file: string, flags: WindowFlags): void {
  const window = flags.window;
  if (window === undefined || window === 0 || window >= SMALL_WINDOW || flags.quiet) return;
  let bytes: number;
  try {
    bytes = flags.length ?? statSync(file).size - (flags.offset ?? 0);
  } catch {
    return; // No such file: its run says so.
  }
  const windows = Math.ceil(bytes / window);
  if (windows <= MANY_WINDOWS) return;
  process.stderr.write(
    `rawbright: warning: --window ${formatBytes(window)} cuts ${file} into ${windows} windows, and each costs ` +
      'a fixed time however small (about 0.3-1 ms): this run will be far slower than with the default ' +
      '(64 MiB overlaid, 4 MiB copied); use --window 1MiB or more\n',
  );
}
