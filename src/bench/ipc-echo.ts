/**
 * The echo peer of `rawbright bench ipc` (src/bench/ipc-bench.ts), run as a child process:
 *   channel <name>   answers every message of channel <name>.req on <name>.rep (spin: argv[4] µs)
 *   channel-view <name>  the same, reading each request in place and writing it straight into the reply slot
 *   process          answers every process.send message
 *   socket <path>    answers every length-prefixed frame on the Unix domain socket at <path>
 */
import { connect } from 'node:net';
import { Channel } from '../shm/channel.js';

const [mode, target, spinText] = process.argv.slice(2);

if (mode === 'channel' && target !== undefined) {
  const spin = Number(spinText ?? 0);
  const requests = Channel.open<Uint8Array>(`${target}.req`);
  const replies = Channel.open<Uint8Array>(`${target}.rep`);
  process.send?.('ready');
  for (;;) {
    const message = await requests.receive({ spin });
    if (message.length === 1 && message[0] === 255) break;
    await replies.send(message);
  }
  requests.close();
  replies.close();
  process.disconnect?.();
} else if (mode === 'channel-view' && target !== undefined) {
  const spin = Number(spinText ?? 0);
  const requests = Channel.open<Uint8Array>(`${target}.req`);
  const replies = Channel.open<Uint8Array>(`${target}.rep`);
  process.send?.('ready');
  for (;;) {
    const lease = await requests.receiveView({ spin });
    const { data } = lease;
    if (data.length === 1 && data[0] === 255) {
      lease.release();
      break;
    }
    try {
      await replies.sendWith(data.length, (slot) => slot.set(data));
    } finally {
      lease.release();
    }
  }
  requests.close();
  replies.close();
  process.disconnect?.();
} else if (mode === 'process') {
  process.on('message', (message) => {
    if (message === 'stop') process.disconnect?.();
    else process.send?.(message);
  });
  process.send?.('ready');
} else if (mode === 'socket' && target !== undefined) {
  const socket = connect(target);
  let pending: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const length = pending.readUInt32LE(0);
      if (pending.length < 4 + length) break;
      socket.write(pending.subarray(0, 4 + length));
      pending = pending.subarray(4 + length);
    }
  });
  socket.on('end', () => socket.end());
}
