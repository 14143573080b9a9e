/**
 * Whole-process benchmarks, each against a reference measured in the same run, runs alternated:
 * - `batch`: one `rawbright brighten` command over many warm files (default 32 × 32 MiB, journaled, the
 *   defaults) against the native reference program (native/bench/reference.cc, mmap +
 *   MADV_POPULATE_WRITE) run once on each file, process start included;
 * - `startup`: `rawbright brighten` on one small file (64 KiB) against a bare `node -e 0`.
 * Every figure is wall-clock seconds of whole processes; the ratios are of medians.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { RawbrightError } from '../errors.js';
import { referenceUnavailableReason, runReference } from './reference.js';
import { type Summary, summarize } from './stats.js';
import { createRandomFile, syncFile, Workspace } from './workspace.js';

/** The package's `bin` (dist/bin/rawbright.cjs: brighten's bundle, see scripts/bundle-cli.mjs), as a user runs it. */
const CLI = fileURLToPath(new URL('../bin/rawbright.cjs', import.meta.url));
const MIB = 1024 * 1024;
/** What every run does: the kernel benchmark's default job, its sign alternating run by run. */
const JOB = { delta: 1000, type: 'uint16', channels: 'rgb' } as const;

export const DEFAULT_BATCH_FILES = 32;
export const DEFAULT_BATCH_FILE_BYTES = 32 * MIB;
export const DEFAULT_STARTUP_FILE_BYTES = 64 * 1024;
export const DEFAULT_PROCESS_RUNS = 9;

/** One side of a comparison: whole-process seconds of every timed run, and their spread. */
export interface ProcessCase {
  id: string;
  label: string;
  /** Each timed run's wall-clock seconds, in order. */
  seconds: number[];
  summary: Summary;
}

export interface BatchBenchResult {
  files: number;
  fileBytes: number;
  runs: number;
  /** `rawbright brighten` over every file in one command. */
  rawbright: ProcessCase;
  /** The native reference run on each file in turn (absent when it is not built). */
  reference?: ProcessCase;
  /** The reference's median seconds over rawbright's: its speed as a fraction of native (higher is better). */
  vsReference?: number;
  /** rawbright's median throughput, GB/s. */
  gbps: number;
  notes: string[];
}

export interface StartupBenchResult {
  fileBytes: number;
  runs: number;
  /** `rawbright brighten` on the small file. */
  rawbright: ProcessCase;
  /** `node -e 0`. */
  node: ProcessCase;
  /** rawbright's median seconds over bare node's (lower is better; 1 is the floor). */
  vsNode: number;
}

export interface ProcessBenchOptions {
  /** Folder for the temporary files [the system temp folder]. */
  dir?: string;
  runs?: number;
  onProgress?: (text: string) => void;
}

/** Runs a whole process; returns its wall-clock seconds, or throws with its stderr. */
function timeProcess(command: string, args: string[], what: string): number {
  const started = process.hrtime.bigint();
  const run = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 16 * MIB });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (run.error !== undefined || run.status !== 0) {
    const why = run.error?.message ?? (run.stderr.trim() || `exit status ${run.status ?? run.signal}`);
    throw new RawbrightError('ERR_BENCH_CHILD', `${what} failed in a child process: ${why}`);
  }
  return seconds;
}

function processCase(id: string, label: string, seconds: number[]): ProcessCase {
  return { id, label, seconds, summary: summarize(seconds) };
}

/**
 * Measures cases in alternation: a warm-up of each, then `runs` rounds of each in turn.
 * @param cases each case's id, label and one timed run (returns seconds; `round` alternates the sign)
 */
function alternate(
  name: string,
  cases: { id: string; label: string; run: (round: number) => number; after?: () => void }[],
  runs: number,
  onProgress?: (text: string) => void,
): ProcessCase[] {
  const seconds = cases.map(() => [] as number[]);
  for (let round = -1; round < runs; round++) {
    cases.forEach((c, i) => {
      const took = c.run(round + 1);
      c.after?.();
      if (round >= 0) {
        seconds[i]!.push(took);
        onProgress?.(`${name}: ${c.label}, run ${round + 1}/${runs}: ${took.toFixed(3)} s`);
      }
    });
  }
  return cases.map((c, i) => processCase(c.id, c.label, seconds[i]!));
}

const delta = (round: number) => (round % 2 === 0 ? 1 : -1) * JOB.delta;

/**
 * The batch part: `files` warm files of `fileBytes`, brightened by one rawbright command, and by the native
 * reference program once per file.
 */
export function runBatchBench(
  options: ProcessBenchOptions & { files?: number; fileBytes?: number } = {},
): BatchBenchResult {
  const files = options.files ?? DEFAULT_BATCH_FILES;
  const fileBytes = options.fileBytes ?? DEFAULT_BATCH_FILE_BYTES;
  const runs = options.runs ?? DEFAULT_PROCESS_RUNS;
  const notes: string[] = [];
  const missing = referenceUnavailableReason();
  if (missing !== undefined) notes.push(`Native reference skipped: ${missing}.`);
  const workspace = Workspace.create(options.dir, files * fileBytes);
  try {
    const paths = Array.from({ length: files }, (_, i) => workspace.path(`batch-${i}.raw`));
    for (const path of paths) createRandomFile(path, fileBytes);
    const syncAll = () => {
      for (const path of paths) syncFile(path);
    };
    const { type, channels } = JOB;
    const cases = alternate(
      'batch',
      [
        {
          id: 'rawbright',
          label: `rawbright brighten (${files} files, one command)`,
          run: (round) =>
            timeProcess(
              process.execPath,
              [
                CLI,
                'brighten',
                ...paths,
                `--by=${delta(round)}`,
                '--type',
                type,
                '--channels',
                channels,
                '--quiet',
              ],
              'rawbright brighten',
            ),
          after: syncAll,
        },
        ...(missing === undefined
          ? [
              {
                id: 'native',
                label: `native C++ reference (one process per file)`,
                run: (round: number) => {
                  const started = process.hrtime.bigint();
                  for (const path of paths) {
                    runReference(path, { mode: 'mmap', params: { delta: delta(round), type, channels } });
                  }
                  return Number(process.hrtime.bigint() - started) / 1e9;
                },
                after: syncAll,
              },
            ]
          : []),
      ],
      runs,
      options.onProgress,
    );
    const [rawbright, reference] = cases as [ProcessCase, ProcessCase | undefined];
    return {
      files,
      fileBytes,
      runs,
      rawbright,
      ...(reference !== undefined && {
        reference,
        vsReference: reference.summary.median / rawbright.summary.median,
      }),
      gbps: (files * fileBytes) / rawbright.summary.median / 1e9,
      notes,
    };
  } finally {
    workspace.remove();
  }
}

/** The start-up part: `rawbright brighten` on one file of `fileBytes` against a bare `node -e 0`. */
export function runStartupBench(
  options: ProcessBenchOptions & { fileBytes?: number } = {},
): StartupBenchResult {
  const fileBytes = options.fileBytes ?? DEFAULT_STARTUP_FILE_BYTES;
  const runs = options.runs ?? DEFAULT_PROCESS_RUNS;
  const workspace = Workspace.create(options.dir, fileBytes);
  try {
    const path = workspace.path('startup.raw');
    createRandomFile(path, fileBytes);
    const [rawbright, node] = alternate(
      'startup',
      [
        {
          id: 'rawbright',
          label: 'rawbright brighten (one small file)',
          run: (round) =>
            timeProcess(
              process.execPath,
              [CLI, 'brighten', path, `--by=${delta(round)}`, '--quiet'],
              'rawbright brighten',
            ),
          after: () => syncFile(path),
        },
        {
          id: 'node',
          label: 'node -e 0',
          run: () => timeProcess(process.execPath, ['-e', '0'], 'node -e 0'),
        },
      ],
      runs,
      options.onProgress,
    ) as [ProcessCase, ProcessCase];
    return { fileBytes, runs, rawbright, node, vsNode: rawbright.summary.median / node.summary.median };
  } finally {
    workspace.remove();
  }
}
