/**
 * Counts what the torture suite tried and what survived, across its test files, and prints the table
 * at the end (the README's Reliability table comes from it). Files record with {@link record}; the
 * counts live in a temporary folder named by RAWBRIGHT_TORTURE_TALLY, set up here as vitest's global setup.
 */
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TallyRow {
  /** What was tried, e.g. "kill -9, in place, mmap, 1 worker". */
  what: string;
  tried: number;
  /** Of those, how many ended as required (identical bytes, clean refusal, …). */
  survived: number;
  /** A short note: what "survived" means here, or why a case was skipped. */
  note?: string;
}

/** Adds a row (rows with the same `what` are summed). Does nothing outside `npm run torture`. */
export function record(row: TallyRow): void {
  const dir = process.env.RAWBRIGHT_TORTURE_TALLY;
  if (dir === undefined) return;
  appendFileSync(join(dir, `${process.pid}.jsonl`), `${JSON.stringify(row)}\n`);
}

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'rawbright-tally-'));
  process.env.RAWBRIGHT_TORTURE_TALLY = dir;
  return () => {
    const rows = new Map<string, TallyRow>();
    for (const name of readdirSync(dir)) {
      for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
        if (line === '') continue;
        const row = JSON.parse(line) as TallyRow;
        const seen = rows.get(row.what);
        if (seen === undefined) rows.set(row.what, { ...row });
        else {
          seen.tried += row.tried;
          seen.survived += row.survived;
          if (row.note !== undefined && seen.note !== row.note) seen.note = row.note;
        }
      }
    }
    rmSync(dir, { recursive: true, force: true });
    const lines = ['| case | tried | survived | note |', '| --- | ---: | ---: | --- |'];
    for (const row of rows.values()) {
      lines.push(`| ${row.what} | ${row.tried} | ${row.survived} | ${row.note ?? ''} |`);
    }
    process.stdout.write(`\nrawbright torture tally\n\n${lines.join('\n')}\n\n`);
  };
}
