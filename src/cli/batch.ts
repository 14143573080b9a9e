/**
 * Runs one command over many files: goes on past a failed file (unless `failFast`), prints one line
 * (or one NDJSON object, with `--json`) per file as it finishes, a summary line on a terminal, and
 * records on each finished file what was done to it, so that a re-run does not repeat finished work.
 *
 * The record is a marker on the file itself (the extended attribute `user.rawbright.done`, so it
 * follows the file through renames and hard links and leaves no file beside it): the file's size and
 * modification time after the finished run and `params` (the options that decide the output bytes).
 * A file counts as done when all three are still the same: a file changed since, or a copy (which
 * does not carry the attribute), does not match. Where the file system keeps no user attributes,
 * nothing is recorded and nothing counts as done.
 *
 * A run over part of a file (`--offset`/`--length`) records under its own name, `user.rawbright.done.START-END`,
 * so runs over other ranges (which may run at the same time) neither overwrite nor count as its record.
 * The record still holds the file's size and modification time, so it counts only while the file is
 * unchanged since: after runs over several ranges of one file, only the last to finish is still done,
 * and re-running the others' batches would run them again (use --skip-done only for ranges run one at
 * a time).
 */
import { statSync } from 'node:fs';
import { errorCode, RawbrightError } from '../errors.js';
import { MappedFile } from '../file/mapped-file.js';
import { readMarker, writeMarker } from '../file/marker.js';
import { formatBytes, formatRate, formatSeconds } from '../format.js';
import { cliMessage, runningCommand } from './messages.js';

/** The marker that records a finished run on the file (`user.rawbright.done`). */
const DONE_MARKER = 'done';

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
   * The options that decide the output bytes, compared with the file's record; undefined for runs
   * that change no input (e.g. into --out), which record nothing.
   */
  params: Record<string, unknown> | undefined;
  /** Skip files recorded as done with the same params (else such a file is refused). */
  skipDone?: boolean;
  /** Run files recorded as done again. */
  again?: boolean;
  /** The verb of the summary line, e.g. "brightened". */
  verb: string;
  /** One line for a finished file. */
  describe(report: R): string;
  /** Bytes a report counts, for the summary. */
  bytes(report: R): number;
}

interface DoneRecord {
  size: number;
  mtimeMs: number;
  params: string;
}

/**
 * The marker a run's record goes in: `done` for a whole-file run, `done.START-END` for a run over part of
 * the file (its `offset`/`length` params, a missing length meaning to the end).
 */
function doneMarker(params: string, size: number): string {
  const { offset, length } = JSON.parse(params) as { offset?: unknown; length?: unknown };
  const start = typeof offset === 'number' ? offset : 0;
  const end = typeof length === 'number' ? start + length : size;
  return start === 0 && end === size ? DONE_MARKER : `${DONE_MARKER}.${start}-${end}`;
}

/** Whether `path`, as it is now, carries the record of a finished run with `params`. */
function isDone(path: string, params: string): boolean {
  try {
    const stat = statSync(path);
    if (!stat.isFile()) return false;
    using file = MappedFile.open(path);
    const text = readMarker(file, doneMarker(params, stat.size));
    if (text === undefined) return false;
    const record = JSON.parse(text) as DoneRecord;
    return record.size === stat.size && record.mtimeMs === stat.mtimeMs && record.params === params;
  } catch {
    // No file, no access, or a record that does not parse: nothing counts as done.
    return false;
  }
}

/** Records on `path`, as it is now, that a run with `params` finished; false where nothing can be kept. */
function recordDone(path: string, params: string): boolean {
  using file = MappedFile.open(path);
  const stat = statSync(path);
  const record: DoneRecord = { size: stat.size, mtimeMs: stat.mtimeMs, params };
  return writeMarker(file, doneMarker(params, stat.size), JSON.stringify(record));
}

function alreadyDone(path: string): RawbrightError {
  return new RawbrightError(
    'ERR_ALREADY_DONE',
    `${path} was already changed by a run with these options (it says so itself, and has not changed since); use --skip-done to skip it or --again to run it again`,
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
        outcome = { path, status: 'skipped', reason: 'already done with these options' };
      } else {
        const report = await run(path);
        try {
          if (params !== undefined) recordDone(path, params);
        } catch (error) {
          process.stderr.write(
            `rawbright: could not record the finished run on ${path}: ${error instanceof Error ? error.message : error}\n`,
          );
        }
        bytes += options.bytes(report);
        line = options.describe(report);
        outcome = { path, status: 'done', report };
      }
    } catch (error) {
      if (errorCode(error) === 'ERR_ABORTED') throw error;
      const message = cliMessage(error instanceof Error ? error.message : String(error), runningCommand());
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
  // isTTY last: asking creates process.stderr (a pipe's socket, ~1 ms), which a quiet one-file run never needs.
  if (files.length > 1 && !options.quiet && process.stderr.isTTY) {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    process.stderr.write(
      `${options.verb} ${done} of ${files.length} files (${formatBytes(bytes)} in ${formatSeconds(seconds)}, ${formatRate(bytes, seconds)})` +
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
