/**
 * The peer of `rawbright bench ipc` (src/bench/ipc-bench.ts), run as a child process. The first byte
 * of every message says what to do with it: 0 count it (a streamed message, no reply), 1 echo it
 * back (a round trip), 2 answer with the count since the last 2 (4 bytes, little-endian, after a 2),
 * the end of a stream. Modes:
 *   channel <name> <spin>       messages of channel <name>.req, answers on <name>.rep (receive/send)
 *   channel-view <name> <spin>  the same in place: receiveView() leases, answers written with sendWith()
 *   process                     process.send messages (a 'stop' string ends it)
 *   socket <path>               length-prefixed frames on the Unix domain socket at <path>
 *   atomics <name>              the spin floor: busy-waits (Atomics.load) on word 0 of region <name>
 *                               for the parent's round number n, answers by storing n in word 1;
 *                               -1 ends it (and 10 s without a change)
 */
import { connect } from 'node:net';
import { Channel } from '../shm/channel.js';
import { SharedMemory } from '../shm/shared-memory.js';

const [mode, target, spinText] = process.argv.slice(2);
const COUNT = 0;
const ECHO = 1;
const REPORT = 2;

function report(count: number): Uint8Array {
  const bytes = new Uint8Array(5);
  bytes[0] = REPORT;
  new DataView(bytes.buffer).setUint32(1, count, true);
  return bytes;
}

if ((mode === 'channel' || mode === 'channel-view') && target !== undefined) {
  const spin = Number(spinText ?? 0);
  const requests = Channel.open<Uint8Array>(`${target}.req`);
  const replies = Channel.open<Uint8Array>(`${target}.rep`);
  process.send?.('ready');
  let count = 0;
  for (;;) {
    if (mode === 'channel') {
      const message = await requests.receive({ spin });
      if (message.length === 1 && message[0] === 255) break;
      if (message[0] === COUNT) count++;
      else if (message[0] === ECHO) await replies.send(message, { spin });
      else {
        await replies.send(report(count), { spin });
        count = 0;
      }
      continue;
    }
    const lease = await requests.receiveView({ spin });
    const { data } = lease;
    const kind = data[0];
    if (data.length === 1 && kind === 255) {
      lease.release();
      break;
    }
    if (kind === COUNT) {
      count++;
      lease.release();
      continue;
    }
    try {
      if (kind === ECHO) await replies.sendWith(data.length, (slot) => slot.set(data), { spin });
      else {
        const answer = report(count);
        count = 0;
        await replies.sendWith(answer.length, (slot) => slot.set(answer), { spin });
      }
    } finally {
      lease.release();
    }
  }
  requests.close();
  replies.close();
  process.disconnect?.();
} else if (mode === 'process') {
  let count = 0;
  process.on('message', (message: Uint8Array | string) => {
    if (message === 'stop') process.disconnect?.();
    else if (message[0] === COUNT) count++;
    else if (message[0] === ECHO) process.send?.(message);
    else {
      process.send?.(report(count));
      count = 0;
    }
  });
  process.send?.('ready');
} else if (mode === 'atomics' && target !== undefined) {
  const region = SharedMemory.open(target);
  const words = new Int32Array(region.buffer, 0, 2);
  process.send?.('ready');
  let last = 0;
  let since = performance.now();
  for (;;) {
    let seen = Atomics.load(words, 0);
    for (let turn = 0; seen === last && turn < 4096; turn++) seen = Atomics.load(words, 0);
    if (seen === last) {
      if (performance.now() - since > 10_000) break;
      continue;
    }
    if (seen === -1) break;
    Atomics.store(words, 1, seen);
    last = seen;
    since = performance.now();
  }
  region.close();
  process.disconnect?.();
} else if (mode === 'socket' && target !== undefined) {
  const socket = connect(target);
  // Chunks of the frame being read, joined once it is whole (one copy per frame, as a receiver
  // that wants each message contiguous makes).
  let chunks: Buffer[] = [];
  let total = 0;
  let count = 0;
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    total += chunk.length;
    for (;;) {
      if (total < 5) return;
      if (chunks[0]!.length < 5) chunks = [Buffer.concat(chunks, total)];
      const length = chunks[0]!.readUInt32LE(0);
      if (total < 4 + length) return;
      const joined = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
      const kind = joined[4];
      if (kind === COUNT) count++;
      else if (kind === ECHO) socket.write(joined.subarray(0, 4 + length));
      else {
        const frame = Buffer.alloc(9);
        frame.writeUInt32LE(5, 0);
        frame.set(report(count), 4);
        socket.write(frame);
        count = 0;
      }
      const rest = joined.subarray(4 + length);
      chunks = rest.length > 0 ? [rest] : [];
      total = rest.length;
    }
  });
  socket.on('end', () => socket.end());
}
