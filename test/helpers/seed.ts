import type { FastifyInstance } from 'fastify';
import { createKey, createOrg, createUser } from '../../src/cli/commands.js';
import type { Db } from '../../src/db/client.js';

let counter = 0;
const email = (label: string) => `${label}-${process.pid}-${Date.now()}-${++counter}@example.test`;

/**
 * One organization as the tests need it: an admin with a key, an embedded user
 * to upload for, and the users that must NOT be reachable (each 404 variant).
 * Built with the admin CLI's own functions, so the fixtures are what operators make.
 */
export async function seedOrg(db: Db) {
  const org = await createOrg(db, { name: 'Acme' });
  const admin = await createUser(db, { email: email('admin'), org: org.id, role: 'ADMIN' });
  const adminKey = await createKey(db, { user: admin.id });
  const embedded = await createUser(db, {
    email: email('embedded'),
    org: org.id,
    role: 'MEMBER',
    embedded: true,
  });

  const member = await createUser(db, { email: email('member'), org: org.id, role: 'MEMBER' });
  const memberKey = await createKey(db, { user: member.id });
  const independent = await createUser(db, {
    email: email('independent'),
    org: org.id,
    role: 'MEMBER',
    embedded: true,
    loggedInIndependently: true,
  });
  const notEmbedded = member; // a member created without JWT SSO

  return { org, admin, adminKey, embedded, member, memberKey, independent, notEmbedded };
}

export type SeededOrg = Awaited<ReturnType<typeof seedOrg>>;

export const avatarPath = (orgId: string, userId: string) =>
  `/api/public/organizations/${orgId}/embedded-users/${userId}/avatar`;

export const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** Who uploads for whom: the caller's API key and the avatar's org and user. */
export interface AvatarTarget {
  key: string;
  orgId: string;
  userId: string;
}

/** The seeded admin uploading for `userId` (the embedded user unless given). */
export const adminTarget = (seed: SeededOrg, userId = seed.embedded.id): AvatarTarget => ({
  key: seed.adminKey.key,
  orgId: seed.org.id,
  userId,
});

/** POSTs `form` to the target's avatar route with its key as a Bearer token. */
export function postAvatar(
  app: FastifyInstance,
  target: AvatarTarget,
  form: { payload: Buffer | string; headers: Record<string, string> },
  extraHeaders: Record<string, string> = {},
) {
  return app.inject({
    method: 'POST',
    url: avatarPath(target.orgId, target.userId),
    headers: { ...bearer(target.key), ...form.headers, ...extraHeaders },
    payload: form.payload,
  });
}
