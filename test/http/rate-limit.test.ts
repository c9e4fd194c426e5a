import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { describe, expect, it } from 'vitest';
import { buildTestApp, useTestServices } from '../helpers/app.js';
import { jpeg } from '../helpers/images.js';
import { avatarForm } from '../helpers/multipart.js';
import { testRedis } from '../helpers/redis.js';
import { adminTarget, avatarPath, bearer, postAvatar, seedOrg } from '../helpers/seed.js';

const services = useTestServices();

function expectRateLimited(res: LightMyRequestResponse) {
  expect(res.statusCode).toBe(429);
  const body = res.json();
  expect(Object.keys(body.error).sort()).toEqual(['detail', 'retryAfterMs', 'title']);
  expect(body.error.title).toBe('RateLimitExceeded');
  expect(typeof body.error.retryAfterMs).toBe('number');
  expect(body.error.retryAfterMs).toBeGreaterThan(0);
  const retryAfter = Number(res.headers['retry-after']);
  expect(retryAfter).toBe(Math.ceil(body.error.retryAfterMs / 1000));
}

describe('429: per-key rate limit', () => {
  it('lets RATE_LIMIT_MAX uploads through, then refuses without storing', async () => {
    const seed = await seedOrg(services.db);
    const { app } = await buildTestApp(services, {
      env: { RATE_LIMIT_MAX: '2', RATE_LIMIT_WINDOW_MS: '60000' },
    });
    const send = async (colour: number) => {
      const form = avatarForm(await jpeg(16, 16, colour));
      return postAvatar(app, adminTarget(seed), form);
    };
    const first = await send(1);
    expect(first.statusCode).toBe(200);
    expect(first.headers['x-ratelimit-limit']).toBe('2');
    expect(first.headers['x-ratelimit-remaining']).toBe('1');
    const second = await send(2);
    expect(second.statusCode).toBe(200);
    const before = await services.db.user.findUniqueOrThrow({ where: { id: seed.embedded.id } });

    const third = await send(3);
    expectRateLimited(third);
    const after = await services.db.user.findUniqueOrThrow({ where: { id: seed.embedded.id } });
    expect(after.avatarUrl).toBe(before.avatarUrl);
    expect(await services.bucket.listKeys(`embedded-users/${seed.embedded.id}/`)).toHaveLength(1);
  });

  it('counts keys separately', async () => {
    const seed = await seedOrg(services.db);
    const other = await seedOrg(services.db);
    const { app } = await buildTestApp(services, { env: { RATE_LIMIT_MAX: '1' } });
    const send = async (s: typeof seed) => {
      const form = avatarForm(await jpeg());
      return postAvatar(app, adminTarget(s), form);
    };
    expect((await send(seed)).statusCode).toBe(200);
    expect((await send(seed)).statusCode).toBe(429);
    expect((await send(other)).statusCode).toBe(200);
  });

  it('429 comes before 404: a limited key gets 429 even for a user it cannot manage', async () => {
    const seed = await seedOrg(services.db);
    const { app } = await buildTestApp(services, { env: { RATE_LIMIT_MAX: '1' } });
    const send = () =>
      app.inject({
        method: 'POST',
        url: avatarPath(seed.org.id, seed.member.id),
        headers: bearer(seed.adminKey.key),
      });
    expect((await send()).statusCode).toBe(404);
    expectRateLimited(await send());
  });
});

describe('429: per-IP limit on failed authentication', () => {
  it('turns 401 into 429 past the limit, but never refuses a valid key', async () => {
    const seed = await seedOrg(services.db);
    const { app } = await buildTestApp(services, { env: { AUTH_FAILURE_LIMIT_MAX: '3' } });
    const attempt = (key: string) =>
      app.inject({
        method: 'POST',
        url: avatarPath(seed.org.id, seed.member.id),
        headers: bearer(key),
        remoteAddress: '198.51.100.7',
      });
    const wrong = `bd_key_${'B'.repeat(40)}`;
    for (let i = 0; i < 3; i++) expect((await attempt(wrong)).statusCode).toBe(401);
    expectRateLimited(await attempt(wrong));
    // Same IP, valid key: reaches authorization (404 for this user), not 429.
    expect((await attempt(seed.adminKey.key)).statusCode).toBe(404);
    // Another IP is not affected.
    const elsewhere = await app.inject({
      method: 'POST',
      url: avatarPath(seed.org.id, seed.member.id),
      headers: bearer(wrong),
      remoteAddress: '198.51.100.8',
    });
    expect(elsewhere.statusCode).toBe(401);
  });
});

describe('per-IP limit behind a load balancer (TRUST_PROXY)', () => {
  it('keys by X-Forwarded-For only when the peer is a trusted proxy', async () => {
    const seed = await seedOrg(services.db);
    const { app } = await buildTestApp(services, {
      env: { AUTH_FAILURE_LIMIT_MAX: '1', TRUST_PROXY: '10.0.0.0/8' },
    });
    const wrong = bearer(`bd_key_${'C'.repeat(40)}`);
    const attempt = (remoteAddress: string, forwardedFor: string) =>
      app.inject({
        method: 'POST',
        url: avatarPath(seed.org.id, seed.member.id),
        headers: { ...wrong, 'x-forwarded-for': forwardedFor },
        remoteAddress,
      });
    // Through the balancer: each client has its own budget.
    expect((await attempt('10.1.2.3', '203.0.113.1')).statusCode).toBe(401);
    expect((await attempt('10.1.2.3', '203.0.113.1')).statusCode).toBe(429);
    expect((await attempt('10.1.2.3', '203.0.113.2')).statusCode).toBe(401);
    // A direct client cannot escape its budget by inventing X-Forwarded-For values.
    expect((await attempt('198.51.100.20', '203.0.113.50')).statusCode).toBe(401);
    expect((await attempt('198.51.100.20', '203.0.113.51')).statusCode).toBe(429);
  });
});

describe('rate limits shared through Redis', () => {
  it('two instances share one key budget', async () => {
    const seed = await seedOrg(services.db);
    const env = { RATE_LIMIT_MAX: '2' };
    // Two instances, each with its own client, one Redis behind them.
    const a = await buildTestApp(services, { env, deps: { redis: testRedis() } });
    const b = await buildTestApp(services, { env, deps: { redis: testRedis() } });
    const send = (app: typeof a.app) =>
      app.inject({
        method: 'POST',
        url: avatarPath(seed.org.id, seed.member.id),
        headers: bearer(seed.adminKey.key),
      });
    expect((await send(a.app)).statusCode).toBe(404);
    expect((await send(b.app)).statusCode).toBe(404);
    expectRateLimited(await send(a.app));
    expectRateLimited(await send(b.app));
  });

  it('Redis unreachable: 503 with Retry-After, nothing stored (fail closed)', async () => {
    const seed = await seedOrg(services.db);
    const { app } = await buildTestApp(services, {
      env: { REDIS_URL: 'redis://127.0.0.1:1', REDIS_TIMEOUT_MS: '200' },
    });
    const form = avatarForm(await jpeg());
    const res = await postAvatar(app, adminTarget(seed), form, { 'x-request-id': randomUUID() });
    expect(res.statusCode).toBe(503);
    expect(res.json().error.title).toBe('ServiceUnavailable');
    expect(res.json().error.detail).not.toMatch(/redis|127\.0\.0\.1|ECONNREFUSED/i);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(await services.bucket.listKeys(`embedded-users/${seed.embedded.id}/`)).toEqual([]);
  });
});
