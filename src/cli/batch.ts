/**
 * Runs one command over many files: goes on past a failed file (unless `failFast`), prints one line
 * (or one NDJSON object, with `--json`) per file as it finishes, a summary line on a terminal, and
 * keeps a run log beside the files so that a re-run does not repeat finished work.
 *
 * The run log is `.rawbright-done` in each file's folder, one JSON line per finished file:
 * `{"name", "dev", "ino", "size", "mtimeMs", "params", "at"}`. A file counts as done by a run when
 * its name, device and inode, size and modification time are those recorded after the finished run
 * and `params` (the options that decide the output bytes) are the same: a file changed since, a
 * file replaced under the same name, or a run with other parameters does not match.
 */
import { appendFileSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { errorCode, RawbrightError } from '../errors.js';
import { formatBytes } from '../format.js';

export const RUN_LOG = '.rawbright-done';

/** What one file's run gave: its report, a failure, or a skip (already done). */
export type BatchOutcome<R> =
  | { path: string; status: 'done'; report: R }
  | { path: string; status: 'failed'; code: string; message: string }
  | { path: string; status: 'skipped'; reason: string };

export interface BatchOptions<R> {
  /** Stop at the first failed file. */
  failFast?: boolean;
  /** Print one JSON object per file on stdout (NDJSON). */
  json?: boolean;
  /** Print only failures (and, with `json`, the JSON lines): no line per finished file, no summary. */
  quiet?: boolean;
  /**
   * The options that decide the output bytes, compared with the run log's; undefined for runs that
   * change no input (e.g. into --out), which keep no run log.
   */
  params: Record<string, unknown> | undefined;
  /** Skip files the run log shows as done with the same params (else such a file is refused). */
  skipDone?: boolean;
  /** Run files the run log shows as done again. */
  again?: boolean;
  /** The verb of the summary line, e.g. "brightened". */
  verb: string;
  /** One line for a finished file. */
  describe(report: R): string;
  /** Bytes a report counts, for the summary. */
  bytes(report: R): number;
}

interface LogEntry {
  name: string;
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  params: string;
}

function identity(path: string): Omit<LogEntry, 'params'> {
  const stat = statSync(path);
  return { name: basename(path), dev: stat.dev, ino: stat.ino, size: stat.size, mtimeMs: stat.mtimeMs };
}

function readLog(dir: string): LogEntry[] {
  let text: string;
  try {
    text = readFileSync(join(dir, RUN_LOG), 'utf8');
  } catch {
    return [];
  }
  const entries: LogEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      entries.push(JSON.parse(line) as LogEntry);
    } catch {
      // A line cut short by a crash records nothing.
    }
  }
  return entries;
}

/** Whether the run log shows `path`, as it is now, finished by a run with `params`. */
export function isDone(path: string, params: string): boolean {
  let now: Omit<LogEntry, 'params'>;
  try {
    now = identity(path);
  } catch {
    return false;
  }
  return readLog(dirname(path)).some(
    (entry) =>
      entry.name === now.name &&
      entry.dev === now.dev &&
      entry.ino === now.ino &&
      entry.size === now.size &&
      entry.mtimeMs === now.mtimeMs &&
      entry.params === params,
  );
}

/** Records `path`, as it is now, as finished by a run with `params`. */
export function recordDone(path: string, params: string): void {
  const entry = { ...identity(path), params, at: new Date().toISOString() };
  appendFileSync(join(dirname(path), RUN_LOG), `${JSON.stringify(entry)}\n`);
}

function alreadyDone(path: string): RawbrightError {
  return new RawbrightError(
    'ERR_ALREADY_DONE',
    `${path} was already changed by a run with these options (see ${RUN_LOG}); use --skip-done to skip it or --again to run it again`,
    { path },
  );
}

/** Escapes control characters (a file name with a newline in it), so a message stays one line. */
function oneLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point.
  return text.replace(/[\u0000-\u001f\u007f]/g, (c) => JSON.stringify(c).slice(1, -1));
}

function write(outcome: BatchOutcome<unknown>, json: boolean, quiet: boolean, line?: string): void {
  if (json) {
    // One flat object a line: a done file's report fields, or a failure's code and message.
    const object =
      outcome.status === 'done' ? { status: outcome.status, ...(outcome.report as object) } : outcome;
    process.stdout.write(`${JSON.stringify(object)}\n`);
    return;
  }
  if (quiet && outcome.status !== 'failed') return;
  if (outcome.status === 'done') process.stdout.write(`${line}\n`);
  else if (outcome.status === 'skipped') process.stdout.write(`skipped ${outcome.path}: ${outcome.reason}\n`);
  else process.stderr.write(`rawbright: ${oneLine(outcome.message)}\n`);
}

/**
 * Runs `run` for every file in turn. An interrupted run (ERR_ABORTED) stops the batch and is thrown.
 * Throws ERR_BATCH_FAILED, after every file has had its turn, when any file failed.
 */
export async function runBatch<R>(
  files: readonly string[],
  run: (file: string) => Promise<R>,
  options: BatchOptions<R>,
): Promise<BatchOutcome<R>[]> {
  const params = options.params === undefined ? undefined : JSON.stringify(options.params);
  const outcomes: BatchOutcome<R>[] = [];
  const started = process.hrtime.bigint();
  let bytes = 0;
  for (const path of files) {
    let outcome: BatchOutcome<R>;
    let line: string | undefined;
    try {
      if (params !== undefined && !options.again && isDone(path, params)) {
        if (!options.skipDone) throw alreadyDone(path);
        outcome = { path, status: 'skipped', reason: `already done (${RUN_LOG})` };
      } else {
        const report = await run(path);
        try {
          if (params !== undefined) recordDone(path, params);
        } catch (error) {
          process.stderr.write(
            `rawbright: could not record ${path} in ${RUN_LOG}: ${error instanceof Error ? error.message : error}\n`,
          );
        }
        bytes += options.bytes(report);
        line = options.describe(report);
        outcome = { path, status: 'done', report };
      }
    } catch (error) {
      if (errorCode(error) === 'ERR_ABORTED') throw error;
      const message = error instanceof Error ? error.message : String(error);
      outcome = { path, status: 'failed', code: errorCode(error) ?? 'ERR_UNKNOWN', message };
    }
    outcomes.push(outcome);
    write(outcome, options.json ?? false, options.quiet ?? false, line);
    if (outcome.status === 'failed' && options.failFast) break;
  }
  const failed = outcomes.filter((o) => o.status === 'failed').length;
  const skipped = outcomes.filter((o) => o.status === 'skipped').length;
  const done = outcomes.length - failed - skipped;
  const notRun = files.length - outcomes.length;
  if (process.stderr.isTTY && files.length > 1 && !options.quiet) {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    process.stderr.write(
      `${options.verb} ${done} of ${files.length} files (${formatBytes(bytes)} in ${seconds.toFixed(2)} s)` +
        `${failed > 0 ? `, ${failed} failed` : ''}${skipped > 0 ? `, ${skipped} skipped` : ''}` +
        `${notRun > 0 ? `, ${notRun} not run (--fail-fast)` : ''}\n`,
    );
  }
  if (failed > 0) {
    const error = new RawbrightError(
      'ERR_BATCH_FAILED',
      `${failed} of ${files.length} file${files.length === 1 ? '' : 's'} failed`,
    );
    // Each failure is printed already: the CLI prints nothing more, and exits 2 if all were usage errors.
    (error as { failedCodes?: string[] }).failedCodes = outcomes.flatMap((o) =>
      o.status === 'failed' ? [o.code] : [],
    );
    throw error;
  }
  return outcomes;
}
