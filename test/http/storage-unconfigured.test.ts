import { describe, expect, it } from 'vitest';
import { buildTestApp, useTestServices } from '../helpers/app.js';
import { jpeg } from '../helpers/images.js';
import { avatarForm } from '../helpers/multipart.js';
import { adminTarget, postAvatar, seedOrg } from '../helpers/seed.js';

const services = useTestServices();

describe('503: object storage is not configured', () => {
  it('answers ServiceUnavailable without Retry-After and changes nothing', async () => {
    const seed = await seedOrg(services.db);
    const { app } = await buildTestApp(services, { env: { S3_BUCKET_NAME: undefined } });
    const form = avatarForm(await jpeg());
    const res = await postAvatar(app, adminTarget(seed), form);
    expect(res.statusCode).toBe(503);
    expect(res.json()).toEqual({
      error: { title: 'ServiceUnavailable', detail: 'Avatar storage is not configured on this server.' },
    });
    expect(res.headers['retry-after']).toBeUndefined();
    const user = await services.db.user.findUniqueOrThrow({ where: { id: seed.embedded.id } });
    expect(user.avatarUrl).toBeNull();
    expect(await services.bucket.listKeys()).toEqual([]);
  });

  it('still answers 404 before 503: authorization comes first', async () => {
    const seed = await seedOrg(services.db);
    const { app } = await buildTestApp(services, { env: { S3_BUCKET_NAME: undefined } });
    const form = avatarForm(await jpeg());
    const res = await postAvatar(app, adminTarget(seed, seed.member.id), form);
    expect(res.statusCode).toBe(404);
  });
});
