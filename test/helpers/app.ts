import { PassThrough } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, onTestFinished } from 'vitest';
import { type AppDeps, buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { createDb, type Db } from '../../src/db/client.js';
import { createTestDatabase } from './database.js';
import { createTestBucket, type TestBucket, testS3 } from './s3.js';

export interface TestServices {
  db: Db;
  databaseUrl: string;
  bucket: TestBucket;
  /** The environment a production deployment would have, pointing at the test services. */
  env: Record<string, string>;
}

/**
 * Gives a test file its own database and bucket (so files run in parallel) and
 * removes them afterwards. Call once at the top of a test file.
 */
export function useTestServices(): TestServices {
  const services = {} as TestServices;
  let dropDatabase: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const database = await createTestDatabase();
    dropDatabase = database.drop;
    services.databaseUrl = database.url;
    services.db = createDb({ url: database.url, poolMax: 5, timeoutMs: 10_000 });
    services.bucket = await createTestBucket();
    const s3 = testS3();
    services.env = {
      DATABASE_URL: database.url,
      S3_BUCKET_NAME: services.bucket.name,
      S3_BUCKET_REGION: s3.region,
      S3_BUCKET_ENDPOINT: s3.endpoint,
      S3_BUCKET_ACCESS_KEY_ID: s3.accessKeyId,
      S3_BUCKET_SECRET_ACCESS_KEY: s3.secretAccessKey,
      LOG_LEVEL: 'silent',
    };
  });
  afterAll(async () => {
    await services.db?.$disconnect();
    await dropDatabase?.();
  });
  return services;
}

export interface TestApp {
  app: FastifyInstance;
  /** Every log line the app wrote, as parsed JSON (only when `captureLogs`). */
  logs: () => Record<string, unknown>[];
}

/**
 * Builds the app exactly as production does (config from an environment, then
 * buildApp), with `env` overrides and injected deps; closes it after the test.
 */
export async function buildTestApp(
  services: TestServices,
  options: { env?: Record<string, string | undefined>; deps?: AppDeps; captureLogs?: boolean } = {},
): Promise<TestApp> {
  const env: Record<string, string | undefined> = { ...services.env, ...options.env };
  const lines: string[] = [];
  const deps: AppDeps = { db: services.db, ...options.deps };
  if (options.captureLogs) {
    env.LOG_LEVEL = options.env?.LOG_LEVEL ?? 'debug';
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
    deps.logStream = stream;
  }
  const app = await buildApp(loadConfig(env), deps);
  onTestFinished(() => app.close());
  await app.ready();
  return { app, logs: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

/** A short request budget with every dependency deadline inside it, as the config requires. */
export function shortRequestBudget(requestTimeoutMs: number): Record<string, string> {
  const inner = String(requestTimeoutMs - 500);
  return {
    REQUEST_TIMEOUT_MS: String(requestTimeoutMs),
    DB_TIMEOUT_MS: inner,
    S3_TIMEOUT_MS: inner,
    REDIS_TIMEOUT_MS: inner,
    IMAGE_TIMEOUT_MS: inner,
  };
}
