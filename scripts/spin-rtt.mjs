#!/usr/bin/env node
// The spin round trip against its floor, longer and better warmed up than `rawbright bench ipc`
// (issue #18): `node scripts/spin-rtt.mjs [rounds] [spin]` (default 20000 and 200 µs; run
// `npm run build` first). Two child processes of this script: first the floor (Atomics busy-spin on
// a word of a shared region, no Channel), then a Channel echo with `spin` on both sides, 64 B
// messages; each after 1000 untimed round trips. Prints the median and p99 of each, the load, and
// the CPUs the Channel's two processes last ran on.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Channel } from '../dist/shm/channel.js';
import { SharedMemory } from '../dist/shm/shared-memory.js';

const [mode, name, spinText] = process.argv.slice(2);
const WARM = 1000;

if (mode === 'floor-child') {
  const region = SharedMemory.open(name);
  const words = new Int32Array(region.buffer, 0, 2);
  process.send('ready');
  const parent = process.ppid;
  for (let last = 0, turns = 0; ; ) {
    const seen = Atomics.load(words, 0);
    // An orphan (the parent died) stops instead of spinning forever.
    if (seen === last) {
      if (++turns % (1 << 24) === 0 && process.ppid !== parent) break;
      continue;
    }
    if (seen === -1) break;
    Atomics.store(words, 1, seen);
    last = seen;
  }
  region.close();
  process.disconnect();
} else if (mode === 'channel-child') {
  const spin = Number(spinText);
  const requests = Channel.open(`${name}.req`);
  const replies = Channel.open(`${name}.rep`);
  process.send('ready');
  for (;;) {
    const message = await requests.receive({ spin });
    if (message.length === 1) break;
    await replies.send(message, { spin });
  }
  requests.close();
  replies.close();
  process.disconnect();
} else {
  const rounds = Number(process.argv[2] ?? 20000);
  const spin = Number(process.argv[3] ?? 200);
  const base = `rbspin-${process.pid}`;
  const ready = (child) => new Promise((resolve) => child.once('message', resolve));
  const exited = (child) => new Promise((resolve) => child.once('exit', resolve));
  const figures = (times) => {
    times.sort((a, b) => a - b);
    const at = (p) => times[Math.min(times.length - 1, Math.floor(times.length * p))].toFixed(2);
    return `median ${at(0.5)} µs, p99 ${at(0.99)} µs`;
  };
  // The CPU a process last ran on: field 39 of /proc/<pid>/stat (after the command's parenthesis).
  const lastCpu = (pid) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[36];
  };
  console.log(`1-min load ${loadavg()[0].toFixed(2)}, ${rounds} round trips of 64 B, spin ${spin} µs`);
  {
    const region = SharedMemory.create(`${base}-floor`, 64);
    const words = new Int32Array(region.buffer, 0, 2);
    const child = fork(process.argv[1], ['floor-child', region.name]);
    await ready(child);
    const times = [];
    for (let n = 1; n <= WARM + rounds; n++) {
      const start = performance.now();
      Atomics.store(words, 0, n);
      while (Atomics.load(words, 1) !== n) {}
      if (n > WARM) times.push((performance.now() - start) * 1000);
    }
    Atomics.store(words, 0, -1);
    await exited(child);
    region.close();
    console.log(`floor (Atomics busy-spin between two processes): ${figures(times)}`);
  }
  {
    const requests = Channel.create(`${base}.req`, { capacity: 1 << 16 });
    const replies = Channel.create(`${base}.rep`, { capacity: 1 << 16 });
    const child = fork(process.argv[1], ['channel-child', base, String(spin)]);
    await ready(child);
    const message = new Uint8Array(64).fill(1);
    const times = [];
    for (let i = 0; i < WARM + rounds; i++) {
      const start = performance.now();
      await requests.send(message, { spin });
      await replies.receive({ spin });
      if (i >= WARM) times.push((performance.now() - start) * 1000);
    }
    // Where the two processes ran last: the same CPU means they shared one core (each turn of the
    // round trip then waits for a sched_yield and a context switch, see the README).
    const cpus = [process.pid, child.pid].map(lastCpu);
    await requests.send(new Uint8Array(1));
    await exited(child);
    requests.close();
    replies.close();
    console.log(`Channel with spin: ${figures(times)} (last on CPUs ${cpus.join(' and ')})`);
  }
  console.log(`1-min load ${loadavg()[0].toFixed(2)} at the end`);
}
