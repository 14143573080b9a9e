/**
 * Small helpers shared by the benchmarks: time a function over several runs and summarise the
 * distribution (min / median / max), because one number from a shared, noisy machine says little.
 */

/** The spread of a set of measurements. */
export interface Summary {
  min: number;
  median: number;
  max: number;
}

/**
 * Summarises measurements.
 * @param values at least one number
 * @returns the smallest, the median (mean of the middle two for an even count) and the largest
 * @throws {RangeError} for an empty list
 * @example
 * summarize([3, 1, 2]); // { min: 1, median: 2, max: 3 }
 */
export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new RangeError('summarize needs at least one value');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
  return { min: sorted[0], median, max: sorted[sorted.length - 1] };
}

/**
 * Times one call of `work`.
 * @param work the code to time (synchronous)
 * @returns elapsed wall-clock seconds (monotonic clock)
 */
function timeOnce(work: () => void): number {
  const start = process.hrtime.bigint();
  work();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/**
 * Times one call of `work` in CPU seconds: the time this process spent running (user and system), so that
 * moments when the scheduler gave the core to another process do not count. For single-threaded work, on a
 * machine shared with other jobs, where wall time measures the neighbours as much as the work.
 * @param work the code to time (synchronous)
 * @returns CPU seconds of the whole process during the call
 */
export function cpuTimeOnce(work: () => void): number {
  const start = process.cpuUsage();
  work();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

/** Which clock a benchmark reads: wall time, or the process's CPU time (see {@link cpuTimeOnce}). */
export type BenchClock = 'wall' | 'cpu';

/** The timer for a clock. */
export function timerFor(clock: BenchClock): (work: () => void) => number {
  return clock === 'cpu' ? cpuTimeOnce : timeOnce;
}

/**
 * Converts a byte count and a duration into a rate.
 * @param bytes bytes processed
 * @param seconds time taken
 * @returns gigabytes (10^9 bytes) per second
 */
export function gbps(bytes: number, seconds: number): number {
  return bytes / seconds / 1e9;
}

/**
 * The ratio of two summaries' medians, the figure the benchmark tables compare.
 * @param a numerator
 * @param b denominator
 * @returns a.median / b.median
 */
export function medianRatio(a: Summary, b: Summary): number {
  return a.median / b.median;
}

/**
 * How many times faster `a` ran than `b`, run by run: the median of b[i] / a[i] over runs timed in the same
 * round (the benchmark alternates its entries, so run i of each was timed within moments of the other).
 * A drift in the machine's speed over the benchmark (a neighbour starting) moves both sides of a pair alike,
 * where it moves the ratio of two medians taken from different moments.
 * @param a seconds of each run of the first entry
 * @param b seconds of each run of the second, as many
 * @returns the median speed ratio a : b (above 1 when a is faster)
 * @throws {RangeError} for empty lists or lists of different lengths
 * @example
 * pairedSpeedRatio([1, 2, 1], [2, 2, 3]); // median of [2, 1, 3] = 2
 */
export function pairedSpeedRatio(a: readonly number[], b: readonly number[]): number {
  if (a.length === 0 || a.length !== b.length)
    throw new RangeError('pairedSpeedRatio needs two lists of equal, non-zero length');
  return summarize(a.map((seconds, i) => b[i]! / seconds)).median;
}
