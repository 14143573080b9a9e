/**
 * How many workers a run gets: the number asked for, or with `'auto'` (the default) a second worker only
 * where it pays on the machine at hand. The rules are a pure function of the job and the machine's facts
 * (cores, recent load), so they can be tested without the machine.
 *
 * Measured (issue 14, whole process, warm 2 GiB file): two workers ran at 1.27× one worker when the second
 * core was free, and at 0.91–0.96× when a neighbour held it. A second worker also costs its thread's
 * start-up (about 33 ms) where one worker runs on the calling thread. Hence: two workers only for a file of
 * at least {@link AUTO_SPLIT_BYTES}, on at least 2 cores, with two cores free.
 *
 * Free means what the other processes use right now ({@link sampleMachine}: /proc/stat over
 * {@link SAMPLE_MS}, this process's own time taken out), not the last minute's load average: that counts
 * this very process and its earlier runs, so after one large file of a batch (or one run of a script) the
 * load stayed near 1 for a minute and every later file got one worker on an idle machine. The load is the
 * fallback where /proc/stat cannot be read.
 */
import { readFileSync } from 'node:fs';
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
  /**
   * The cores' worth of CPU that other processes used just now (see {@link sampleMachine}); undefined where it
   * was not measured, and auto then goes by `load`.
   */
  busy?: number;
}

/** How long {@link sampleMachine} watches the CPUs: a few of /proc/stat's 10 ms units on every core. */
const SAMPLE_MS = 30;

/** At most this much CPU used by others (in cores) still leaves two cores free enough for two workers. */
const BUSY_LIMIT = 0.5;

/**
 * The `cpu` line of /proc/stat: all time and idle time summed over every CPU (in its units), and how many CPUs
 * it sums (its `cpuN` lines: the machine's, which may be more than this process may use); undefined if unreadable.
 */
function cpuTimes(): { all: number; idle: number; cpus: number } | undefined {
  try {
    const lines = readFileSync('/proc/stat', 'latin1').split('\n');
    const fields = (lines[0] ?? '').trim().split(/\s+/);
    if (fields[0] !== 'cpu' || fields.length < 6) return undefined;
    const values = fields.slice(1, 9).map(Number);
    if (values.some((v) => !Number.isFinite(v))) return undefined;
    const cpus = lines.filter((line) => /^cpu\d+ /.test(line)).length;
    if (cpus === 0) return undefined;
    // user nice system idle iowait irq softirq steal: idle and iowait are time no one ran.
    return { all: values.reduce((a, b) => a + b, 0), idle: values[3]! + values[4]!, cpus };
  } catch {
    return undefined;
  }
}

export interface WorkersChoice {
  workers: number;
  /** Why, in a few words: `'auto: 2 GiB file, 2 cores, load 0.3'`, `'asked for 4'`. */
  reason: string;
}

/** The machine facts auto decides on, read now (no sample of the CPUs: see {@link sampleMachine}). */
function machineFacts(): MachineFacts {
  return { cores: availableParallelism(), load: loadavg()[0] ?? 0 };
}

/**
 * The machine facts for a job, with what other processes use right now when auto could split it (a job of at
 * least {@link AUTO_SPLIT_BYTES} on 2 cores or more): /proc/stat read twice {@link SAMPLE_MS} apart while
 * this process waits, less this process's own CPU time meanwhile. Smaller jobs and explicit counts pay nothing.
 */
export async function sampleMachine(requested: number | 'auto', bytes: number): Promise<MachineFacts> {
  const facts = machineFacts();
  if (requested !== 'auto' || bytes < AUTO_SPLIT_BYTES || facts.cores < 2) return facts;
  const before = cpuTimes();
  if (before === undefined) return facts;
  const own = process.cpuUsage();
  const started = process.hrtime.bigint();
  // The global timer, not node:timers/promises: a small run must not load it (see test/cli/bin.test.ts).
  await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
  const after = cpuTimes();
  const ownUsed = process.cpuUsage(own);
  const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (after === undefined || after.cpus !== before.cpus) return facts;
  const total = after.all - before.all;
  if (!(total > 0)) return facts;
  // In CPUs' worth: everything that ran over the sample, less this process's own time.
  const used = ((total - (after.idle - before.idle)) / total) * after.cpus;
  const mine = (ownUsed.user + ownUsed.system) / 1000 / elapsedMs;
  return { ...facts, busy: Math.max(0, used - mine) };
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
 * or for `'auto'` two where the file is large, the machine has 2 cores or more and two of them are free (what
 * others use just now, where measured, else the last minute's load).
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
  const busy = machine.busy === undefined ? undefined : Math.round(machine.busy * 10) / 10;
  const facts =
    `${size(job.bytes)} file, ${machine.cores} core${machine.cores === 1 ? '' : 's'}, ` +
    (busy === undefined ? `load ${load}` : `others using ${busy} of them`);
  if (windows < 2) return { workers: 1, reason: `auto: ${facts}; one window` };
  if (job.bytes < AUTO_SPLIT_BYTES) {
    return { workers: 1, reason: `auto: ${facts}; below ${size(AUTO_SPLIT_BYTES)}, a split does not pay` };
  }
  if (machine.cores < 2) return { workers: 1, reason: `auto: ${facts}; no second core` };
  const free =
    machine.busy === undefined
      ? machine.load < machine.cores - 1
      : machine.busy <= machine.cores - 2 + BUSY_LIMIT;
  if (!free) return { workers: 1, reason: `auto: ${facts}; no core free` };
  return { workers: Math.min(AUTO_MAX_WORKERS, windows), reason: `auto: ${facts}` };
}
