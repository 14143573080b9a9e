/** A progress bar on a terminal (bytes done, GB/s, ETA); nothing when stderr is a pipe or a file. */
import cliProgress from 'cli-progress';
import type { Progress } from '../brighten/pipeline.js';

const GIB = 1024 ** 3;

export interface ProgressDisplay {
  update(progress: Progress): void;
  stop(): void;
}

export function createProgressDisplay(label: string): ProgressDisplay {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${label} [{bar}] {percentage}% | {doneGiB}/{totalGiB} GiB | {gbps} GB/s | ETA {eta_formatted}`,
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    update(progress) {
      const payload = {
        doneGiB: (progress.bytesDone / GIB).toFixed(2),
        totalGiB: (progress.bytesTotal / GIB).toFixed(2),
        gbps: progress.seconds > 0 ? (progress.bytesDone / progress.seconds / 1e9).toFixed(2) : '-',
      };
      if (!started) {
        bar.start(progress.bytesTotal, progress.bytesDone, payload);
        started = true;
      } else {
        bar.update(progress.bytesDone, payload);
      }
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
