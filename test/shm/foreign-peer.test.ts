// Foreign peers on a Channel: a C program built from native/include/rawbright_ipc.h and a Python
// program (standard library only) echo messages back to Node, each byte plus one. The sizes put
// both kinds of record in Node's requests: 4 after a skip marker (layout version 2) and 2 that wrap.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Channel } from '../../dist/shm/channel.js';

const C_PEER = fileURLToPath(new URL('./c-peer.c', import.meta.url));
const PY_PEER = fileURLToPath(new URL('./py-peer.py', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'rb-peer-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let counter = 0;
const uniqueName = () => `rbpeer-${process.pid}-${++counter}`;

function run(command: string, args: string[]): Promise<number | null> {
  const proc = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  return new Promise((resolve) => proc.on('close', (code) => resolve(code)));
}

async function exchange(command: string, args: (name: string) => string[]): Promise<void> {
  const name = uniqueName();
  using requests = Channel.create<Uint8Array>(`${name}.req`, { capacity: 4096 });
  using replies = Channel.create<Uint8Array>(`${name}.rep`, { capacity: 4096 });
  const sizes = [0, 1, 3, 64, 1000, 3000, 4092, 17, 2048, 5];
  const peer = run(command, args(name).concat(String(sizes.length * 3)));
  for (let round = 0; round < 3; round++) {
    for (const [i, size] of sizes.entries()) {
      const message = Uint8Array.from({ length: size }, (_, j) => (j * 7 + i + round) & 255);
      await requests.send(message, { timeout: 20_000 });
      const reply = await replies.receive({ timeout: 20_000 });
      expect(reply).toBeInstanceOf(Uint8Array);
      expect(Buffer.from(reply).equals(Buffer.from(message.map((b) => (b + 1) & 255)))).toBe(true);
    }
  }
  expect(await peer).toBe(0);
}

describe('foreign peers', () => {
  it('a C peer built from the header exchanges messages of every size, wrapping the ring', async () => {
    const binary = join(work, 'c-peer');
    const build = spawnSync('cc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', binary, C_PEER], {
      encoding: 'utf8',
    });
    expect(build.stderr).toBe('');
    expect(existsSync(binary)).toBe(true);
    await exchange(binary, (name) => [name]);
  });

  it('a Python peer (mmap, ctypes, fcntl) exchanges messages of every size, wrapping the ring', async () => {
    await exchange('python3', (name) => [PY_PEER, name]);
  });

  it('an attached peer keeps the names alive when every Node user closes; the last Node user after it removes them', async () => {
    const binary = join(work, 'c-peer-life');
    const build = spawnSync('cc', ['-O2', '-o', binary, C_PEER], { encoding: 'utf8' });
    expect(build.status).toBe(0);
    for (const [command, args] of [
      [binary, [] as string[]],
      ['python3', [PY_PEER]],
    ] as const) {
      const name = uniqueName();
      let requests = Channel.create<Uint8Array>(`${name}.req`, { capacity: 4096 });
      let replies = Channel.create<Uint8Array>(`${name}.rep`, { capacity: 4096 });
      const peer = run(command, [...args, name, '2']);
      await requests.send(Uint8Array.of(1, 2), { timeout: 20_000 });
      expect(Array.from(await replies.receive({ timeout: 20_000 }))).toEqual([2, 3]);
      // The peer is attached (LOCK_SH): closing every Node handle leaves the names in place.
      const paths = [requests.path, replies.path];
      requests.close();
      replies.close();
      expect(paths.map((path) => existsSync(path))).toEqual([true, true]);
      requests = Channel.open<Uint8Array>(`${name}.req`);
      replies = Channel.open<Uint8Array>(`${name}.rep`);
      await requests.send(Uint8Array.of(9), { timeout: 20_000 });
      expect(Array.from(await replies.receive({ timeout: 20_000 }))).toEqual([10]);
      expect(await peer).toBe(0);
      // The peer has left: the last Node user removes the names as it closes.
      requests.close();
      replies.close();
      expect(paths.map((path) => existsSync(path))).toEqual([false, false]);
    }
  });
});
