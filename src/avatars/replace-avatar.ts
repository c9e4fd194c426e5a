import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../db/client.js';
import { dbCall } from '../db/errors.js';
import { errors } from '../errors.js';
import type { Deadline } from '../http/deadline.js';
import type { ProcessedImage } from '../images/types.js';
import { type AvatarStorage, UNTIL_STORE_DEADLINE } from '../storage/storage.js';

export interface ReplaceAvatarInput {
  db: Db;
  storage: AvatarStorage;
  userId: string;
  image: ProcessedImage;
  deadline: Deadline;
  /** Time a database statement may take (its own deadline). */
  dbTimeoutMs: number;
  log: FastifyBaseLogger;
}

/** Every avatar of a user lives under this prefix, and nothing else does. */
export const userFolder = (userId: string) => `embedded-users/${userId}/`;

const EXTENSIONS = { jpeg: 'jpg', png: 'png' } as const;

/**
 * Stores the new image, points the user at it, then removes the previous one.
 * Order matters: the row never points at a missing object, and if the row
 * cannot be written the new object is removed again (no orphan).
 */
export async function replaceAvatar(input: ReplaceAvatarInput): Promise<string> {
  const { db, storage, userId, image, deadline, log } = input;
  // A fresh random name per upload: a new image always gets a new URL, so CDN
  // and browser caches (immutable, one year) never serve a stale avatar.
  const key = `${userFolder(userId)}${randomUUID()}.${EXTENSIONS[image.format]}`;
  const url = storage.publicUrl(key);
  const removeQuietly = (what: string, objectKey: string) =>
    storage.delete(objectKey, UNTIL_STORE_DEADLINE).catch((err) => {
      log.error({ err, key: objectKey }, `could not delete ${what} avatar object`);
    });

  try {
    await storage.put(key, image.bytes, image.contentType, deadline.signal);
  } catch (err) {
    // An aborted or failed PUT may still have landed: make sure it did not.
    await removeQuietly('unconfirmed', key);
    throw errors.dependencyUnavailable('object storage', err);
  }

  let previousUrl: string | null;
  try {
    // The statement has its own deadline: start it only if it can finish in time.
    deadline.require(input.dbTimeoutMs);
    previousUrl = await swapAvatarUrl(db, userId, url);
  } catch (err) {
    await removeQuietly('new', key);
    throw err;
  }

  const previousKey = previousUrl ? storage.keyFromUrl(previousUrl) : undefined;
  if (previousKey?.startsWith(userFolder(userId)) && previousKey !== key) {
    await removeQuietly('previous', previousKey);
  }
  return url;
}

/**
 * Sets the new URL and returns the one it replaced, in one statement. The row
 * lock of `FOR UPDATE` serialises concurrent uploads for the same user, so each
 * one sees (and later deletes) exactly the URL it replaced.
 */
async function swapAvatarUrl(db: Db, userId: string, url: string): Promise<string | null> {
  const rows = await dbCall(
    () => db.$queryRaw<{ previous_url: string | null }[]>`
      UPDATE users AS u
      SET avatar_url = ${url}, updated_at = now()
      FROM (SELECT id, avatar_url FROM users WHERE id = ${userId}::uuid FOR UPDATE) AS previous
      WHERE u.id = previous.id
      RETURNING previous.avatar_url AS previous_url`,
  );
  const row = rows[0];
  if (!row) throw errors.notFound();
  return row.previous_url;
}
