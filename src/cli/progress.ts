/**
 * A progress bar on a terminal (bytes done, GB/s, ETA); nothing when stderr is a pipe or a file. The line fits
 * the terminal (a long path is shortened in the middle with an ellipsis, so the figures stay), sizes are in
 * the unit that suits the total, and a bar stopped by Ctrl-C is cleared before the message that says so.
 */
import type cliProgressModule from 'cli-progress';
import type { Progress } from '../brighten/pipeline.js';

/**
 * cli-progress, loaded only when a bar is shown: a run whose stderr is not a terminal (scripts, batches,
 * every small file run from a program) does not pay for loading its dozen CommonJS modules, nor for
 * `node:module` (with Node 22's ES module loader).
 */
const loadCliProgress = (): typeof cliProgressModule =>
  process.getBuiltinModule('node:module').createRequire(import.meta.url)('cli-progress');

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
/** The bar's own width: narrow, so the label and the figures get the room. */
const BAR_SIZE = 12;
/** Everything on the line but the label, at its widest: ` [bar] 100% | 1023.99/1023.99 MiB | <0.0001 GB/s | ETA 99h59m`. */
const FIXED_WIDTH = 2 + BAR_SIZE + 2 + 4 + 3 + 21 + 3 + 12 + 3 + 10;
const MIN_LABEL = 12;

export interface ProgressDisplay {
  update(progress: Progress): void;
  stop(): void;
}

/** The bars on screen now, so an interruption can clear them before it writes its message. */
const active = new Set<ProgressDisplay>();

/** Stops (and clears) every bar on screen: call before writing a message to the terminal. */
export function stopProgressDisplays(): void {
  for (const display of [...active]) display.stop();
}

/**
 * GB/s in at most seven characters, never "0.00" for a small file: `6.21`, `0.915`, `0.013`, `0.0005`.
 */
function barGbps(gbps: number): string {
  if (gbps >= 1) return gbps.toFixed(2);
  if (gbps >= 0.001) return gbps.toFixed(3);
  // Plain digits, never exponent notation ("8e-4"); below 0.1 MB/s only that it is below.
  if (gbps >= 0.0001) return gbps.toFixed(4);
  return gbps > 0 ? '<0.0001' : '0';
}

/** The unit (a power of 1024) that shows `total` with at most four digits before the point. */
function unitFor(total: number): number {
  let unit = 0;
  while (total >= 1024 * 10 && unit < UNITS.length - 1) {
    total /= 1024;
    unit++;
  }
  return unit;
}

/** `done/total unit`, both in the total's unit. */
export function formatAmount(done: number, total: number): string {
  const unit = unitFor(total);
  const scale = 1024 ** unit;
  const digits = unit === 0 ? 0 : 2;
  return `${(done / scale).toFixed(digits)}/${(total / scale).toFixed(digits)} ${UNITS[unit]}`;
}

/** `label` in at most `width` characters: the middle gives way to an ellipsis, keeping the file name's end. */
export function fitLabel(label: string, width: number): string {
  const chars = [...label];
  if (chars.length <= width) return label;
  const name = [...(label.split('/').pop() ?? '')].length;
  const tail = Math.min(width - 2, Math.max(Math.ceil((width - 1) * 0.6), name + 1));
  const head = width - 1 - tail;
  return `${chars.slice(0, head).join('')}…${chars.slice(chars.length - tail).join('')}`;
}

export function createProgressDisplay(label: string): ProgressDisplay {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  const columns = process.stderr.columns > 0 ? process.stderr.columns : 80;
  let shown = label;
  const cliProgress = loadCliProgress();
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      // Braces in a file name must not be read as the format's placeholders.
      format: `{label} [{bar}] {percentage}% | {amount} | {gbps} GB/s | ETA {eta_formatted}`,
      barsize: BAR_SIZE,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let stopped = false;
  const display: ProgressDisplay = {
    update(progress) {
      if (stopped) return;
      const payload = {
        label: shown,
        amount: formatAmount(progress.bytesDone, progress.bytesTotal),
        gbps: progress.seconds > 0 ? barGbps(progress.bytesDone / progress.seconds / 1e9) : '-',
      };
      if (!started) {
        // The figures' width is known once the total is: the label gets the rest of the line.
        const amountWidth = formatAmount(progress.bytesTotal, progress.bytesTotal).length;
        shown = fitLabel(label, Math.max(MIN_LABEL, columns - 1 - (FIXED_WIDTH - 21 + amountWidth)));
        payload.label = shown;
        bar.start(progress.bytesTotal, progress.bytesDone, payload);
        started = true;
        active.add(display);
      } else {
        bar.update(progress.bytesDone, payload);
      }
    },
    stop() {
      if (stopped) return;
      stopped = true;
      active.delete(display);
      if (started) bar.stop();
    },
  };
  return display;
}
