import fp from 'fastify-plugin';
import { Redis } from 'ioredis';
import type { Config } from '../../config/env.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Shared rate-limit state; undefined = in-process counters (one instance). */
    redis: Redis | undefined;
  }
}

export function createRedis({ url, timeoutMs }: NonNullable<Config['redis']>): Redis {
  return new Redis(url, {
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    // Fail fast while Redis is down instead of queueing commands past the request deadline.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    lazyConnect: false,
  });
}

export const redisPlugin = fp<{ config?: Config['redis']; redis?: Redis }>(
  async (app, opts) => {
    const redis = opts.redis ?? (opts.config ? createRedis(opts.config) : undefined);
    // ioredis reconnects by itself; log the outage once per error instead of crashing.
    redis?.on('error', (err) => app.log.warn({ err: { message: err.message } }, 'redis connection error'));
    app.decorate('redis', redis);
    if (redis && !opts.redis) app.addHook('onClose', async () => void redis.disconnect());
  },
  { name: 'redis' },
);
