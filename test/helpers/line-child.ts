// A child process that reports its progress as lines on stdout, so a test can wait for each step.
import { type ChildProcess, spawn } from 'node:child_process';

export interface LineChild {
  process: ChildProcess;
  /** Resolves with the first stdout line that satisfies the test (or equals the text). */
  line(match: string | ((line: string) => boolean)): Promise<string>;
  /** Every stdout line so far. */
  lines(): string[];
  /** What the child wrote to stderr so far. */
  stderr(): string;
  /** Writes one line to the child's stdin. */
  send(line: string): void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the exit code once the child has exited and its stdout is all read (`lines()` is complete). */
  closed: Promise<number | null>;
}

export function startLineChild(command: string, args: string[], label = args.join(' ')): LineChild {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const listeners: Array<() => void> = [];
  let pending = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const parts = pending.split('\n');
    pending = parts.pop()!;
    lines.push(...parts);
    for (const listener of listeners) listener();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  // A child that exits early closes its stdin: a late send() must not fail the test by itself.
  child.stdin!.on('error', () => {});
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      resolve({ code, signal });
      for (const listener of listeners) listener();
    });
  });
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    process: child,
    exited,
    closed,
    lines: () => [...lines],
    stderr: () => stderr,
    send(line) {
      child.stdin!.write(`${line}\n`);
    },
    line(match) {
      const test = typeof match === 'string' ? (line: string) => line === match : match;
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = lines.find(test);
          if (found !== undefined) resolve(found);
          else if (child.exitCode !== null || child.signalCode !== null) {
            reject(
              new Error(
                `child ${label} ended (${child.exitCode ?? child.signalCode}) before "${match}": ${stderr}`,
              ),
            );
          }
        };
        listeners.push(check);
        check();
      });
    },
  };
}

/** SIGKILL, and wait until the child is gone (reaped). */
export async function killChild(child: LineChild): Promise<void> {
  if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
  await child.exited;
}

/** Sends one command line; resolves with the child's answer to it (its next line). */
export function askLine(child: LineChild, command: string): Promise<string> {
  const before = child.lines().length;
  child.send(command);
  return child.line(() => child.lines().length > before).then(() => child.lines()[before] as string);
}
