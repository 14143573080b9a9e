/**
 * How many workers a run gets: the number asked for, or with `'auto'` (the default) a second worker only
 * where it pays on the machine at hand. The rules are a pure function of the job and the machine's facts
 * (cores, recent load), so they can be tested without the machine.
 *
 * Measured (issue 14, whole process, warm 2 GiB file): two workers ran at 1.27× one worker when the second
 * core was free, and at 0.91–0.96× when a neighbour held it. A second worker also costs its thread's
 * start-up (about 33 ms) where one worker runs on the calling thread. Hence: two workers only for a file of
 * at least {@link AUTO_SPLIT_BYTES}, on at least 2 cores, with the last minute's load leaving a core free.
 */
import { availableParallelism, loadavg } from 'node:os';

/**
 * The smallest job auto splits: at ~4 GB/s a second worker saves about a fifth of the run (1.27×), which
 * pays the 33 ms of a worker thread's start-up from about 0.6 GiB; 1 GiB leaves a margin.
 */
const AUTO_SPLIT_BYTES = 1024 ** 3;

/** Auto never goes beyond two workers: that is what was measured. */
const AUTO_MAX_WORKERS = 2;

export interface MachineFacts {
  /** `os.availableParallelism()`. */
  cores: number;
  /** `os.loadavg()[0]`: runnable threads, averaged over the last minute (0 where the OS does not say). */
  load: number;
}

export interface WorkersChoice {
  workers: number;
  /** Why, in a few words: `'auto: 2 GiB file, 2 cores, load 0.3'`, `'asked for 4'`. */
  reason: string;
}

/** The machine facts auto decides on, read now. */
export function machineFacts(): MachineFacts {
  return { cores: availableParallelism(), load: loadavg()[0] ?? 0 };
}

function size(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = unit === 0 || Number.isInteger(value) ? String(value) : value.toFixed(1);
  return `${text} ${units[unit]}`;
}

/**
 * The workers for a job of `bytes` in `windows` windows: `requested` as asked (never more than the windows),
 * or for `'auto'` two where the file is large, the machine has 2 cores or more and its load leaves one free.
 */
export function chooseWorkers(
  requested: number | 'auto',
  job: { bytes: number; windows: number },
  machine: MachineFacts,
): WorkersChoice {
  const windows = Math.max(1, job.windows);
  if (requested !== 'auto') {
    const workers = Math.max(1, Math.min(requested, windows));
    const clipped = workers < requested ? ` (${windows} window${windows === 1 ? '' : 's'})` : '';
    return { workers, reason: `asked for ${requested}${clipped}` };
  }
  const load = Math.round(machine.load * 10) / 10;
  const facts = `${size(job.bytes)} file, ${machine.cores} core${machine.cores === 1 ? '' : 's'}, load ${load}`;
  if (windows < 2) return { workers: 1, reason: `auto: ${facts}; one window` };
  if (job.bytes < AUTO_SPLIT_BYTES) {
    return { workers: 1, reason: `auto: ${facts}; below ${size(AUTO_SPLIT_BYTES)}, a split does not pay` };
  }
  if (machine.cores < 2) return { workers: 1, reason: `auto: ${facts}; no second core` };
  if (!(machine.load < machine.cores - 1)) {
    return { workers: 1, reason: `auto: ${facts}; no core free` };
  }
  return { workers: Math.min(AUTO_MAX_WORKERS, windows), reason: `auto: ${facts}` };
}
