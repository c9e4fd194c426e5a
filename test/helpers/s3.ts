// The shared s3rver of the test run (started by global-setup.ts) and a bucket of its own for each
// test file, with a client to look at what the code under test stored.

import { randomBytes } from 'node:crypto';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { inject } from 'vitest';
import { createS3Client } from '../../src/storage/s3-storage.js';
import type { TestS3Config } from '../global-setup.js';

export function testS3(): TestS3Config {
  return inject('s3');
}

export interface StoredObject {
  body: Buffer;
  contentType?: string;
  cacheControl?: string;
}

export interface TestBucket {
  name: string;
  listKeys(prefix?: string): Promise<string[]>;
  getObject(key: string): Promise<StoredObject>;
}

/** A client for the test S3 server, made by the app's own factory (path-style, checksums as the app sends them). */
export function testS3Client(): S3Client {
  return createS3Client(testS3());
}

export async function createTestBucket(): Promise<TestBucket> {
  const client = testS3Client();
  const name = `test-${randomBytes(6).toString('hex')}`;
  await client.send(new CreateBucketCommand({ Bucket: name }));

  return {
    name,
    async listKeys(prefix) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(
          new ListObjectsV2Command({ Bucket: name, Prefix: prefix, ContinuationToken: token }),
        );
        for (const object of page.Contents ?? []) if (object.Key) keys.push(object.Key);
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return keys.sort();
    },
    async getObject(key) {
      const response = await client.send(new GetObjectCommand({ Bucket: name, Key: key }));
      const bytes = await response.Body?.transformToByteArray();
      return {
        body: Buffer.from(bytes ?? []),
        contentType: response.ContentType,
        cacheControl: response.CacheControl,
      };
    },
  };
}
