// Request/response over channels (src/shm/rpc.ts): in one process and with a server in a child process.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Channel } from '../../dist/shm/channel.js';
import { Requester, serve } from '../../dist/shm/rpc.js';

const SERVER = fileURLToPath(new URL('./rpc-child.mjs', import.meta.url));
const PREFIX = `rbrpc-${process.pid}-`;
let counter = 0;
const uniqueName = () => `${PREFIX}${++counter}`;

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? code : (error as Error).name;
  }
}

describe('request/response over channels', () => {
  it('matches concurrent replies to their requests, carries handler errors, times out', async () => {
    using requests = Channel.create(uniqueName(), { capacity: 1 << 16 });
    const server = serve<{ n: number; slow?: number }, number>(requests, async ({ n, slow }) => {
      if (slow !== undefined) await new Promise((resolve) => setTimeout(resolve, slow));
      if (n < 0) throw Object.assign(new Error('negative'), { code: 'E_NEG' });
      return n * 2;
    });
    using requester = new Requester(requests);
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, n) => requester.request<number>({ n }, { timeout: 5000 })),
    );
    expect(answers).toEqual(Array.from({ length: 50 }, (_, n) => n * 2));
    const failed = requester.request({ n: -1 }, { timeout: 5000 });
    await expect(failed).rejects.toMatchObject({
      code: 'ERR_REMOTE',
      message: 'the server failed (E_NEG): negative',
    });
    expect(await codeOf(requester.request({ n: 1, slow: 300 }, { timeout: 50 }))).toBe('ETIMEDOUT');
    // The late reply is dropped, and the next request gets its own answer.
    expect(await requester.request({ n: 21 }, { timeout: 5000 })).toBe(42);
    const controller = new AbortController();
    const aborted = requester.request({ n: 1, slow: 200 }, { signal: controller.signal });
    controller.abort(new Error('stop'));
    await expect(aborted).rejects.toThrow('stop');
    server.stop();
    await server.done;
    const pending = requester.request({ n: 3 });
    requester.close();
    expect(await codeOf(pending)).toBe('ERR_CLOSED');
    expect(await codeOf(requester.request({ n: 3 }))).toBe('ERR_CLOSED');
  });

  it('two requesters in this process and a server in another process each get their own replies', async () => {
    const name = uniqueName();
    using requests = Channel.create(name, { capacity: 1 << 16 });
    const proc = spawn(process.execPath, [SERVER, name, '40'], { stdio: ['ignore', 'inherit', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => proc.on('close', resolve));
    try {
      using a = new Requester(requests);
      using b = new Requester(requests);
      const [fromA, fromB] = await Promise.all([
        Promise.all(Array.from({ length: 20 }, (_, i) => a.request({ who: 'a', i }, { timeout: 10_000 }))),
        Promise.all(Array.from({ length: 20 }, (_, i) => b.request({ who: 'b', i }, { timeout: 10_000 }))),
      ]);
      expect(fromA).toEqual(Array.from({ length: 20 }, (_, i) => ({ echo: 'a', i, pid: proc.pid })));
      expect(fromB).toEqual(Array.from({ length: 20 }, (_, i) => ({ echo: 'b', i, pid: proc.pid })));
      expect(await exited).toBe(0);
    } finally {
      proc.kill('SIGKILL');
    }
  });

  it('refuses what is not a channel or a function', () => {
    expect(() => serve({} as never, () => 1)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    using requests = Channel.create(uniqueName(), { capacity: 1024 });
    expect(() => serve(requests, 5 as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(() => new Requester('x' as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
  });
});
