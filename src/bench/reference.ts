/**
 * Runs the native reference program (native/bench/reference.cc, built by `npm install` as
 * build/Release/rawbright-reference): a plain C++ program doing rawbright's job with mmap or
 * pread/pwrite and a vectorised loop, or measuring the disk's write bandwidth with fsync. It runs as
 * a child process on the benchmark's own file, in the same run, so the comparison is like for like.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RawbrightError } from '../errors.js';
import type { RgbaBrightenParams as BrightenParams } from '../kernels/types.js';

/** Where `npm install` builds the program. */
export const REFERENCE_PROGRAM = fileURLToPath(
  new URL('../../build/Release/rawbright-reference', import.meta.url),
);

/** What the program reports (one JSON object). */
export interface ReferenceReport {
  mode: 'mmap' | 'pread' | 'disk';
  bytes: number;
  /** The job from open to close, measured inside the program. */
  seconds: number;
  gbps: number;
  window: number;
  peakRssBytes: number;
  /** mmap only: every window's address agreed with its file offset modulo 2 MiB. */
  aligned?: boolean;
  populate?: boolean;
}

/** A reference run: brighten in place with mmap or pread, or write `size` bytes with fsync (`disk`). */
export type ReferenceJob =
  | { mode: 'mmap'; params: BrightenParams; window?: number; populate?: boolean }
  | { mode: 'pread'; params: BrightenParams; window?: number }
  | { mode: 'disk'; size: number };

/**
 * Why the reference program cannot run here, if it cannot.
 * @returns a sentence, or undefined when the program is built
 */
export function referenceUnavailableReason(): string | undefined {
  if (process.platform === 'win32') return 'the native reference program is not built on Windows';
  if (!existsSync(REFERENCE_PROGRAM)) {
    return `the native reference program ${REFERENCE_PROGRAM} is not built (run npm run build:native)`;
  }
  return undefined;
}

/**
 * Runs the reference program once.
 * @param path the file to brighten in place (mmap, pread) or to create (disk)
 * @param job what to do
 * @returns its report
 * @throws {RawbrightError} `ERR_REFERENCE_FAILED` when the program is missing or fails
 */
export function runReference(path: string, job: ReferenceJob): ReferenceReport {
  const unavailable = referenceUnavailableReason();
  if (unavailable !== undefined) throw new RawbrightError('ERR_REFERENCE_FAILED', unavailable);
  const args = [job.mode, path];
  if (job.mode === 'disk') {
    args.push('--size', String(job.size));
  } else {
    args.push('--by', String(job.params.delta), '--type', job.params.type, '--channels', job.params.channels);
    if (job.window !== undefined) args.push('--window', String(job.window));
    if (job.mode === 'mmap' && job.populate === false) args.push('--no-populate');
  }
  const run = spawnSync(REFERENCE_PROGRAM, args, { encoding: 'utf8' });
  if (run.error !== undefined || run.status !== 0) {
    const why = run.error?.message ?? (run.stderr.trim() || `exit status ${run.status ?? run.signal}`);
    throw new RawbrightError('ERR_REFERENCE_FAILED', `the native reference program failed: ${why}`, { path });
  }
  return JSON.parse(run.stdout) as ReferenceReport;
}
