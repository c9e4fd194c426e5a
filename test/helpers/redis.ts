import { Redis } from 'ioredis';
import RedisMock from 'ioredis-mock';
import { onTestFinished } from 'vitest';

/**
 * A Redis for rate-limit tests: the real server named by TEST_REDIS_URL (CI),
 * or, so that `npm test` needs nothing but Node.js, ioredis-mock, an in-process
 * Redis that runs the same Lua scripts. Instances of the mock share one dataset,
 * which is what two service instances sharing a Redis look like.
 */
export function testRedis(): Redis {
  const url = process.env.TEST_REDIS_URL;
  const redis = url ? new Redis(url) : (new RedisMock() as unknown as Redis);
  onTestFinished(async () => {
    redis.disconnect();
  });
  return redis;
}
