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
