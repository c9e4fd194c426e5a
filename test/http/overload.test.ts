import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { createS3Client, createS3Storage } from '../../src/storage/s3-storage.js';
import { buildTestApp, useTestServices } from '../helpers/app.js';
import { jpeg } from '../helpers/images.js';
import { avatarForm } from '../helpers/multipart.js';
import { adminTarget, postAvatar, seedOrg } from '../helpers/seed.js';

const services = useTestServices();

describe('503: too many uploads in progress (bounded memory)', () => {
  it('refuses an upload beyond MAX_CONCURRENT_UPLOADS before reading it, then recovers', async () => {
    const seed = await seedOrg(services.db);
    const other = await seedOrg(services.db);
    const config = loadConfig(services.env).storage;
    if (!config) throw new Error('test storage missing');
    const real = createS3Storage(createS3Client(config), config);
    // The first upload's PUT waits until the test lets it go, so it holds its slot.
    let letGo!: () => void;
    const gate = new Promise<void>((resolve) => {
      letGo = resolve;
    });
    let putStarted!: () => void;
    const started = new Promise<void>((resolve) => {
      putStarted = resolve;
    });
    const { app } = await buildTestApp(services, {
      env: { MAX_CONCURRENT_UPLOADS: '1' },
      deps: {
        storage: {
          ...real,
          put: async (...args) => {
            putStarted();
            await gate;
            return real.put(...args);
          },
        },
      },
    });
    const send = async (s: typeof seed) => {
      const form = avatarForm(await jpeg());
      return postAvatar(app, adminTarget(s), form);
    };

    const first = send(seed);
    await started;
    const refused = await send(other);
    expect(refused.statusCode).toBe(503);
    expect(refused.json()).toEqual({
      error: {
        title: 'ServiceUnavailable',
        detail: 'The server is handling too many uploads. Please retry shortly.',
      },
    });
    expect(refused.headers['retry-after']).toBe('1');
    expect(await services.bucket.listKeys(`embedded-users/${other.embedded.id}/`)).toEqual([]);

    letGo();
    expect((await first).statusCode).toBe(200);
    // The slot is free again.
    expect((await send(other)).statusCode).toBe(200);
  });
});
