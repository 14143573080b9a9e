/**
 * The farm under fire, the long version of test/farm/chaos.test.ts: hundreds of jobs (whole files and
 * ranges of files), four hosts, workers SIGKILLed every second or so and restarted, Redis killed and
 * restarted several times. Every file must end byte-identical to the expected brighten, each job done
 * exactly once (its record's `done` line), none failed or lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chaos } from '../farm/harness.js';
import { createHosts, type Hosts } from '../farm/hosts.js';
import { type RedisServer, startRedis } from '../farm/redis.js';
import { tempDir } from '../helpers/raw.js';
import { record } from './tally.js';

const SEED = Number(process.env.RAWBRIGHT_TORTURE_SEED ?? Date.now() % 1_000_000);
const tmp = tempDir();
let hosts: Hosts;
let redis: RedisServer;

beforeAll(async () => {
  hosts = createHosts(4);
  redis = await startRedis(hosts.bind);
});
afterAll(async () => {
  await redis?.stop();
  hosts?.cleanup();
  tmp.cleanup();
});

describe(`farm chaos (seed ${SEED})`, () => {
  it.each([
    ['one job at a time per worker', [], SEED],
    ['two jobs at a time per worker', ['--concurrency', '2'], SEED + 1],
  ] as const)('%s', async (name, workerArgs, seed) => {
    const result = await chaos({
      dir: tmp.dir,
      hosts: hosts.hosts,
      redis,
      queue: `torture-${seed}`,
      files: 300,
      splitFiles: 20,
      seed,
      killEvery: [300, 1000],
      redisRestarts: 3,
      workerArgs: [...workerArgs],
      deadline: 300_000,
    });
    const where =
      hosts.fallback === null ? '4 hosts (network namespaces)' : `4 processes (${hosts.fallback})`;
    const wrong =
      result.wrongFiles.length + result.doneTwice.length + result.failed.length + result.lost.length;
    record({
      what: `farm: workers SIGKILLed at random, Redis restarted, ${name}`,
      tried: result.jobs,
      survived: result.jobs - wrong,
      note: `${where}; ${result.kills} kills, ${result.redisRestarts} Redis restarts, ${result.takenOver} jobs taken over; ${JSON.stringify(result.actions)}`,
    });
    expect(result.unexpectedExits).toEqual([]);
    expect(result.lost).toEqual([]);
    expect(result.failed).toEqual([]);
    expect(result.wrongFiles).toEqual([]);
    expect(result.doneTwice).toEqual([]);
    expect(result.redisRestarts).toBe(3);
    expect(result.takenOver).toBeGreaterThan(0);
  });
});
