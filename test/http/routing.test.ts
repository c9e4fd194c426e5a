import { describe, expect, it } from 'vitest';
import { buildTestApp, useTestServices } from '../helpers/app.js';
import { jpeg } from '../helpers/images.js';
import { avatarForm } from '../helpers/multipart.js';
import { adminTarget, avatarPath, postAvatar, seedOrg } from '../helpers/seed.js';

const services = useTestServices();

describe('unknown routes and methods use the envelope', () => {
  it('404 NotFound for an unknown route', async () => {
    const { app } = await buildTestApp(services);
    const res = await app.inject({ method: 'GET', url: '/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      error: { title: 'NotFound', detail: 'No endpoint matches this method and path.' },
    });
    expect(res.headers['x-request-id']).toBeTruthy();
  });

  it('405 MethodNotAllowed with Allow: POST for other methods on the avatar path', async () => {
    const { app } = await buildTestApp(services);
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH'] as const) {
      const res = await app.inject({ method, url: avatarPath('a', 'b') });
      expect(res.statusCode, method).toBe(405);
      expect(res.headers.allow, method).toBe('POST');
      expect(res.json().error.title, method).toBe('MethodNotAllowed');
      expect(Object.keys(res.json().error).sort()).toEqual(['detail', 'title']);
    }
  });

  it('health and readiness probes', async () => {
    const { app } = await buildTestApp(services);
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ data: { status: 'ok' } });
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({ data: { status: 'ready' } });
  });
});

describe('request id and logs', () => {
  it('echoes a given x-request-id, generates one otherwise, and logs it on every line', async () => {
    const seed = await seedOrg(services.db);
    const { app, logs } = await buildTestApp(services, { captureLogs: true });
    const form = avatarForm(await jpeg());
    const res = await postAvatar(app, adminTarget(seed), form, { 'x-request-id': 'trace-123' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-request-id']).toBe('trace-123');
    const lines = logs().filter((l) => l.requestId === 'trace-123');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of logs().filter((l) => l.req || l.res)) expect(line.requestId).toBeDefined();

    const generated = await app.inject({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'bad id\nforged' },
    });
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('never logs the API key or the Authorization header, even on errors', async () => {
    const seed = await seedOrg(services.db);
    const { app, logs } = await buildTestApp(services, { captureLogs: true, env: { LOG_LEVEL: 'trace' } });
    const form = avatarForm(await jpeg());
    for (const key of [seed.adminKey.key, `${seed.adminKey.key.slice(0, -1)}Z`]) {
      await postAvatar(app, { ...adminTarget(seed), key }, form);
    }
    const all = JSON.stringify(logs());
    expect(all.length).toBeGreaterThan(100);
    expect(all).not.toContain(seed.adminKey.key.slice(7));
    expect(all).not.toContain(seed.adminKey.key.slice(0, -1));
    expect(all).not.toMatch(/Bearer /i);
  });
});
