/**
 * Separate "machines" for farm workers: each in its own network namespace, joined to this one by a
 * veth pair, with its own host name (a UTS namespace), and reaching Redis over that link. The file
 * system is shared, as a farm's storage is. Where namespaces cannot be made (not root, no ip), the
 * workers are separate processes on this host, and `isolated` says why not.
 */
import { spawnSync } from 'node:child_process';

export interface Host {
  name: string;
  /** The address Redis listens on for this host (this side of its link). */
  redisAddress: string;
  /** The command that runs `argv` on this host. */
  command(argv: string[]): [string, string[]];
}

export interface Hosts {
  hosts: Host[];
  /** Addresses Redis must bind besides loopback. */
  bind: string[];
  /** Null when the hosts are namespaces; else why they are plain processes. */
  fallback: string | null;
  cleanup(): void;
}

function run(argv: string[]): { ok: boolean; error: string } {
  const result = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  return {
    ok: result.status === 0,
    error: result.error?.message ?? result.stderr.trim().split('\n')[0] ?? `exit ${result.status}`,
  };
}

export function createHosts(count: number): Hosts {
  const tag = (process.pid % 10000).toString(36);
  // A subnet per test process, so parallel test files do not collide.
  const subnet = 16 + (process.pid % 200);
  const made: string[] = [];
  const cleanup = () => {
    for (const ns of made) {
      run(['ip', 'link', 'del', `rbf${tag}h${made.indexOf(ns)}`]);
      run(['ip', 'netns', 'del', ns]);
    }
  };
  const hosts: Host[] = [];
  for (let i = 0; i < count; i++) {
    const ns = `rawbright-farm-${tag}-${i}`;
    const outside = `rbf${tag}h${i}`;
    const inside = `rbf${tag}n${i}`;
    const here = `10.${subnet}.${i}.1`;
    const there = `10.${subnet}.${i}.2`;
    const steps = [
      ['ip', 'netns', 'add', ns],
      ['ip', 'link', 'add', outside, 'type', 'veth', 'peer', 'name', inside],
      ['ip', 'link', 'set', inside, 'netns', ns],
      ['ip', 'addr', 'add', `${here}/30`, 'dev', outside],
      ['ip', 'link', 'set', outside, 'up'],
      ['ip', 'netns', 'exec', ns, 'ip', 'addr', 'add', `${there}/30`, 'dev', inside],
      ['ip', 'netns', 'exec', ns, 'ip', 'link', 'set', inside, 'up'],
      ['ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up'],
      ['ip', 'netns', 'exec', ns, 'unshare', '--uts', 'true'],
    ];
    for (const step of steps) {
      const result = run(step);
      if (step[2] === 'add' && step[1] === 'netns' && result.ok) made.push(ns);
      if (!result.ok) {
        cleanup();
        return {
          hosts: Array.from({ length: count }, (_, j) => ({
            name: `process-${j}`,
            redisAddress: '127.0.0.1',
            command: (argv) => [argv[0]!, argv.slice(1)],
          })),
          bind: [],
          fallback: `${step.join(' ')}: ${result.error}`,
          cleanup: () => {},
        };
      }
    }
    const name = `farm-host-${i}`;
    hosts.push({
      name,
      redisAddress: here,
      // ip netns exec, unshare and exec each replace the process: the pid is the worker's own.
      command: (argv) => [
        'ip',
        ['netns', 'exec', ns, 'unshare', '--uts', 'sh', '-c', `hostname ${name} && exec "$@"`, 'sh', ...argv],
      ],
    });
  }
  return { hosts, bind: hosts.map((h) => h.redisAddress), fallback: null, cleanup };
}
