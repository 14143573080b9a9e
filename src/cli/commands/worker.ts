/** `rawbright worker`: runs farm jobs from the queue until stopped (or, with --until-empty, until none is left). */
import type { Command } from 'commander';
import { RawbrightError } from '../../errors.js';
import type { FarmJobResult } from '../../farm/job.js';
import { FarmWorker, type FarmWorkerEvent, type FarmWorkerSummary } from '../../farm/worker.js';
import { formatBytes } from '../../format.js';
import { parseInteger } from '../options.js';
import { createProgressDisplay, type ProgressDisplay } from '../progress.js';
import { addFarmOptions, describeRange } from './status.js';

interface WorkerFlags {
  redis?: string;
  queue?: string;
  concurrency?: number;
  untilEmpty?: boolean;
  lockDuration?: number;
  stalledInterval?: number;
  maxStalls?: number;
  json?: boolean;
}

const VERB = { brightened: 'brightened', resumed: 'resumed and finished', 'already-done': 'already done:' };

function completedLine(result: FarmJobResult): string {
  const settled =
    result.settled === undefined
      ? ''
      : ` (first finished the killed run of job ${result.settled.join(', ')})`;
  const amount =
    result.action === 'already-done'
      ? ''
      : `: ${formatBytes(result.bytes)} in ${result.seconds.toFixed(2)} s`;
  return `${VERB[result.action]} ${result.path}${describeRange(result)} (job ${result.job})${amount}${settled}\n`;
}

function summaryLine(s: FarmWorkerSummary): string {
  const actions = Object.entries(s.actions)
    .map(([action, n]) => `${n} ${action}`)
    .join(', ');
  return (
    `worker ${s.worker}: ${s.completed} job${s.completed === 1 ? '' : 's'} completed` +
    `${actions === '' ? '' : ` (${actions})`}, ${s.failed} failed, ${formatBytes(s.bytes)} in ${s.seconds.toFixed(1)} s\n`
  );
}

/**
 * The worker's event handler: a progress bar per running job when one runs at a time, a line (or with
 * --json an NDJSON object) per finished, failed or deferred job, and a line when Redis goes or comes back.
 */
function workerEvents(
  flags: WorkerFlags,
  bars: Map<string, ProgressDisplay>,
): (event: FarmWorkerEvent) => void {
  const out = (object: unknown) => process.stdout.write(`${JSON.stringify(object)}\n`);
  return (event: FarmWorkerEvent) => {
    switch (event.type) {
      case 'started':
        // One bar at a time: with several jobs at once, bars would overwrite each other.
        if ((flags.concurrency ?? 1) === 1) bars.set(event.job, createProgressDisplay(event.path));
        break;
      case 'progress':
        bars.get(event.job)?.update(event.progress);
        break;
      case 'completed':
        bars.get(event.result.job)?.stop();
        bars.delete(event.result.job);
        if (flags.json) out({ event: 'completed', ...event.result });
        else process.stdout.write(completedLine(event.result));
        break;
      case 'failed':
      case 'deferred':
        bars.get(event.job)?.stop();
        bars.delete(event.job);
        if (flags.json)
          out({
            event: event.type,
            job: event.job,
            path: event.path,
            code: event.code,
            message: event.message,
          });
        else if (event.type === 'failed')
          process.stderr.write(`rawbright: job ${event.job} failed: ${event.message}\n`);
        break;
      case 'redis':
        process.stderr.write(
          event.state === 'lost'
            ? `rawbright: lost Redis at ${event.url}; waiting for it (runs in progress go on)\n`
            : `rawbright: Redis at ${event.url} is back\n`,
        );
        break;
    }
  };
}

/**
 * Runs the worker until its queue is done or a signal stops it (its runs stop after their current window),
 * prints the summary, and fails when interrupted or when some job failed.
 */
async function runWorker(flags: WorkerFlags): Promise<void> {
  const bars = new Map<string, ProgressDisplay>();
  const onEvent = workerEvents(flags, bars);
  const worker = await FarmWorker.start({
    redis: flags.redis,
    queue: flags.queue,
    concurrency: flags.concurrency,
    untilEmpty: flags.untilEmpty,
    lockDuration: flags.lockDuration,
    stalledInterval: flags.stalledInterval,
    maxStalls: flags.maxStalls,
    onEvent,
  });
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    process.stderr.write(
      '\nrawbright: stopping: runs stop after their current window, their jobs go back to the queue\n',
    );
    worker.close().catch(() => {});
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let summary: FarmWorkerSummary;
  try {
    summary = await worker.done;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    for (const bar of bars.values()) bar.stop();
  }
  if (!flags.json) process.stdout.write(summaryLine(summary));
  if (interrupted)
    throw new RawbrightError('ERR_ABORTED', 'worker stopped; its unfinished jobs are back in the queue');
  if (summary.failed > 0) {
    throw new RawbrightError(
      'ERR_FARM_FAILED',
      `${summary.failed} job${summary.failed === 1 ? '' : 's'} failed`,
    );
  }
}

/** Declares `rawbright worker` and its options. */
export function registerWorker(program: Command): void {
  addFarmOptions(
    program
      .command('worker')
      .description('run farm jobs from the queue; a killed worker leaves journals that other workers resume'),
  )
    .option(
      '--concurrency <n>',
      'jobs at once, each on its own file (default: 1)',
      parseInteger('--concurrency'),
    )
    .option('--until-empty', 'stop once no job is waiting, delayed or active in the queue')
    .option(
      '--lock-duration <ms>',
      "how long a dead worker's job stays locked before another takes it over (default: 30000)",
      parseInteger('--lock-duration'),
    )
    .option(
      '--stalled-interval <ms>',
      'how often to look for jobs of dead workers (default: 30000)',
      parseInteger('--stalled-interval'),
    )
    .option('--max-stalls <n>', 'take-overs before a job fails (default: 20)', parseInteger('--max-stalls'))
    .option('--json', 'print one JSON object per job event (NDJSON): completed, failed, deferred')
    .action((flags: WorkerFlags) => runWorker(flags));
}
