// After the load: does the bucket still match the contract? Every user folder holds at most the
// one object its avatarUrl points at, even after concurrent uploads for the same user.
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import pg from 'pg';
import type { StorageConfig } from '../src/config/env.js';
import { createS3Client } from '../src/storage/s3-storage.js';

export async function checkBucket(databaseUrl: string, storage: StorageConfig): Promise<string> {
  const client = createS3Client(storage);
  const keys: string[] = [];
  try {
    let token: string | undefined;
    do {
      const page = await client.send(
        new ListObjectsV2Command({
          Bucket: storage.bucket,
          Prefix: 'embedded-users/',
          ContinuationToken: token,
        }),
      );
      for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } finally {
    client.destroy();
  }

  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  const urls = await db
    .query<{ avatar_url: string }>('SELECT avatar_url FROM users WHERE avatar_url IS NOT NULL')
    .finally(() => db.end());
  const referenced = new Set(urls.rows.map((row) => row.avatar_url.slice(storage.publicBaseUrl.length + 1)));

  const orphans = keys.filter((key) => !referenced.has(key)).length;
  const missing = [...referenced].filter((key) => !keys.includes(key)).length;
  const verdict = orphans === 0 && missing === 0 ? 'OK' : 'MISMATCH';
  return `${verdict}: ${referenced.size} users with an avatar, ${keys.length} objects in their folders, ${orphans} orphaned, ${missing} missing`;
}
