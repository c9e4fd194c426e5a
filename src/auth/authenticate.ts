import type { Db } from '../db/client.js';
import { dbCall } from '../db/errors.js';
import { errors } from '../errors.js';
import { bearerToken, hashApiKey, hashesMatch, isWellFormedApiKey } from './api-keys.js';

export interface Caller {
  keyId: string;
  userId: string;
  /** Set when the key is restricted to one organization. */
  keyOrganizationId: string | null;
}

// lastUsedAt is informational; writing it on every request would turn each
// upload into an extra write. Refresh it at most once a minute per key.
const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * Resolves the bearer API key to its owner, or throws 401. Every failure (no
 * header, wrong scheme, malformed, unknown, revoked, expired) gives the same error.
 */
export async function authenticate(
  db: Db,
  authorization: string | undefined,
  now = new Date(),
): Promise<Caller> {
  const token = bearerToken(authorization);
  if (!token || !isWellFormedApiKey(token)) throw errors.unauthorized();

  const keyHash = hashApiKey(token);
  const key = await dbCall(() =>
    db.apiKey.findUnique({
      where: { keyHash },
      select: {
        id: true,
        keyHash: true,
        userId: true,
        organizationId: true,
        revokedAt: true,
        expiresAt: true,
        lastUsedAt: true,
      },
    }),
  );
  // The lookup is by an indexed hash, so the DB never compares secrets; the
  // constant-time comparison guards against a collation or index surprise.
  if (!key || !hashesMatch(key.keyHash.trim(), keyHash)) throw errors.unauthorized();
  if (key.revokedAt || (key.expiresAt && key.expiresAt <= now)) throw errors.unauthorized();

  if (!key.lastUsedAt || now.getTime() - key.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    await dbCall(() =>
      db.apiKey.update({ where: { id: key.id }, data: { lastUsedAt: now }, select: { id: true } }),
    );
  }
  return { keyId: key.id, userId: key.userId, keyOrganizationId: key.organizationId };
}
