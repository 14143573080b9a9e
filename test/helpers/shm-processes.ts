// Children that run test/helpers/shm-child.mjs against the built library, and the checks shared by
// the shared-memory and serialize tests. Importing this registers a check that no region is left behind.
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, expect } from 'vitest';

const CHILD = fileURLToPath(new URL('./shm-child.mjs', import.meta.url));
export const PREFIX = `rbtest-${process.pid}-`;
let counter = 0;
export const uniqueName = () => `${PREFIX}${++counter}`;
export const shmPath = (name: string) => `/dev/shm/rawbright.${name}`;

export interface Child {
  process: ChildProcess;
  /** Resolves with the first stdout line that satisfies the test (or equals the text). */
  line(match: string | ((line: string) => boolean)): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startChild(command: string, name: string, ...args: (string | number)[]): Child {
  return startChildWith([], command, name, ...args);
}

export function startChildWith(
  nodeArgs: string[],
  command: string,
  name: string,
  ...args: (string | number)[]
): Child {
  const child = spawn(process.execPath, [...nodeArgs, CHILD, command, name, ...args.map(String)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
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
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      resolve({ code, signal });
      for (const listener of listeners) listener();
    });
  });
  return {
    process: child,
    exited,
    line(match) {
      const test = typeof match === 'string' ? (line: string) => line === match : match;
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = lines.find(test);
          if (found !== undefined) resolve(found);
          else if (child.exitCode !== null || child.signalCode !== null) {
            reject(
              new Error(
                `child ${command} ended (${child.exitCode ?? child.signalCode}) before "${match}": ${stderr}`,
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

export async function kill(child: Child): Promise<void> {
  child.process.kill('SIGKILL');
  await child.exited;
}

export async function rejection(promise: Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('expected a rejection');
}

export function thrown(call: () => unknown): { code?: string; message: string; name: string } {
  try {
    call();
  } catch (error) {
    return error as { code?: string; message: string; name: string };
  }
  throw new Error('expected an error');
}

afterAll(() => {
  // Every test uses names with this process's prefix; none may be left behind.
  expect(readdirSync('/dev/shm').filter((file) => file.startsWith(`rawbright.${PREFIX}`))).toEqual([]);
});
