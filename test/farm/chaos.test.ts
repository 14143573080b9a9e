/**
 * The farm's promise, quickly: 50 files, three workers on three hosts (network namespaces where the
 * machine allows), workers SIGKILLed at random and restarted, Redis killed and restarted once. Every
 * file ends byte-identical to the brighten computed here, every job done exactly once, none lost.
 * The long version is test/torture/farm.torture.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/raw.js';
import { chaos } from './harness.js';
import { createHosts, type Hosts } from './hosts.js';
import { type RedisServer, startRedis } from './redis.js';

const SEED = Number(process.env.RAWBRIGHT_FARM_SEED ?? Date.now() % 100_000);
const tmp = tempDir();
let hosts: Hosts;
let redis: RedisServer;

beforeAll(async () => {
  hosts = createHosts(3);
  redis = await startRedis(hosts.bind);
});
afterAll(async () => {
  await redis?.stop();
  hosts?.cleanup();
  tmp.cleanup();
});

describe(`a farm under fire (seed ${SEED})`, () => {
  it('50 files, workers killed at random, Redis restarted once: every file as expected, each job once', async () => {
    if (hosts.fallback !== null) console.log(`farm workers run as separate processes: ${hosts.fallback}`);
    const result = await chaos({
      dir: tmp.dir,
      hosts: hosts.hosts,
      redis,
      queue: 'chaos',
      files: 50,
      seed: SEED,
      killEvery: [600, 1800],
      redisRestarts: 1,
      deadline: 90_000,
    });
    console.log(
      `farm chaos: ${result.jobs} jobs, ${result.kills} kills, ${result.redisRestarts} Redis restart, ` +
        `${result.takenOver} jobs taken over, actions ${JSON.stringify(result.actions)}, completed by ${JSON.stringify(result.byHost)}`,
    );
    expect(result.unexpectedExits).toEqual([]);
    expect(result.lost).toEqual([]);
    expect(result.failed).toEqual([]);
    expect(result.wrongFiles).toEqual([]);
    expect(result.doneTwice).toEqual([]);
    expect(result.final.counts.completed).toBe(50);
    expect(result.redisRestarts).toBe(1);
    expect(result.kills).toBeGreaterThan(0);
    if (hosts.fallback === null) expect(Object.keys(result.byHost).length).toBeGreaterThan(1);
    // About 20 s here; the margin is for a machine busy with other tests.
  }, 120_000);
});
