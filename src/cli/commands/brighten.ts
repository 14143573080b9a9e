/** `rawbright brighten FILE... --by N` and `rawbright resume FILE`. */
import type { Command } from 'commander';
import type { DryRunReport } from '../../brighten/dry-run.js';
import {
  type BrightenOptions,
  brightenFile,
  CHANNELS,
  type RangeResume,
  type Report,
  type ResumeReport,
  resumeFile,
  SAMPLE_TYPES,
  type Strategy,
  uniqueFiles,
} from '../../brighten/pipeline.js';
import { formatBytes, formatGbps, formatSeconds } from '../../format.js';
import type { KernelName } from '../../kernels/types.js';
import { runBatch } from '../batch.js';
import { addRunOptions, parseChoice, parseInteger, parseSizeOption, usageError } from '../options.js';
import { createProgressDisplay, stopProgressDisplays } from '../progress.js';
import { warnSmallWindow } from '../window.js';

function summary(report: Report, verb = 'brightened'): string {
  const target = report.out === undefined ? report.path : `${report.path} -> ${report.out}`;
  const fallback = report.fallbackReason === undefined ? '' : ` (fell back: ${report.fallbackReason})`;
  return (
    `${verb} ${target}: ${formatBytes(report.bytes)} in ${formatSeconds(report.seconds)}, ` +
    `${formatGbps(report.gbps)} (${report.kernel}, ${report.strategy}${fallback}, ${report.workers} worker` +
    `${report.workers === 1 ? '' : 's'}, peak RSS ${(report.peakRssBytes / 1024 ** 2).toFixed(0)} MiB)`
  );
}

/** Ctrl-C / SIGTERM finish the current window, record progress, and stop. */
function interruptOnSignals(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = () => {
    // The bar first: cli-progress would otherwise redraw over the message when it stops.
    stopProgressDisplays();
    process.stderr.write('rawbright: stopping after the current window...\n');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

export interface BrightenFlags {
  by?: number;
  type?: BrightenOptions['type'];
  channels?: BrightenOptions['channels'];
  alpha?: boolean;
  bands?: string;
  byteOrder?: BrightenOptions['byteOrder'];
  header?: number;
  window?: number;
  offset?: number;
  length?: number;
  kernel?: KernelName;
  strategy?: Strategy;
  workers?: number | 'auto';
  out?: string;
  overwrite?: boolean;
  journal: boolean;
  durable?: boolean;
  json?: boolean;
  failFast?: boolean;
  skipDone?: boolean;
  again?: boolean;
  quiet?: boolean;
  dryRun?: boolean;
}

function dryRunLine(report: DryRunReport): string {
  const target = report.out === undefined ? report.path : `${report.path} -> ${report.out}`;
  const journal = report.journal.used ? `journal ${formatBytes(report.journal.bytes)}` : 'no journal';
  const free =
    report.freeSpaceAvailable === undefined ? '' : ` (${formatBytes(report.freeSpaceAvailable)} free)`;
  return (
    `would change ${target}: ${report.format} (${report.layout}), ${formatBytes(report.bytes)} of ` +
    `${formatBytes(report.fileBytes)}, ${report.windows} window${report.windows === 1 ? '' : 's'} of ` +
    `${formatBytes(report.windowBytes)}, ${report.workers} worker${report.workers === 1 ? '' : 's'}, ` +
    `${report.strategy}, ${journal}, needs ${formatBytes(report.freeSpaceNeeded)} free space${free}`
  );
}

/** The options `brighten` and `resume` share: how the windows are processed, and the output. */
function addProcessingOptions(command: Command, workersHelp: string): Command {
  return addRunOptions(command, workersHelp).option('--json', 'print the report as JSON on stdout');
}

/**
 * Adds the options of a run over files (every option brighten has but its ops) to `command`; shared with
 * `adjust`.
 */
export function addFileRunOptions(command: Command): Command {
  command
    .option(
      '--type <type>',
      `sample type: ${SAMPLE_TYPES.join(' | ')} (default: the sidecar's, else uint16)`,
      parseChoice('--type', SAMPLE_TYPES),
    )
    .option(
      '--channels <channels>',
      `${CHANNELS.join(' | ')}: rgb leaves alpha alone (default: rgb; rgba is --alpha)`,
      parseChoice('--channels', CHANNELS),
    )
    .option('--alpha', 'change alpha samples too (left alone by default)')
    .option(
      '--bands <n>',
      'headerless raw: samples a pixel, 1 | 2 | 3 | 4 (default: 4; alpha is the last of 2 and 4)',
      parseChoice('--bands', ['1', '2', '3', '4']),
    )
    .option(
      '--byte-order <order>',
      'headerless raw: little | big (default: little)',
      parseChoice('--byte-order', ['little', 'big'] as const),
    )
    .option(
      '--header <bytes>',
      'headerless raw: bytes of a leading header to leave alone (default: 0)',
      parseSizeOption('--header'),
    )
    .option(
      '--window <size>',
      'window size, e.g. 64MiB (default: 64MiB overlaid, 4MiB copied)',
      parseSizeOption('--window'),
    )
    .option('--offset <bytes>', 'first byte to change, a multiple of 8', parseSizeOption('--offset'))
    .option('--length <bytes>', 'bytes to change, a multiple of 8', parseSizeOption('--length'))
    .option('--out <file>', 'write the result to a new file and leave the input untouched')
    .option('--overwrite', 'replace an existing --out file')
    .option('--no-journal', 'skip the undo journal (faster; a killed run cannot be resumed)')
    .option('--durable', 'fsync every window, so a power cut loses nothing (disk speed)')
    .option('--fail-fast', 'stop at the first file that fails (default: go on with the rest)')
    .option('--skip-done', 'skip files that record a finished run with the same options, unchanged since')
    .option('--again', 'run files that record a finished run with the same options once more')
    .option('-q, --quiet', 'print only errors: no progress bar, no line per file, no summary')
    .option(
      '--dry-run',
      'print what each file would get (format, layout, windows, workers, journal, free space) and change nothing',
    );
  return addProcessingOptions(command, 'worker threads, or auto: a second one where it pays (default: auto)');
}

/** What a file run's command line asks for, as options of the API (all but the ops). */
export type FileRunOptions = Omit<BrightenOptions, 'by'>;

/** The API options the flags of {@link addFileRunOptions} ask for (a dry run and a real run alike). */
function fileRunOptions(flags: BrightenFlags): FileRunOptions {
  return {
    type: flags.type,
    channels: flags.channels,
    ...(flags.alpha && { alpha: true }),
    ...(flags.bands !== undefined && { bands: Number(flags.bands) as 1 | 2 | 3 | 4 }),
    byteOrder: flags.byteOrder,
    header: flags.header,
    window: flags.window,
    offset: flags.offset,
    length: flags.length,
    kernel: flags.kernel,
    strategy: flags.strategy,
    workers: flags.workers,
    out: flags.out,
    overwrite: flags.overwrite,
    journal: flags.journal,
    durable: flags.durable,
  };
}

/**
 * Runs `runOne` over each named file with the flags of {@link addFileRunOptions}: the one command code path of
 * `brighten` and `adjust` (progress, Ctrl-C, the batch, its done records and reports). `change` is what the run does
 * to the bytes besides the flags (`{ by }`, `{ ops }`), recorded on each finished file.
 */
export async function runFileCommand(
  files: string[],
  flags: BrightenFlags,
  change: Record<string, unknown>,
  runOne: (file: string, options: FileRunOptions) => Promise<Report>,
  verb = 'brightened',
): Promise<void> {
  if (flags.out !== undefined && files.length > 1) throw usageError('--out takes a single input file');
  if (flags.dryRun) {
    // Loaded only for a dry run: every other run of a small file pays for each module it loads.
    const { dryRunFile } = await import('../../brighten/dry-run.js');
    await runBatch(
      uniqueFiles(files),
      (file) => {
        warnSmallWindow(file, flags);
        return dryRunFile(file, { ...change, ...fileRunOptions(flags) } as Parameters<typeof dryRunFile>[1]);
      },
      {
        // Nothing is run: nothing to record or to check against the run log.
        params: undefined,
        failFast: flags.failFast,
        json: flags.json,
        quiet: flags.quiet,
        verb: 'planned',
        describe: dryRunLine,
        bytes: (report) => report.bytes,
      },
    );
    return;
  }
  const interrupt = interruptOnSignals();
  const params = {
    ...change,
    type: flags.type,
    channels: flags.channels,
    alpha: flags.alpha ?? false,
    bands: flags.bands,
    byteOrder: flags.byteOrder,
    header: flags.header,
    offset: flags.offset,
    length: flags.length,
  };
  try {
    await runBatch(
      uniqueFiles(files),
      async (file) => {
        warnSmallWindow(file, flags);
        const progress = flags.quiet ? { update() {}, stop() {} } : createProgressDisplay(file);
        try {
          return await runOne(file, {
            ...fileRunOptions(flags),
            // Nothing else needs this thread's event loop: a one-worker run starts no worker thread.
            inThread: true,
            signal: interrupt.signal,
            onProgress: progress.update,
          });
        } finally {
          progress.stop();
        }
      },
      {
        // Into --out the input is left as it is: nothing to record.
        params: flags.out === undefined ? params : undefined,
        failFast: flags.failFast,
        json: flags.json,
        quiet: flags.quiet,
        skipDone: flags.skipDone,
        again: flags.again,
        verb,
        describe: (report) => summary(report, verb),
        bytes: (report) => report.bytes,
      },
    );
  } finally {
    interrupt.dispose();
  }
}

/** One line per interrupted range of a file (runs over parts of it: `brighten --offset/--length`). */
function rangeLines(file: string, ranges: readonly RangeResume[]): string {
  return ranges
    .map((range) => {
      const where =
        range.range === undefined
          ? file
          : `${file} bytes ${range.range.offset}…${range.range.offset + range.range.length}`;
      if (range.report !== undefined) return `resumed ${where}: ${summary(range.report)}\n`;
      if (range.discarded) return `discarded the interrupted run of ${where}; its bytes are as they are\n`;
      if (range.busy !== undefined) return `left ${where}: ${range.busy}\n`;
      return `nothing to resume for ${where} (its run had changed nothing)\n`;
    })
    .join('');
}

export function registerBrighten(program: Command): void {
  const brighten = program
    .command('brighten')
    .description(
      'brighten 16-bit images in place (or into --out), window by window: TIFF/BigTIFF, FITS, PGM/PPM/PAM, headerless raw',
    )
    .argument('<files...>', "image files; the format is read from each file's own bytes")
    .option('--by <n>', 'the delta added to every sample, -65535 to 65535 (required)', parseInteger('--by'));
  addFileRunOptions(brighten).action((files: string[], flags: BrightenFlags) => {
    // Checked here, not by requiredOption: commander checks required options before unknown ones,
    // so a mistyped `--bye 10` would be reported as a missing --by.
    if (flags.by === undefined) throw usageError("required option '--by <n>' not specified");
    const by = flags.by;
    return runFileCommand(files, flags, { by }, (file, options) => brightenFile(file, { ...options, by }));
  });

  const resume = program
    .command('resume')
    .description('finish an interrupted in-place run from its journal')
    .argument('<file>', 'the raw file that was being brightened')
    .option('--durable', 'fsync every step (default: as the interrupted run did)')
    .option('--no-durable', 'do not fsync, even if the interrupted run did')
    .option(
      '--discard',
      'accept the file as it is: drop the interrupted run (its journal and mark), change nothing',
    );
  addProcessingOptions(resume, "worker threads (at most the interrupted run's)").action(
    async (
      file: string,
      flags: {
        kernel?: KernelName;
        strategy?: Strategy;
        workers?: number | 'auto';
        durable?: boolean;
        discard?: boolean;
        json?: boolean;
      },
    ) => {
      const interrupt = interruptOnSignals();
      const progress = createProgressDisplay(file);
      let report: ResumeReport;
      try {
        report = await resumeFile(file, {
          kernel: flags.kernel,
          strategy: flags.strategy,
          workers: flags.workers,
          inThread: true,
          durable: flags.durable,
          ...(flags.discard && { discard: true }),
          signal: interrupt.signal,
          onProgress: progress.update,
        });
      } finally {
        progress.stop();
        interrupt.dispose();
      }
      if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else if (report.ranges?.some((range) => range.range !== undefined))
        process.stdout.write(rangeLines(file, report.ranges ?? []));
      else if (!report.resumed && report.discarded)
        process.stdout.write(`discarded the interrupted run of ${file}; its bytes are as they are\n`);
      else if (!report.resumed) process.stdout.write(`nothing to resume for ${file}\n`);
      else process.stdout.write(`resumed: ${summary(report)}\n`);
    },
  );
}
