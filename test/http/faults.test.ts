import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { createDb } from '../../src/db/client.js';
import { createS3Client, createS3Storage } from '../../src/storage/s3-storage.js';
import { type AvatarStorage, StorageError } from '../../src/storage/storage.js';
import { buildTestApp, shortRequestBudget, type TestServices, useTestServices } from '../helpers/app.js';
import { jpeg } from '../helpers/images.js';
import { avatarForm } from '../helpers/multipart.js';
import { adminTarget, postAvatar, type SeededOrg, seedOrg } from '../helpers/seed.js';

const services = useTestServices();

/** The real S3 store of the test bucket, with the given methods replaced: faults, not mocks of the SDK. */
function realStorage(s: TestServices, override: Partial<AvatarStorage> = {}): AvatarStorage {
  const config = loadConfig(s.env).storage;
  if (!config) throw new Error('test storage not configured');
  return { ...createS3Storage(createS3Client(config), config), ...override };
}

async function upload(app: Awaited<ReturnType<typeof buildTestApp>>['app'], seed: SeededOrg) {
  const form = avatarForm(await jpeg(20, 20, Math.floor(Math.random() * 6)));
  return postAvatar(app, adminTarget(seed), form);
}

const folder = (userId: string) => `embedded-users/${userId}/`;

describe('dependency failures leave no partial state', () => {
  it('S3 PUT failing: 503 with Retry-After, the row keeps the previous avatar, no new object', async () => {
    const seed = await seedOrg(services.db);
    const good = await buildTestApp(services);
    const first = await upload(good.app, seed);
    expect(first.statusCode).toBe(200);
    const previousUrl = first.json().data.avatarUrl;

    const failing = await buildTestApp(services, {
      deps: {
        storage: realStorage(services, {
          put: async () => {
            throw new StorageError('S3 put failed', { cause: new Error('SlowDown: internal bucket detail') });
          },
        }),
      },
    });
    const res = await upload(failing.app, seed);
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({
      error: {
        title: 'ServiceUnavailable',
        detail: expect.stringMatching(/object storage.*temporarily unavailable/),
      },
    });
    expect(res.body).not.toContain('SlowDown');
    expect(res.headers['retry-after']).toBe('5');
    const user = await services.db.user.findUniqueOrThrow({ where: { id: seed.embedded.id } });
    expect(user.avatarUrl).toBe(previousUrl);
    expect(await services.bucket.listKeys(folder(seed.embedded.id))).toHaveLength(1);
  });

  it('S3 PUT landing but its answer lost: the unconfirmed object is removed again', async () => {
    const seed = await seedOrg(services.db);
    const base = realStorage(services);
    const { app } = await buildTestApp(services, {
      deps: {
        storage: {
          ...base,
          put: async (key, body, type, signal) => {
            await base.put(key, body, type, signal);
            throw new StorageError('connection reset after upload');
          },
        },
      },
    });
    const res = await upload(app, seed);
    expect(res.statusCode).toBe(503);
    expect(
      (await services.db.user.findUniqueOrThrow({ where: { id: seed.embedded.id } })).avatarUrl,
    ).toBeNull();
    expect(await services.bucket.listKeys(folder(seed.embedded.id))).toEqual([]);
  });

  it('row update failing: 500, the new object is deleted, the old avatar stays', async () => {
    const seed = await seedOrg(services.db);
    const { app } = await buildTestApp(services);
    const first = await upload(app, seed);
    const previousUrl = first.json().data.avatarUrl;
    // A real fault in the real database: a trigger refuses this user's next update.
    await services.db.$executeRawUnsafe(`
      CREATE OR REPLACE FUNCTION refuse_avatar_update() RETURNS trigger AS $$
      BEGIN RAISE EXCEPTION 'avatar update refused by test trigger'; END $$ LANGUAGE plpgsql`);
    await services.db.$executeRawUnsafe(`
      CREATE TRIGGER refuse_avatar_update BEFORE UPDATE ON users FOR EACH ROW
      WHEN (NEW.id = '${seed.embedded.id}'::uuid) EXECUTE FUNCTION refuse_avatar_update()`);
    try {
      const res = await upload(app, seed);
      expect(res.statusCode).toBe(500);
      expect(res.json()).toEqual({
        error: { title: 'InternalServerError', detail: 'An unexpected error occurred.' },
      });
      expect(res.body).not.toMatch(/trigger|UPDATE|users/);
    } finally {
      await services.db.$executeRawUnsafe('DROP TRIGGER refuse_avatar_update ON users');
    }
    const user = await services.db.user.findUniqueOrThrow({ where: { id: seed.embedded.id } });
    expect(user.avatarUrl).toBe(previousUrl);
    const keys = await services.bucket.listKeys(folder(seed.embedded.id));
    expect(keys).toHaveLength(1);
    expect(previousUrl.endsWith(keys[0])).toBe(true);
  });

  it('Postgres unreachable: 503 with Retry-After and no internals in the body', async () => {
    const seed = await seedOrg(services.db);
    const deadDb = createDb({
      url: 'postgresql://postgres:secret-pw@127.0.0.1:1/nowhere',
      poolMax: 1,
      timeoutMs: 500,
    });
    const { app } = await buildTestApp(services, { deps: { db: deadDb } });
    const res = await upload(app, seed);
    // The readiness probe tells the load balancer the same.
    const ready = await app.inject({ method: 'GET', url: '/readyz' });
    await deadDb.$disconnect();
    expect(res.statusCode).toBe(503);
    expect(res.json().error.title).toBe('ServiceUnavailable');
    expect(res.body).not.toMatch(/secret-pw|ECONNREFUSED|127\.0\.0\.1|prisma/i);
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(await services.bucket.listKeys(folder(seed.embedded.id))).toEqual([]);
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({
      error: {
        title: 'ServiceUnavailable',
        detail: 'The database is temporarily unavailable. Please retry shortly.',
      },
    });
  });

  it('row update timing out (row locked elsewhere): 503, the new object is deleted, the row unchanged', async () => {
    const seed = await seedOrg(services.db);
    // The app's own client with a 1 s deadline (the shared test client waits 10 s).
    const db = createDb({ url: services.databaseUrl, poolMax: 2, timeoutMs: 1000 });
    const { app } = await buildTestApp(services, { env: { DB_TIMEOUT_MS: '1000' }, deps: { db } });
    // Another session holds the user's row lock, so the avatar UPDATE waits past its deadline.
    const locker = new pg.Client({ connectionString: services.databaseUrl });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query('SELECT id FROM users WHERE id = $1 FOR UPDATE', [seed.embedded.id]);
    try {
      const res = await upload(app, seed);
      expect(res.statusCode).toBe(503);
      expect(res.json()).toEqual({
        error: { title: 'ServiceUnavailable', detail: expect.stringMatching(/temporarily unavailable/) },
      });
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
      await db.$disconnect();
    }
    const user = await services.db.user.findUniqueOrThrow({ where: { id: seed.embedded.id } });
    expect(user.avatarUrl).toBeNull();
    expect(await services.bucket.listKeys(folder(seed.embedded.id))).toEqual([]);
  });

  it('S3 hanging past the request budget: 503, and nothing changes afterwards', async () => {
    const seed = await seedOrg(services.db);
    const base = realStorage(services);
    let putStarted = false;
    const { app } = await buildTestApp(services, {
      env: shortRequestBudget(1500),
      deps: {
        storage: {
          ...base,
          // Writes the object only after the request was answered, like a stalled upload that completes late.
          put: (_key, _body, _type, signal) =>
            new Promise((_resolve, reject) => {
              putStarted = true;
              signal.addEventListener('abort', () =>
                reject(new StorageError('aborted', { cause: signal.reason })),
              );
            }),
        },
      },
    });
    const res = await upload(app, seed);
    expect(putStarted).toBe(true);
    expect(res.statusCode).toBe(503);
    await new Promise((r) => setTimeout(r, 300));
    expect(
      (await services.db.user.findUniqueOrThrow({ where: { id: seed.embedded.id } })).avatarUrl,
    ).toBeNull();
    expect(await services.bucket.listKeys(folder(seed.embedded.id))).toEqual([]);
  });
});
