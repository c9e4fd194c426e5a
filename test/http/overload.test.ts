import { type AddressInfo, connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { createS3Client, createS3Storage } from '../../src/storage/s3-storage.js';
import type { AvatarStorage } from '../../src/storage/storage.js';
import { buildTestApp, useTestServices } from '../helpers/app.js';
import { jpeg } from '../helpers/images.js';
import { avatarForm } from '../helpers/multipart.js';
import { adminTarget, postAvatar, seedOrg } from '../helpers/seed.js';

const services = useTestServices();

/** The real S3 store whose PUTs wait until `letGo()`, so an upload can be held in flight. */
function gatedStorage() {
  const config = loadConfig(services.env).storage;
  if (!config) throw new Error('test storage missing');
  const real = createS3Storage(createS3Client(config), config);
  let letGo!: () => void;
  const gate = new Promise<void>((resolve) => {
    letGo = resolve;
  });
  let putStarted!: () => void;
  const started = new Promise<void>((resolve) => {
    putStarted = resolve;
  });
  const storage: AvatarStorage = {
    ...real,
    put: async (...args) => {
      putStarted();
      await gate;
      return real.put(...args);
    },
  };
  return { storage, started, letGo };
}

describe('503: too many uploads in progress (bounded memory)', () => {
  it('refuses an upload beyond MAX_CONCURRENT_UPLOADS before reading it, then recovers', async () => {
    const seed = await seedOrg(services.db);
    const other = await seedOrg(services.db);
    const gated = gatedStorage();
    const { app } = await buildTestApp(services, {
      env: { MAX_CONCURRENT_UPLOADS: '1' },
      deps: { storage: gated.storage },
    });
    const send = async (s: typeof seed) => {
      const form = avatarForm(await jpeg());
      return postAvatar(app, adminTarget(s), form);
    };

    const first = send(seed);
    await gated.started;
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

    gated.letGo();
    expect((await first).statusCode).toBe(200);
    // The slot is free again.
    expect((await send(other)).statusCode).toBe(200);
  });
});

describe('503: the instance is shutting down', () => {
  it('finishes uploads in flight, answers new requests 503 with Retry-After, in the envelope', async () => {
    const seed = await seedOrg(services.db);
    const gated = gatedStorage();
    const { app } = await buildTestApp(services, {
      deps: { storage: gated.storage },
    });

    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const inFlight = postAvatar(app, adminTarget(seed), avatarForm(await jpeg()));
    await gated.started;
    // A client midway through its request headers when the drain starts (a busy keep-alive
    // connection is not closed as idle); the request completes after close() began.
    const late = connect(port, '127.0.0.1');
    await new Promise((resolve) => late.once('connect', resolve));
    late.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
    const answer = new Promise<string>((resolve) => {
      let text = '';
      late.on('data', (chunk) => {
        text += chunk.toString();
      });
      late.on('close', () => resolve(text));
    });
    const closed = app.close();
    late.write('\r\n');
    const refused = await answer;
    expect(refused).toMatch(/^HTTP\/1\.1 503 /);
    expect(refused).toMatch(/\r\nretry-after: 1\r\n/i);
    expect(refused).toMatch(/\r\nconnection: close\r\n/i);
    expect(JSON.parse(refused.slice(refused.indexOf('\r\n\r\n') + 4))).toEqual({
      error: { title: 'ServiceUnavailable', detail: 'The server is shutting down. Please retry.' },
    });

    gated.letGo();
    expect((await inFlight).statusCode).toBe(200);
    await closed;
    expect(await services.bucket.listKeys(`embedded-users/${seed.embedded.id}/`)).toHaveLength(1);
  });
});
