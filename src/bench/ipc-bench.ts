/**
 * `rawbright bench ipc`: round-trip latency (median, p99) between two processes (or a worker thread)
 * for 64 B, 4 KiB and 1 MiB messages, over a Channel (sleeping, with spin, and zero-copy: receiveView
 * leases read in place, the echo writing them straight into its reply slot), process.send, a
 * Unix domain socket and a worker_threads MessagePort. Throughput is the bytes a round trip carries
 * both ways over its median time.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { Channel } from '../shm/channel.js';

const ECHO = fileURLToPath(new URL('./ipc-echo.js', import.meta.url));
export const IPC_SIZES = [64, 4096, 1 << 20] as const;
export const IPC_TRANSPORTS = [
  'channel',
  'channel-spin',
  'channel-view',
  'process.send',
  'unix-socket',
  'message-port',
] as const;
export type IpcTransport = (typeof IPC_TRANSPORTS)[number];

export interface IpcRow {
  transport: IpcTransport;
  bytes: number;
  rounds: number;
  medianUs: number;
  p99Us: number;
  /** MB/s: 2 × bytes per median round trip. */
  throughputMBps: number;
}

interface Peer {
  roundTrip(message: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

function readyOf(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('error', reject);
  });
}

async function channelPeer(spin: number, view = false): Promise<Peer> {
  const name = `rbbench-${process.pid}-${spin}${view ? 'v' : ''}`;
  const requests = Channel.create<Uint8Array>(`${name}.req`, { capacity: 4 << 20 });
  const replies = Channel.create<Uint8Array>(`${name}.rep`, { capacity: 4 << 20 });
  const child = fork(ECHO, [view ? 'channel-view' : 'channel', name, String(spin)], { stdio: 'inherit' });
  await readyOf(child);
  return {
    async roundTrip(message) {
      await requests.send(message, { spin });
      if (view) (await replies.receiveView({ spin })).release();
      else await replies.receive({ spin });
    },
    async close() {
      await requests.send(new Uint8Array([255]));
      await new Promise((resolve) => child.once('exit', resolve));
      requests.close();
      replies.close();
    },
  };
}

async function processPeer(): Promise<Peer> {
  const child = fork(ECHO, ['process'], { stdio: 'inherit', serialization: 'advanced' });
  await readyOf(child);
  return {
    roundTrip(message) {
      return new Promise((resolve) => {
        child.once('message', () => resolve());
        child.send(message);
      });
    },
    async close() {
      child.send('stop');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

async function socketPeer(): Promise<Peer> {
  const dir = mkdtempSync(join(tmpdir(), 'rb-ipc-'));
  const path = join(dir, 'echo.sock');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(path, resolve));
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const child = fork(ECHO, ['socket', path], { stdio: 'inherit' });
  const socket = await accepted;
  let want = 0;
  let got = 0;
  let done: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    got += chunk.length;
    if (got >= want && done !== undefined) {
      const finish = done;
      done = undefined;
      finish();
    }
  });
  return {
    roundTrip(message) {
      return new Promise((resolve) => {
        want = 4 + message.length;
        got = 0;
        done = resolve;
        const header = Buffer.alloc(4);
        header.writeUInt32LE(message.length, 0);
        socket.write(header);
        socket.write(message);
      });
    },
    async close() {
      socket.end();
      await new Promise((resolve) => child.once('exit', resolve));
      server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function portPeer(): Promise<Peer> {
  const worker = new Worker(
    "const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => parentPort.postMessage(m));",
    { eval: true },
  );
  return {
    roundTrip(message) {
      return new Promise((resolve) => {
        worker.once('message', () => resolve());
        worker.postMessage(message);
      });
    },
    async close() {
      await worker.terminate();
    },
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

/** Runs every transport and size; `rounds` round trips per case for small messages (fewer for 1 MiB). */
export async function runIpcBench(
  options: { rounds?: number; onProgress?: (line: string) => void } = {},
): Promise<IpcRow[]> {
  const rounds = options.rounds ?? 2000;
  const rows: IpcRow[] = [];
  for (const transport of IPC_TRANSPORTS) {
    const peer =
      transport === 'channel'
        ? await channelPeer(0)
        : transport === 'channel-spin'
          ? await channelPeer(200)
          : transport === 'channel-view'
            ? await channelPeer(0, true)
            : transport === 'process.send'
              ? await processPeer()
              : transport === 'unix-socket'
                ? await socketPeer()
                : await portPeer();
    try {
      for (const bytes of IPC_SIZES) {
        options.onProgress?.(`${transport} ${bytes} B`);
        const message = new Uint8Array(bytes).fill(7);
        const count = bytes >= 1 << 20 ? Math.max(20, Math.floor(rounds / 20)) : rounds;
        for (let i = 0; i < Math.min(50, count); i++) await peer.roundTrip(message);
        const times: number[] = [];
        for (let i = 0; i < count; i++) {
          const start = process.hrtime.bigint();
          await peer.roundTrip(message);
          times.push(Number(process.hrtime.bigint() - start) / 1000);
        }
        times.sort((a, b) => a - b);
        const medianUs = percentile(times, 0.5);
        rows.push({
          transport,
          bytes,
          rounds: count,
          medianUs,
          p99Us: percentile(times, 0.99),
          throughputMBps: (2 * bytes) / medianUs,
        });
      }
    } finally {
      await peer.close();
    }
  }
  return rows;
}

/** The rows as an aligned text table. */
export function formatIpcBench(rows: readonly IpcRow[]): string {
  const lines = ['transport      size       median µs     p99 µs    MB/s'];
  for (const row of rows) {
    const size =
      row.bytes >= 1 << 20 ? '1 MiB' : row.bytes >= 1024 ? `${row.bytes / 1024} KiB` : `${row.bytes} B`;
    lines.push(
      `${row.transport.padEnd(14)} ${size.padEnd(8)} ${row.medianUs.toFixed(1).padStart(11)} ${row.p99Us
        .toFixed(1)
        .padStart(10)} ${row.throughputMBps.toFixed(0).padStart(7)}`,
    );
  }
  return lines.join('\n');
}
