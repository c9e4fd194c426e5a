import type { Db } from '../db/client.js';
import { dbCall } from '../db/errors.js';
import { errors } from '../errors.js';
import type { Caller } from './authenticate.js';

export interface ManagedUser {
  id: string;
  avatarUrl: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Never generated as a row id (ids are v4 UUIDs), so it matches nothing.
const NO_SUCH_ID = '00000000-0000-0000-0000-000000000000';

/**
 * Finds the embedded user the caller may manage, in ONE query, or throws 404.
 * All conditions (caller is an ADMIN of the org, the key is not restricted to
 * another org, the user is a member, was created by that org's JWT SSO and never
 * logged in independently) are evaluated together, so neither the answer nor its
 * timing tells which one failed. Malformed ids run the same query with an id
 * that cannot match, for the same reason.
 */
export async function findManagedUser(
  db: Db,
  caller: Caller,
  orgId: string,
  userId: string,
): Promise<ManagedUser> {
  const org = UUID.test(orgId) ? orgId.toLowerCase() : NO_SUCH_ID;
  const user = await dbCall(() =>
    db.user.findFirst({
      where: {
        id: UUID.test(userId) ? userId.toLowerCase() : NO_SUCH_ID,
        ssoOrganizationId: caller.keyOrganizationId && caller.keyOrganizationId !== org ? NO_SUCH_ID : org,
        lastIndependentLoginAt: null,
        memberships: { some: { organizationId: org } },
        ssoOrganization: { memberships: { some: { userId: caller.userId, role: 'ADMIN' } } },
      },
      select: { id: true, avatarUrl: true },
    }),
  );
  if (!user) throw errors.notFound();
  return user;
}
