/**
 * `rawbright bench ipc`: between two processes (or a worker thread), for 64 B, 4 KiB and 1 MiB
 * messages, over a Channel (sleeping, with spin, and `channel-view`: zero-copy, the sender writing
 * each message straight into its slot with sendWith() and the receiver reading it in place with a
 * receiveView() lease), process.send (Buffers, advanced serialization), a Unix domain socket and a
 * worker_threads MessagePort:
 * - latency: round trips one at a time (median, p99);
 * - throughput: a stream of messages sent back to back (pipelined, each transport's own flow
 *   control), the receiver counting them; timed from the first send until the receiver has
 *   answered a final "how many" message (which it reads after all the others, in order), the count
 *   checked. Messages per second and MB/s (10^6 bytes of payload, one direction), the median of
 *   three streams;
 * - the spin floor, measured right before channel-spin: two processes busy-waiting on Atomics.load of
 *   a word in a shared region, one storing the round's number, the other storing it back (no
 *   Channel, no lock, no copy, no promise), timed like the round trips. The channel-spin round trip
 *   at 64 B is reported next to it.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { RawbrightError } from '../errors.js';
import { Channel } from '../shm/channel.js';
import { SharedMemory } from '../shm/shared-memory.js';

const ECHO_SCRIPT = fileURLToPath(new URL('./ipc-echo.js', import.meta.url));
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
/** The spin (µs) of the channel-spin transport, on both sides. */
const IPC_SPIN_US = 200;
// The first byte of every message tells the peer what to do with it (see ipc-echo.ts).
const COUNT = 0;
const ECHO = 1;
const REPORT = 2;
const STREAMS = 3;

export interface IpcRow {
  transport: IpcTransport;
  bytes: number;
  rounds: number;
  medianUs: number;
  p99Us: number;
  /** Messages in each throughput stream. */
  streamed: number;
  /** Messages per second streamed one way (median of three streams). */
  messagesPerSecond: number;
  /** 10^6 bytes of payload per second streamed one way: messagesPerSecond × bytes / 10^6. */
  throughputMBps: number;
}

/** The Atomics busy-spin round trip between two processes, and the channel-spin one beside it. */
export interface SpinFigures {
  /** The floor: Atomics busy-spin round trips between two processes (µs). */
  floor: { rounds: number; medianUs: number; p99Us: number };
  /** channel-spin, 64 B (µs), from the rows. */
  channel: { medianUs: number; p99Us: number } | undefined;
  /** The spin each channel-spin side asks for (µs). */
  spinUs: number;
  /** The 1-minute load average when the floor was measured. */
  load: number;
}

export interface IpcResult {
  rows: IpcRow[];
  spin: SpinFigures;
}

interface Peer {
  roundTrip(message: Uint8Array): Promise<void>;
  /** Sends `count` messages (first byte COUNT) back to back, then asks for the count; returns it. */
  stream(message: Uint8Array, count: number): Promise<number>;
  close(): Promise<void>;
}

function readyOf(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('error', reject);
  });
}

function countOf(reply: Uint8Array): number {
  if (reply.length !== 5 || reply[0] !== REPORT) {
    throw new RawbrightError(
      'ERR_BENCH_IPC',
      'the IPC bench peer answered a count request with something else',
    );
  }
  return new DataView(reply.buffer, reply.byteOffset, 5).getUint32(1, true);
}

const REPORT_REQUEST = Uint8Array.of(REPORT);

async function channelPeer(spin: number, view = false): Promise<Peer> {
  const name = `rbbench-${process.pid}-${spin}${view ? 'v' : ''}`;
  const requests = Channel.create<Uint8Array>(`${name}.req`, { capacity: 4 << 20 });
  const replies = Channel.create<Uint8Array>(`${name}.rep`, { capacity: 4 << 20 });
  const child = fork(ECHO_SCRIPT, [view ? 'channel-view' : 'channel', name, String(spin)], {
    stdio: 'inherit',
  });
  await readyOf(child);
  // channel-view: one copy into the slot (the sender producing its message), none on the way out.
  const send = view
    ? (message: Uint8Array) => requests.sendWith(message.length, (slot) => slot.set(message), { spin })
    : (message: Uint8Array) => requests.send(message, { spin });
  return {
    async roundTrip(message) {
      await send(message);
      if (view) (await replies.receiveView({ spin })).release();
      else await replies.receive({ spin });
    },
    async stream(message, count) {
      for (let i = 0; i < count; i++) await send(message);
      await send(REPORT_REQUEST);
      if (!view) return countOf(await replies.receive({ spin }));
      using lease = await replies.receiveView({ spin });
      return countOf(lease.data);
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
  const child = fork(ECHO_SCRIPT, ['process'], { stdio: 'inherit', serialization: 'advanced' });
  await readyOf(child);
  const next = (): Promise<Uint8Array> =>
    new Promise((resolve) => child.once('message', (reply: Uint8Array) => resolve(reply)));
  // The writes not yet handed to the pipe: at most WINDOW queued, as a stream's flow control.
  const WINDOW = 8;
  return {
    async roundTrip(message) {
      const reply = next();
      child.send(Buffer.from(message.buffer, message.byteOffset, message.length));
      await reply;
    },
    async stream(message, count) {
      const buffer = Buffer.from(message.buffer, message.byteOffset, message.length);
      const inFlight: Promise<void>[] = [];
      for (let i = 0; i < count; i++) {
        if (inFlight.length >= WINDOW) await inFlight.shift();
        inFlight.push(new Promise((resolve) => child.send(buffer, undefined, undefined, () => resolve())));
      }
      const reply = next();
      child.send(Buffer.from(REPORT_REQUEST));
      return countOf(await reply);
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
  const child = fork(ECHO_SCRIPT, ['socket', path], { stdio: 'inherit' });
  const socket = await accepted;
  // Frames of the replies, joined once whole.
  let chunks: Buffer[] = [];
  let total = 0;
  let done: ((frame: Buffer) => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    total += chunk.length;
    while (total >= 4) {
      if (chunks[0]!.length < 4) chunks = [Buffer.concat(chunks, total)];
      const length = chunks[0]!.readUInt32LE(0);
      if (total < 4 + length) return;
      const joined = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
      const rest = joined.subarray(4 + length);
      chunks = rest.length > 0 ? [rest] : [];
      total = rest.length;
      const finish = done;
      done = undefined;
      finish?.(joined.subarray(4, 4 + length));
    }
  });
  const reply = (): Promise<Buffer> => new Promise((resolve) => (done = resolve));
  const write = async (message: Uint8Array): Promise<void> => {
    const header = Buffer.alloc(4);
    header.writeUInt32LE(message.length, 0);
    socket.write(header);
    if (!socket.write(message)) await new Promise((resolve) => socket.once('drain', resolve));
  };
  return {
    async roundTrip(message) {
      const answer = reply();
      await write(message);
      await answer;
    },
    async stream(message, count) {
      for (let i = 0; i < count; i++) await write(message);
      const answer = reply();
      await write(REPORT_REQUEST);
      return countOf(await answer);
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
    `const { parentPort } = require('node:worker_threads');
    let count = 0;
    parentPort.on('message', (m) => {
      if (m[0] === ${COUNT}) count++;
      else if (m[0] === ${ECHO}) parentPort.postMessage(m);
      else {
        const r = new Uint8Array(5);
        r[0] = ${REPORT};
        new DataView(r.buffer).setUint32(1, count, true);
        count = 0;
        parentPort.postMessage(r);
      }
    });`,
    { eval: true },
  );
  const next = (): Promise<Uint8Array> =>
    new Promise((resolve) => worker.once('message', (reply: Uint8Array) => resolve(reply)));
  return {
    async roundTrip(message) {
      const reply = next();
      worker.postMessage(message);
      await reply;
    },
    async stream(message, count) {
      // postMessage has no flow control: every message is cloned and queued at once.
      for (let i = 0; i < count; i++) worker.postMessage(message);
      const reply = next();
      worker.postMessage(REPORT_REQUEST);
      return countOf(await reply);
    },
    async close() {
      await worker.terminate();
    },
  };
}

/** Atomics busy-spin round trips with a child process: the floor under any spinning transport. */
async function measureSpinFloor(rounds: number): Promise<SpinFigures['floor']> {
  const name = `rbbench-${process.pid}-floor`;
  using region = SharedMemory.create(name, 64);
  const words = new Int32Array(region.buffer, 0, 2);
  const child = fork(ECHO_SCRIPT, ['atomics', name], { stdio: 'inherit' });
  await readyOf(child);
  const times: number[] = [];
  const warm = Math.min(1000, rounds);
  try {
    for (let n = 1; n <= warm + rounds; n++) {
      const start = process.hrtime.bigint();
      Atomics.store(words, 0, n);
      let turns = 0;
      while (Atomics.load(words, 1) !== n) {
        if (++turns % 4096 === 0 && Number(process.hrtime.bigint() - start) > 10e9) {
          throw new RawbrightError('ERR_BENCH_IPC', 'the spin floor peer stopped answering');
        }
      }
      if (n > warm) times.push(Number(process.hrtime.bigint() - start) / 1000);
    }
  } finally {
    Atomics.store(words, 0, -1);
    await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)));
  }
  times.sort((a, b) => a - b);
  return { rounds, medianUs: percentile(times, 0.5), p99Us: percentile(times, 0.99) };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;
}

function openPeer(transport: IpcTransport): Promise<Peer> {
  switch (transport) {
    case 'channel':
      return channelPeer(0);
    case 'channel-spin':
      return channelPeer(IPC_SPIN_US);
    case 'channel-view':
      return channelPeer(0, true);
    case 'process.send':
      return processPeer();
    case 'unix-socket':
      return socketPeer();
    default:
      return portPeer();
  }
}

/** Warm-up before a case's timed round trips: at most this long (ms), below 1 MiB. */
const WARM_UP_MS = 300;

/**
 * Untimed round trips first, so both sides run optimized code: 10 × `rounds` (stopping after
 * WARM_UP_MS) below 1 MiB, 50 at most for 1 MiB. With 50 only, the channel-spin 64 B round trip
 * measured 7-10 µs where 20,000 gave 3.3 µs (the spin path is a few µs of JavaScript).
 */
async function warmUp(peer: Peer, message: Uint8Array, bytes: number, rounds: number): Promise<void> {
  if (bytes >= 1 << 20) {
    for (let i = 0; i < Math.min(50, roundsFor(bytes, rounds)); i++) await peer.roundTrip(message);
    return;
  }
  const end = performance.now() + WARM_UP_MS;
  for (let i = 0; i < 10 * rounds && performance.now() < end; i++) await peer.roundTrip(message);
}

/** Round trips per case for a size: `rounds`, a twentieth of it (at least 20) for 1 MiB. */
function roundsFor(bytes: number, rounds: number): number {
  return bytes >= 1 << 20 ? Math.max(20, Math.floor(rounds / 20)) : rounds;
}

/** Messages per throughput stream: 5 × rounds for 64 B, 2 × for 4 KiB, a tenth (at least 20) for 1 MiB. */
export function streamedFor(bytes: number, rounds: number): number {
  return bytes >= 1 << 20 ? Math.max(20, Math.floor(rounds / 10)) : bytes >= 4096 ? 2 * rounds : 5 * rounds;
}

/**
 * Runs every transport and size (`rounds` [2000] sets how many round trips and streamed messages),
 * and the spin floor (right before channel-spin, `rounds` round trips).
 */
export async function runIpcBench(
  options: { rounds?: number; onProgress?: (line: string) => void } = {},
): Promise<IpcResult> {
  const rounds = options.rounds ?? 2000;
  const rows: IpcRow[] = [];
  let floor: SpinFigures['floor'] | undefined;
  let load = Number.NaN;
  for (const transport of IPC_TRANSPORTS) {
    if (transport === 'channel-spin') {
      options.onProgress?.('spin floor (Atomics busy-spin between two processes)');
      load = loadavg()[0] ?? Number.NaN;
      floor = await measureSpinFloor(rounds);
    }
    const peer = await openPeer(transport);
    try {
      for (const bytes of IPC_SIZES) {
        options.onProgress?.(`${transport} ${bytes} B`);
        const message = new Uint8Array(bytes).fill(7);
        message[0] = ECHO;
        const count = roundsFor(bytes, rounds);
        await warmUp(peer, message, bytes, rounds);
        const times: number[] = [];
        for (let i = 0; i < count; i++) {
          const start = process.hrtime.bigint();
          await peer.roundTrip(message);
          times.push(Number(process.hrtime.bigint() - start) / 1000);
        }
        times.sort((a, b) => a - b);
        const streamed = streamedFor(bytes, rounds);
        message[0] = COUNT;
        const rates: number[] = [];
        for (let run = 0; run < STREAMS; run++) {
          const start = process.hrtime.bigint();
          const received = await peer.stream(message, streamed);
          const seconds = Number(process.hrtime.bigint() - start) / 1e9;
          if (received !== streamed) {
            throw new RawbrightError(
              'ERR_BENCH_IPC',
              `${transport}: the receiver counted ${received} of ${streamed} streamed messages`,
            );
          }
          rates.push(streamed / seconds);
        }
        rates.sort((a, b) => a - b);
        const messagesPerSecond = percentile(rates, 0.5);
        rows.push({
          transport,
          bytes,
          rounds: count,
          medianUs: percentile(times, 0.5),
          p99Us: percentile(times, 0.99),
          streamed,
          messagesPerSecond,
          throughputMBps: (messagesPerSecond * bytes) / 1e6,
        });
      }
    } finally {
      await peer.close();
    }
  }
  const spinRow = rows.find((row) => row.transport === 'channel-spin' && row.bytes === IPC_SIZES[0]);
  return {
    rows,
    spin: {
      floor: floor ?? { rounds: 0, medianUs: Number.NaN, p99Us: Number.NaN },
      channel: spinRow === undefined ? undefined : { medianUs: spinRow.medianUs, p99Us: spinRow.p99Us },
      spinUs: IPC_SPIN_US,
      load,
    },
  };
}

function sizeText(bytes: number): string {
  return bytes >= 1 << 20 ? '1 MiB' : bytes >= 1024 ? `${bytes / 1024} KiB` : `${bytes} B`;
}

/**
 * The rows as an aligned text table, then for each size the Channel's throughput (the better of
 * channel and channel-view) against process.send's, then the spin round trip beside its floor.
 */
export function formatIpcBench(result: IpcResult): string {
  const { rows, spin } = result;
  const lines = ['transport      size      median µs     p99 µs    msgs/s       MB/s'];
  for (const row of rows) {
    lines.push(
      `${row.transport.padEnd(14)} ${sizeText(row.bytes).padEnd(8)} ${row.medianUs.toFixed(1).padStart(10)} ${row.p99Us
        .toFixed(1)
        .padStart(
          10,
        )} ${row.messagesPerSecond.toFixed(0).padStart(9)} ${row.throughputMBps.toFixed(1).padStart(10)}`,
    );
  }
  for (const ratio of throughputRatios(rows)) {
    lines.push(
      `${sizeText(ratio.bytes)}: ${ratio.transport} streams ${ratio.ratio.toFixed(2)}× the messages/s of process.send; round trip ${ratio.latencyRatio.toFixed(2)}× faster`,
    );
  }
  lines.push(formatSpin(spin));
  return lines.join('\n');
}

function formatSpin(spin: SpinFigures): string {
  const us = (value: number): string => value.toFixed(value < 10 ? 2 : 1);
  const channel =
    spin.channel === undefined
      ? 'channel-spin not measured'
      : `channel-spin (spin ${spin.spinUs} µs) median ${us(spin.channel.medianUs)} µs, p99 ${us(spin.channel.p99Us)} µs`;
  return `spin round trip, 64 B: ${channel}; floor (Atomics busy-spin between two processes) median ${us(spin.floor.medianUs)} µs, p99 ${us(spin.floor.p99Us)} µs; goal ≤ 2 µs; 1-min load ${spin.load.toFixed(2)}`;
}

/** Per size: the Channel transport with the most messages/s, over process.send's figures. */
export function throughputRatios(
  rows: readonly IpcRow[],
): { bytes: number; transport: IpcTransport; ratio: number; latencyRatio: number }[] {
  const result: { bytes: number; transport: IpcTransport; ratio: number; latencyRatio: number }[] = [];
  for (const bytes of new Set(rows.map((row) => row.bytes))) {
    const base = rows.find((row) => row.bytes === bytes && row.transport === 'process.send');
    const best = rows
      .filter((row) => row.bytes === bytes && row.transport.startsWith('channel'))
      .sort((a, b) => b.messagesPerSecond - a.messagesPerSecond)[0];
    if (base === undefined || best === undefined) continue;
    result.push({
      bytes,
      transport: best.transport,
      ratio: best.messagesPerSecond / base.messagesPerSecond,
      latencyRatio: base.medianUs / best.medianUs,
    });
  }
  return result;
}
