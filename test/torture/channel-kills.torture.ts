// Channel under SIGKILL: producers and consumers (test/shm/channel-child.mjs) killed at random
// moments over many rounds. Nothing torn or duplicated, nothing committed lost beyond one message per
// killed receiver, and the queue never wedged.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { Channel } from '../../dist/shm/channel.js';

const CHILD = fileURLToPath(new URL('../shm/channel-child.mjs', import.meta.url));
const ROUNDS = Number(process.env.RAWBRIGHT_CHANNEL_KILL_ROUNDS ?? 40);

function child(...args: string[]): { process: ChildProcess; lines: string[]; done: Promise<unknown> } {
  const proc = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let pending = '';
  proc.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const parts = pending.split('\n');
    pending = parts.pop() ?? '';
    lines.push(...parts);
  });
  return { process: proc, lines, done: new Promise((resolve) => proc.on('close', resolve)) };
}

it(`${ROUNDS} rounds of two producers and two consumers killed at random moments`, async () => {
  using channel = Channel.create(`rbchkill-${process.pid}`, { capacity: 512 });
  const committed = new Set<string>();
  const received: { from: string; n: number; ok: boolean }[] = [];
  let receiverKills = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const producers = [
      child('send', channel.name, `p${round}a`, '300'),
      child('send', channel.name, `p${round}b`, '300'),
    ];
    const consumers = [child('recv', channel.name), child('recv', channel.name)];
    await new Promise((resolve) => setTimeout(resolve, 10 + Math.random() * 80));
    for (const p of producers) p.process.kill('SIGKILL');
    const killed = consumers.filter(() => Math.random() < 0.5);
    for (const c of killed) c.process.kill('SIGKILL');
    receiverKills += killed.length;
    await Promise.all(producers.map((p) => p.done));
    for (let i = 0; i < consumers.length - killed.length; i++)
      await channel.send('stop', { timeout: 20_000 });
    await Promise.all(consumers.map((c) => c.done));
    for (const p of producers) {
      const id = p.process.spawnargs[4];
      for (const line of p.lines) if (line.startsWith('sent ')) committed.add(`${id}:${line.slice(5)}`);
    }
    for (const c of consumers) for (const line of c.lines) received.push(JSON.parse(line));
  }
  for (let m = channel.tryReceive(); m !== undefined; m = channel.tryReceive()) {
    if (m === 'stop') continue;
    const message = m as { from: string; n: number; body: string };
    received.push({
      from: message.from,
      n: message.n,
      ok: message.body.startsWith(`${message.from}:${message.n}:`),
    });
  }
  expect(received.every((m) => m.ok)).toBe(true);
  const keys = received.map((m) => `${m.from}:${m.n}`);
  expect(new Set(keys).size).toBe(keys.length);
  const seen = new Set(keys);
  expect([...committed].filter((key) => !seen.has(key)).length).toBeLessThanOrEqual(receiverKills);
  await channel.send('alive', { timeout: 5000 });
  expect(await channel.receive({ timeout: 5000 })).toBe('alive');
}, 600_000);
