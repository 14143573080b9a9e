/**
 * A real Redis for the farm tests: Debian's redis-server on a free loopback port (and on the hosts'
 * links, see hosts.ts), with a password, an append-only file in a temporary folder, and a restart that
 * keeps its data. A missing redis-server fails the tests with a message that says what to install.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

export interface RedisServer {
  port: number;
  password: string;
  /** The URL on loopback, and on another address Redis listens on. */
  url: string;
  urlOn(address: string): string;
  /** SIGKILL, then start again on the same port and data: what was acknowledged survives. */
  restart(downFor?: number): Promise<void>;
  stop(): Promise<void>;
}

function requireRedisServer(): void {
  const probe = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  if (probe.error !== undefined || probe.status !== 0) {
    throw new Error(
      'redis-server is not installed: the farm tests need a real Redis (Debian: apt-get install redis-server; .ci/debian-packages lists it)',
    );
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

async function waitReady(url: string, child: ChildProcess): Promise<void> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    for (let tries = 0; tries < 100; tries++) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}`);
      try {
        if (client.status !== 'ready') await client.connect();
        // Loading the append-only file answers LOADING until done.
        if ((await client.ping()) === 'PONG') return;
      } catch {
        client.disconnect();
      }
      await sleep(50);
    }
    throw new Error('redis-server did not answer within 5 s');
  } finally {
    client.disconnect();
  }
}

/** Starts a redis-server; `bind` adds addresses besides 127.0.0.1 (the hosts' links). */
export async function startRedis(bind: string[] = []): Promise<RedisServer> {
  requireRedisServer();
  const dir = mkdtempSync(join(tmpdir(), 'rawbright-redis-'));
  const password = randomBytes(12).toString('hex');
  let port = 0;
  let child: ChildProcess | undefined;
  const launch = () => {
    child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        ['127.0.0.1', ...bind].join(' '),
        '--requirepass',
        password,
        '--save',
        '',
        '--appendonly',
        'yes',
        '--dir',
        dir,
        '--logfile',
        join(dir, 'redis.log'),
      ],
      { stdio: 'ignore' },
    );
    return child;
  };
  const url = () => `redis://:${password}@127.0.0.1:${port}`;
  // A port found free can be taken before Redis binds it: try another.
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    const started = launch();
    try {
      await waitReady(url(), started);
      break;
    } catch (error) {
      started.kill('SIGKILL');
      if (attempt === 4) throw error;
    }
  }
  const exited = (c: ChildProcess) =>
    c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', r));
  return {
    port,
    password,
    url: url(),
    urlOn: (address) => `redis://:${password}@${address}:${port}`,
    async restart(downFor = 300) {
      const old = child!;
      old.kill('SIGKILL');
      await exited(old);
      await sleep(downFor);
      await waitReady(url(), launch());
    },
    async stop() {
      const last = child!;
      last.kill('SIGTERM');
      await exited(last);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
