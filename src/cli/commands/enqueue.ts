/** `rawbright enqueue FILE... --by N`: one farm job per file (or per `--split` range of a file). */
import type { Command } from 'commander';
import { CHANNELS, SAMPLE_TYPES, type Strategy } from '../../brighten/pipeline.js';
import { errorCode, RawbrightError } from '../../errors.js';
import type { FarmRunOptions } from '../../farm/job.js';
import { FarmQueue, printableUrl } from '../../farm/queue.js';
import { formatBytes } from '../../format.js';
import type { KernelName } from '../../kernels/types.js';
import { addRunOptions, parseChoice, parseInteger, parseSizeOption, usageError } from '../options.js';
import { warnSmallWindow } from '../window.js';
import { addFarmOptions, describeRange } from './status.js';

interface EnqueueFlags {
  by?: number;
  type?: string;
  channels?: string;
  window?: number;
  offset?: number;
  length?: number;
  split?: number;
  kernel?: KernelName;
  strategy?: Strategy;
  workers?: number;
  durable?: boolean;
  redis?: string;
  queue?: string;
  json?: boolean;
}

/** The run's options, as a job carries them: only those given, so the pipeline's defaults apply on the worker. */
function runOptions(flags: EnqueueFlags): FarmRunOptions {
  const options: Record<string, unknown> = {};
  for (const key of [
    'by',
    'type',
    'channels',
    'window',
    'offset',
    'length',
    'kernel',
    'strategy',
    'workers',
    'durable',
  ] as const) {
    if (flags[key] !== undefined) options[key] = flags[key];
  }
  return options as FarmRunOptions;
}

/**
 * Enqueues each file (one job per --split range), printing a line or an NDJSON object per job; a refused
 * file is reported and the others go on. Fails at the end when some file was refused.
 */
async function runEnqueue(files: string[], flags: EnqueueFlags): Promise<void> {
  // Checked here, as by brighten: commander checks required options before unknown ones (`--bye 10`).
  if (flags.by === undefined) throw usageError("required option '--by <n>' not specified");
  // As brighten does, before anything is enqueued (and before Redis is asked): the jobs would crawl.
  for (const file of files) warnSmallWindow(file, flags);
  const farm = await FarmQueue.open({ redis: flags.redis, queue: flags.queue });
  let jobs = 0;
  let bytes = 0;
  let refused = 0;
  try {
    for (const file of files) {
      try {
        const added = await farm.enqueue(file, runOptions(flags), { split: flags.split });
        jobs += added.length;
        bytes += added.reduce((sum, job) => sum + job.length, 0);
        if (flags.json) {
          const path = added[0]?.path ?? file;
          const list = added.map(({ id, offset, length }) => ({ id, offset, length }));
          process.stdout.write(`${JSON.stringify({ path, jobs: list })}\n`);
        } else {
          for (const job of added)
            process.stdout.write(`enqueued ${job.path}${describeRange(job)} as job ${job.id}\n`);
        }
      } catch (error) {
        // A refused file is reported, and the others go on.
        refused++;
        const code = errorCode(error) ?? 'ERR_FARM_JOB';
        const message = error instanceof Error ? error.message : String(error);
        if (flags.json) process.stdout.write(`${JSON.stringify({ path: file, code, message })}\n`);
        else process.stderr.write(`rawbright: ${message}\n`);
      }
    }
  } finally {
    await farm.close();
  }
  if (!flags.json) {
    process.stdout.write(
      `${jobs} job${jobs === 1 ? '' : 's'} (${formatBytes(bytes)}) on queue ${farm.name} at ${printableUrl(farm.url)}\n`,
    );
  }
  if (refused > 0) {
    throw new RawbrightError(
      'ERR_FARM_REFUSED',
      `${refused} of ${files.length} ${files.length === 1 ? 'file was' : 'files were'} not enqueued`,
    );
  }
}

/** Declares `rawbright enqueue` and its options. */
export function registerEnqueue(program: Command): void {
  addRunOptions(
    addFarmOptions(
      program
        .command('enqueue')
        .description('add farm jobs that brighten files in place, for `rawbright worker` processes to run')
        .argument('<files...>', 'raw files, on storage every worker sees at the same path')
        .option(
          '--by <n>',
          'the delta added to every sample, -65535 to 65535 (required)',
          parseInteger('--by'),
        )
        .option(
          '--type <type>',
          `sample type: ${SAMPLE_TYPES.join(' | ')} (default: the sidecar's, else uint16)`,
          parseChoice('--type', SAMPLE_TYPES),
        )
        .option(
          '--channels <channels>',
          `${CHANNELS.join(' | ')}: rgb leaves alpha alone (default: rgb)`,
          parseChoice('--channels', CHANNELS),
        )
        .option(
          '--window <size>',
          'window size, e.g. 64MiB (default: 64MiB overlaid, 4MiB copied)',
          parseSizeOption('--window'),
        )
        .option('--offset <bytes>', 'first byte to brighten, a multiple of 8', parseSizeOption('--offset'))
        .option('--length <bytes>', 'bytes to brighten, a multiple of 8', parseSizeOption('--length'))
        .option(
          '--split <size>',
          'one job per range of this size (a multiple of 8), e.g. 1GiB',
          parseSizeOption('--split'),
        ),
    ),
    'worker threads per job (default: 1)',
  )
    .option('--durable', 'fsync every window and every farm record: a machine that dies loses nothing')
    .option('--json', 'print one JSON object per file as it is enqueued (NDJSON), refusals included')
    .action((files: string[], flags: EnqueueFlags) => runEnqueue(files, flags));
}
