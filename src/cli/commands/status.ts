/** `rawbright status`: the farm queue's jobs by state, with their files, and a summary with throughput. */
import type { Command } from 'commander';
import { type FarmJobStatus, FarmQueue, type FarmStatus } from '../../farm/queue.js';
import { formatBytes } from '../../format.js';
import { parseInteger } from '../options.js';
import { createProgressDisplay } from '../progress.js';

/** `--redis` and `--queue`, shared by enqueue, worker and status. */
export function addFarmOptions(command: Command): Command {
  return command
    .option('--redis <url>', 'the Redis server (default: $RAWBRIGHT_REDIS, else redis://127.0.0.1:6379)')
    .option('--queue <name>', 'the queue (default: rawbright)');
}

/** A job's range, when it is not the whole file. */
export function describeRange(job: { offset: number; length: number; fileSize: number }): string {
  return job.offset === 0 && job.length === job.fileSize ? '' : ` [${job.offset}+${job.length}]`;
}

const short = (id: string) => id.slice(0, 8);

function jobLine(job: FarmJobStatus): string {
  const where = `  ${short(job.id)} ${job.path}${describeRange(job)}`;
  const stalls = job.stalls > 0 ? ` (taken over ${job.stalls}x)` : '';
  switch (job.state) {
    case 'active': {
      const p = job.progress;
      const percent = p && p.bytesTotal > 0 ? ` ${((100 * p.bytesDone) / p.bytesTotal).toFixed(0)}%` : '';
      return `${where}${percent}${stalls}`;
    }
    case 'completed':
      return `${where}: ${job.result?.action ?? 'done'} by ${job.result?.worker ?? '?'}${stalls}`;
    case 'failed':
      return `${where}: ${job.error?.code}: ${job.error?.message}`;
    default:
      return `${where}${stalls}`;
  }
}

/** The human-readable form of {@link FarmQueue.status}. */
export function describeStatus(status: FarmStatus, limit: number): string {
  const c = status.counts;
  const lines = [
    `queue ${status.queue} on ${status.redis}: ${c.waiting} waiting, ${c.active} active, ${c.delayed} delayed, ${c.completed} completed, ${c.failed} failed`,
  ];
  for (const state of ['active', 'waiting', 'delayed', 'failed', 'completed']) {
    const shown = status.jobs.filter((job) => job.state === state).slice(0, limit);
    if (shown.length === 0) continue;
    const total = c[state as keyof typeof c];
    lines.push(`${state}${total > shown.length ? ` (${shown.length} of ${total})` : ''}:`);
    lines.push(...shown.map(jobLine));
  }
  const s = status.summary;
  const actions = Object.entries(s.actions)
    .map(([action, n]) => `${n} ${action}`)
    .join(', ');
  lines.push(
    `done ${formatBytes(s.bytesDone)} of ${formatBytes(s.bytesTotal)} in ${c.completed} of ${s.jobs} jobs` +
      (actions === '' ? '' : ` (${actions})`) +
      (s.seconds > 0
        ? `; ${s.seconds.toFixed(1)} s from first start to last finish: ${(s.gbps * 1000).toFixed(1)} MB/s, ${s.jobsPerSecond.toFixed(2)} jobs/s`
        : ''),
  );
  return `${lines.join('\n')}\n`;
}

/** Shows the whole queue's progress until nothing is waiting, delayed or active. */
async function watch(farm: FarmQueue): Promise<void> {
  const bar = createProgressDisplay(`queue ${farm.name}`);
  const started = performance.now();
  try {
    for (;;) {
      const status = await farm.status({ limit: 0 });
      const s = status.summary;
      bar.update({
        bytesDone: s.bytesDone + s.bytesInProgress,
        bytesTotal: Math.max(1, s.bytesTotal),
        windowsDone: status.counts.completed,
        windowsTotal: s.jobs,
        seconds: (performance.now() - started) / 1000,
      });
      const { waiting, active, delayed } = status.counts;
      if (waiting + active + delayed === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  } finally {
    bar.stop();
  }
}

export function registerStatus(program: Command): void {
  addFarmOptions(
    program
      .command('status')
      .description(
        "the farm queue's waiting, active, delayed, completed and failed jobs, and its throughput",
      ),
  )
    .option('--limit <n>', 'jobs listed per state (default: 10)', parseInteger('--limit'))
    .option('--watch', "show the queue's progress until no job is left to run, then the status")
    .option('--json', 'print the status as one JSON object, every job included')
    .action(
      async (flags: { redis?: string; queue?: string; limit?: number; watch?: boolean; json?: boolean }) => {
        const farm = await FarmQueue.open({ redis: flags.redis, queue: flags.queue });
        try {
          if (flags.watch) await watch(farm);
          const status = await farm.status();
          if (flags.json) process.stdout.write(`${JSON.stringify(status)}\n`);
          else process.stdout.write(describeStatus(status, Math.max(0, flags.limit ?? 10)));
        } finally {
          await farm.close();
        }
      },
    );
}
