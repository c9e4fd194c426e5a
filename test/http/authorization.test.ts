import { describe, expect, it } from 'vitest';
import { addMember, createKey, createUser } from '../../src/cli/commands.js';
import { buildTestApp, useTestServices } from '../helpers/app.js';
import { jpeg } from '../helpers/images.js';
import { avatarForm } from '../helpers/multipart.js';
import { adminTarget, avatarPath, bearer, postAvatar, seedOrg } from '../helpers/seed.js';

const services = useTestServices();

const NOT_FOUND = {
  error: {
    title: 'NotFound',
    detail: 'The organization or user was not found, or the API key has no admin access to it.',
  },
};

describe('404: no admin access, or not a managed member of the org', () => {
  it('answers every variant with the same body and changes nothing', async () => {
    const seed = await seedOrg(services.db);
    const other = await seedOrg(services.db);
    // A key restricted to another org, owned by someone who IS admin of both.
    await addMember(services.db, { org: other.org.id, user: seed.admin.id, role: 'ADMIN' });
    const restrictedKey = await createKey(services.db, { user: seed.admin.id, org: other.org.id });
    // An embedded user of org A who is also a member of org B: B's admin must not manage it.
    await addMember(services.db, { org: other.org.id, user: seed.embedded.id, role: 'MEMBER' });
    // Embedded via SSO of org A but no longer a member of A.
    const formerMember = await createUser(services.db, {
      email: `former-${Date.now()}@example.test`,
      org: other.org.id,
      role: 'MEMBER',
    });
    await services.db.user.update({
      where: { id: formerMember.id },
      data: { ssoOrganizationId: seed.org.id },
    });

    const { app } = await buildTestApp(services);
    const form = avatarForm(await jpeg());
    const variants: Record<string, { key: string; org: string; user: string }> = {
      'caller is a MEMBER, not an ADMIN': {
        key: seed.memberKey.key,
        org: seed.org.id,
        user: seed.embedded.id,
      },
      'unknown org': {
        key: seed.adminKey.key,
        org: '5d1c2f43-8f5e-4c51-9d5c-0a8b1f6a7e21',
        user: seed.embedded.id,
      },
      'unknown user': {
        key: seed.adminKey.key,
        org: seed.org.id,
        user: '5d1c2f43-8f5e-4c51-9d5c-0a8b1f6a7e21',
      },
      'malformed org id': { key: seed.adminKey.key, org: 'not-a-uuid', user: seed.embedded.id },
      'malformed user id': { key: seed.adminKey.key, org: seed.org.id, user: "1' OR '1'='1" },
      'user not created via SSO': { key: seed.adminKey.key, org: seed.org.id, user: seed.notEmbedded.id },
      'user logged in independently': { key: seed.adminKey.key, org: seed.org.id, user: seed.independent.id },
      "another org's embedded user": { key: seed.adminKey.key, org: seed.org.id, user: other.embedded.id },
      'admin of the org but the user is embedded for another org': {
        key: other.adminKey.key,
        org: other.org.id,
        user: seed.embedded.id,
      },
      'key restricted to another org': { key: restrictedKey.key, org: seed.org.id, user: seed.embedded.id },
      'user created by the org SSO but no longer a member': {
        key: seed.adminKey.key,
        org: seed.org.id,
        user: formerMember.id,
      },
      'the admin itself (not embedded)': { key: seed.adminKey.key, org: seed.org.id, user: seed.admin.id },
    };
    for (const [name, v] of Object.entries(variants)) {
      const res = await postAvatar(app, { key: v.key, orgId: v.org, userId: v.user }, form);
      expect(res.statusCode, name).toBe(404);
      expect(res.json(), name).toEqual(NOT_FOUND);
    }

    const avatars = await services.db.user.findMany({ where: { avatarUrl: { not: null } } });
    expect(avatars).toEqual([]);
    expect(await services.bucket.listKeys()).toEqual([]);
  });

  it('a key restricted to the right org works', async () => {
    const seed = await seedOrg(services.db);
    const scoped = await createKey(services.db, { user: seed.admin.id, org: seed.org.id });
    const { app } = await buildTestApp(services);
    const form = avatarForm(await jpeg());
    const res = await postAvatar(app, { ...adminTarget(seed), key: scoped.key }, form);
    expect(res.statusCode).toBe(200);
  });

  it('does not read the body before authorization: a 404 never depends on the upload', async () => {
    const seed = await seedOrg(services.db);
    const { app } = await buildTestApp(services);
    const res = await app.inject({
      method: 'POST',
      url: avatarPath(seed.org.id, seed.member.id),
      headers: { ...bearer(seed.adminKey.key), 'content-type': 'application/json' },
      payload: '{not json',
    });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual(NOT_FOUND);
  });
});
