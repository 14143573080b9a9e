// A channel peer for test/shm/channel.test.ts, run against the built library.
//   send <name> <id> <count>  sends {from, n, body, sum} messages, printing "sent <n>" after each commit
//   lease <name>              leases one message with receiveView(), prints "leased <length>", then hangs
//   recv <name>               receives until a "stop" message, printing each message as a JSON line
import { Channel } from '../../dist/shm/channel.js';

const [mode, name, id, count] = process.argv.slice(2);
const channel = Channel.open(name);
const sum = (text) => [...text].reduce((a, c) => (a * 31 + c.charCodeAt(0)) >>> 0, 7);

if (mode === 'send') {
  for (let n = 0; n < Number(count); n++) {
    const body = `${id}:${n}:`.padEnd(5 + ((n * 37) % 300), 'x');
    await channel.send({ from: id, n, body, sum: sum(body) });
    process.stdout.write(`sent ${n}\n`);
  }
} else if (mode === 'lease') {
  const lease = await channel.receiveView();
  process.stdout.write(`leased ${lease.data.length}\n`);
  setInterval(() => {}, 1000);
} else {
  for (;;) {
    const message = await channel.receive();
    if (message === 'stop') break;
    process.stdout.write(
      `${JSON.stringify({ from: message.from, n: message.n, ok: sum(message.body) === message.sum })}\n`,
    );
  }
}
channel.close();
