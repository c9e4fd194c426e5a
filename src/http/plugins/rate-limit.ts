import rateLimit from '@fastify/rate-limit';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../../config/env.js';
import { AppError, errors } from '../../errors.js';

export interface RateLimitDecision {
  limit: number;
  remaining: number;
  resetMs: number;
}

export interface RateLimiters {
  /** Counts a request for an authenticated key; throws 429 when over the limit. */
  consumeKey(request: FastifyRequest, keyId: string): Promise<RateLimitDecision>;
  /** Counts a failed authentication for the client IP; throws 429 once the IP is over its limit. */
  countAuthFailure(request: FastifyRequest): Promise<void>;
}

declare module 'fastify' {
  interface FastifyInstance {
    rateLimiters: RateLimiters;
  }
  interface FastifyRequest {
    apiKeyId?: string;
  }
}

/**
 * Both limits use @fastify/rate-limit's stores (in-process LRU, or Redis when
 * configured so that several instances share counters) through `createRateLimit`,
 * called explicitly from the route: the per-key limit must run after
 * authentication, and the per-IP limit only counts failed authentications, which
 * the plugin's hooks cannot express.
 */
export const rateLimitPlugin = fp<{ config: Config['rateLimit'] }>(
  async (app, { config }) => {
    await app.register(rateLimit, {
      global: false,
      redis: app.redis,
      nameSpace: 'avatar-rl:',
      // A store error must not let traffic through unlimited: it becomes a 503.
      skipOnError: false,
    });

    const perKey = app.createRateLimit({
      max: config.max,
      timeWindow: config.windowMs,
      keyGenerator: (request) => `key:${request.apiKeyId}`,
    });
    const perIpFailures = app.createRateLimit({
      max: config.authFailureMax,
      timeWindow: config.authFailureWindowMs,
      // The plugin's default key: the client IP, IPv6 grouped by /64.
    });

    const limited = async <T>(fn: () => Promise<T>) => {
      try {
        return await fn();
      } catch (err) {
        if (err instanceof AppError) throw err;
        throw errors.dependencyUnavailable('rate limiter', err);
      }
    };

    app.decorate('rateLimiters', {
      consumeKey: (request, keyId) =>
        limited(async () => {
          request.apiKeyId = keyId;
          const result = await perKey(request);
          if (result.isAllowed) return { limit: config.max, remaining: config.max, resetMs: config.windowMs };
          if (result.isExceeded) throw errors.rateLimited(result.ttl);
          return { limit: result.max, remaining: result.remaining, resetMs: result.ttl };
        }),
      countAuthFailure: (request) =>
        limited(async () => {
          const result = await perIpFailures(request);
          if (!result.isAllowed && result.isExceeded) throw errors.rateLimited(result.ttl);
        }),
    } satisfies RateLimiters);
  },
  { name: 'rate-limiters', dependencies: ['redis'] },
);
