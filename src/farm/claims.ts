/**
 * A check that file locks exclude other machines, through Redis. A worker that holds a file's record
 * lock also holds a claim on the file in Redis (a key that expires unless its holder renews it). A
 * worker granted the lock while another live worker keeps its claim has proved that the storage's
 * locks are local to each machine (NFS mounted with `local_lock`, say): it refuses to go on.
 *
 * A claim left by a killed worker expires within its time to live; the lock's new holder waits that
 * long before it concludes anything.
 */
import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { RawbrightError } from '../errors.js';
import { WORKER_NAME } from './record.js';

const RENEW =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0";
const RELEASE =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";

/** The Redis key of a file's claim in a queue. */
export function claimKey(queue: string, path: string): string {
  return `rawbright:farm:${queue}:claim:${createHash('sha256').update(path).digest('hex').slice(0, 32)}`;
}

/**
 * Claims for one worker.
 * @param ttl How long a claim outlives its holder, in milliseconds.
 */
export function redisClaims(
  client: Redis,
  queue: string,
  ttl: number,
): (path: string) => Promise<() => Promise<void>> {
  return async (path) => {
    const key = claimKey(queue, path);
    const token = `${WORKER_NAME}:${randomUUID()}`;
    // A killed holder's claim is gone after ttl; one still there well after that is renewed by a live holder.
    const deadline = Date.now() + 2 * ttl + 500;
    for (;;) {
      if ((await client.set(key, token, 'PX', ttl, 'NX')) === 'OK') break;
      if (Date.now() > deadline) {
        const holder = (await client.get(key)) ?? 'another worker';
        throw new RawbrightError(
          'ERR_FARM_LOCKS_BROKEN',
          `this worker holds the lock on ${path}, and so does ${holder.replace(/:[^:]*$/, '')}: the storage's file locks do not work across machines (on NFS, use version 4 without local_lock)`,
          { path },
        );
      }
      await sleep(Math.min(250, ttl / 4));
    }
    const renew = setInterval(() => {
      client.eval(RENEW, 1, key, token, ttl).catch(() => {});
    }, ttl / 3);
    return async () => {
      clearInterval(renew);
      // Not awaited: with Redis away, the claim simply expires, and the file's lock must not wait for it.
      client.eval(RELEASE, 1, key, token).catch(() => {});
    };
  };
}
