import { DeleteObjectCommand, HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { StorageConfig } from '../config/env.js';
import { type AvatarStorage, StorageError } from './storage.js';

// Keys are server-generated and never reused, so a URL always names the same bytes.
const CACHE_CONTROL = 'public, max-age=31536000, immutable';

export function createS3Client(
  config: Pick<StorageConfig, 'region' | 'endpoint' | 'accessKeyId' | 'secretAccessKey'>,
): S3Client {
  const credentials =
    config.accessKeyId && config.secretAccessKey
      ? { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey }
      : undefined; // fall back to the SDK's default chain (instance role, env, profile)
  return new S3Client({
    region: config.region,
    credentials,
    ...(config.endpoint
      ? {
          endpoint: config.endpoint,
          forcePathStyle: true,
          // MinIO and other S3-compatible stores reject the SDK's newer default
          // checksums (CRC32 trailers); only send them where the API requires one.
          requestChecksumCalculation: 'WHEN_REQUIRED',
          responseChecksumValidation: 'WHEN_REQUIRED',
        }
      : {}),
    // The SDK's standard retries (backoff on 5xx, throttling, resets) are safe
    // here because every call carries an abort signal: the request's deadline and
    // S3_TIMEOUT_MS bound all attempts together, so a retry never outlives them.
    maxAttempts: 3,
  });
}

export function createS3Storage(client: S3Client, config: StorageConfig): AvatarStorage {
  const withDeadline = (signal: AbortSignal) =>
    AbortSignal.any([signal, AbortSignal.timeout(config.timeoutMs)]);
  const call = async (
    what: string,
    fn: (abortSignal: AbortSignal) => Promise<unknown>,
    signal: AbortSignal,
  ) => {
    try {
      await fn(withDeadline(signal));
    } catch (err) {
      throw new StorageError(`S3 ${what} failed`, { cause: err });
    }
  };
  const prefix = `${config.publicBaseUrl}/`;

  return {
    put: (key, body, contentType, signal) =>
      call(
        'put',
        (abortSignal) =>
          client.send(
            new PutObjectCommand({
              Bucket: config.bucket,
              Key: key,
              Body: body,
              ContentType: contentType,
              ContentLength: body.length,
              CacheControl: CACHE_CONTROL,
            }),
            { abortSignal },
          ),
        signal,
      ),
    delete: (key, signal) =>
      call(
        'delete',
        (abortSignal) =>
          client.send(new DeleteObjectCommand({ Bucket: config.bucket, Key: key }), { abortSignal }),
        signal,
      ),
    publicUrl: (key) => `${prefix}${key}`,
    keyFromUrl: (url) => (url.startsWith(prefix) ? url.slice(prefix.length) : undefined),
    check: (signal) =>
      call(
        'head bucket',
        (abortSignal) => client.send(new HeadBucketCommand({ Bucket: config.bucket }), { abortSignal }),
        signal,
      ),
  };
}
