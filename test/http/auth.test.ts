import { describe, expect, it } from 'vitest';
import { createKey, revokeKey } from '../../src/cli/commands.js';
import { buildTestApp, useTestServices } from '../helpers/app.js';
import { jpeg } from '../helpers/images.js';
import { avatarForm } from '../helpers/multipart.js';
import { avatarPath, seedOrg } from '../helpers/seed.js';

const services = useTestServices();

const UNAUTHORIZED = {
  error: { title: 'Unauthorized', detail: 'A valid API key is required in the Authorization header.' },
};

describe('401: missing or invalid API key', () => {
  it('answers every variant with the same body and stores nothing', async () => {
    const seed = await seedOrg(services.db);
    const revoked = await createKey(services.db, { user: seed.admin.id });
    await revokeKey(services.db, { id: revoked.id });
    const expired = await createKey(services.db, { user: seed.admin.id, expiresAt: '2020-01-01T00:00:00Z' });
    const { app } = await buildTestApp(services);
    const form = avatarForm(await jpeg());

    const variants: Record<string, string | undefined> = {
      'no header': undefined,
      'empty header': '',
      'Basic scheme': `Basic ${Buffer.from(`user:${seed.adminKey.key}`).toString('base64')}`,
      'Bearer without a token': 'Bearer ',
      'the key without a scheme': seed.adminKey.key,
      'malformed key': 'Bearer bd_key_short',
      'wrong prefix': `Bearer sk_key_${seed.adminKey.key.slice(7)}`,
      'unknown well-formed key': `Bearer bd_key_${'A'.repeat(40)}`,
      'revoked key': `Bearer ${revoked.key}`,
      'expired key': `Bearer ${expired.key}`,
      'a key with trailing junk': `Bearer ${seed.adminKey.key}x!`,
    };
    for (const [name, authorization] of Object.entries(variants)) {
      const res = await app.inject({
        method: 'POST',
        url: avatarPath(seed.org.id, seed.embedded.id),
        headers: { ...form.headers, ...(authorization === undefined ? {} : { authorization }) },
        payload: form.payload,
      });
      expect(res.statusCode, name).toBe(401);
      expect(res.json(), name).toEqual(UNAUTHORIZED);
    }
    const user = await services.db.user.findUniqueOrThrow({ where: { id: seed.embedded.id } });
    expect(user.avatarUrl).toBeNull();
    expect(await services.bucket.listKeys(`embedded-users/${seed.embedded.id}/`)).toEqual([]);
  });

  it('accepts the scheme case-insensitively and records lastUsedAt', async () => {
    const seed = await seedOrg(services.db);
    const { app } = await buildTestApp(services);
    const form = avatarForm(await jpeg());
    const res = await app.inject({
      method: 'POST',
      url: avatarPath(seed.org.id, seed.embedded.id),
      headers: { ...form.headers, authorization: `bearer ${seed.adminKey.key}` },
      payload: form.payload,
    });
    expect(res.statusCode).toBe(200);
    const key = await services.db.apiKey.findUniqueOrThrow({ where: { id: seed.adminKey.id } });
    expect(key.lastUsedAt).toBeInstanceOf(Date);
  });

  it('401 comes before 404: a bad key on an unknown org is still 401', async () => {
    const { app } = await buildTestApp(services);
    const res = await app.inject({ method: 'POST', url: avatarPath('nope', 'nope'), headers: {} });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toEqual(UNAUTHORIZED);
  });
});
