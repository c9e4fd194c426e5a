// What the service runs against, started the way `npm run demo` does (src/demo/main.ts), but in
// the bench process: embedded PGlite in memory (or a fresh database on BENCH_DATABASE_URL's
// server) and embedded S3 in a temporary folder, migrated and seeded with the admin CLI's own
// functions. The service itself runs in its own process (service-process.ts), configured by appEnv.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { createKey, createOrg, createUser } from '../src/cli/commands.js';
import { loadConfig, type StorageConfig } from '../src/config/env.js';
import { createDb } from '../src/db/client.js';
import { migrate } from '../src/db/migrate.js';
import { startEmbeddedPostgres } from '../src/embedded/postgres.js';
import { type EmbeddedS3, startEmbeddedS3 } from '../src/embedded/s3.js';

export interface Seed {
  orgId: string;
  apiKey: string;
  userIds: string[];
}

export interface Services {
  databaseUrl: string;
  /** One line for the report: which Postgres, which S3. */
  description: string;
  s3: EmbeddedS3;
  /** The embedded S3 as the app's config sees it (for the baseline and the bucket check). */
  storage: StorageConfig;
  seed: Seed;
  stop(): Promise<void>;
}

export async function startServices(options: { externalDatabaseUrl?: string; users: number }) {
  const stops: Array<() => Promise<void>> = [];
  const stop = async () => {
    for (const fn of stops.reverse()) await fn().catch((err) => console.error(`cleanup: ${err}`));
  };
  try {
    const db = options.externalDatabaseUrl
      ? await freshDatabase(options.externalDatabaseUrl)
      : await embeddedDatabase();
    stops.push(db.drop);

    const dir = await mkdtemp(path.join(os.tmpdir(), 'avatar-bench-s3-'));
    stops.push(() => rm(dir, { recursive: true, force: true }));
    const s3 = await startEmbeddedS3({ directory: dir, port: 0, bucket: 'avatars' });
    stops.push(s3.stop);

    await migrate(db.url);
    const seed = await seedBench(db.url, options.users);
    const description = `${db.description}; embedded S3 (s3rver, in the bench process) in ${dir}`;
    const storage = loadConfig(appEnv({ databaseUrl: db.url, s3 }, 'sanitize')).storage as StorageConfig;
    return { databaseUrl: db.url, description, s3, storage, seed, stop } satisfies Services;
  } catch (err) {
    await stop();
    throw err;
  }
}

async function embeddedDatabase() {
  const pglite = await startEmbeddedPostgres(); // no dataDir: in memory
  return {
    url: pglite.url,
    description: 'embedded PGlite (in memory, wire protocol, in the bench process)',
    drop: pglite.stop,
  };
}

/** A new database `bench_<random>` on the given server; dropped again by `drop`. */
async function freshDatabase(serverUrl: string) {
  const name = `bench_${randomBytes(6).toString('hex')}`;
  const admin = async <T>(fn: (client: pg.Client) => Promise<T>) => {
    const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 10_000 });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };
  const version = await admin(async (client) => {
    await client.query(`CREATE DATABASE ${name}`);
    return (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version;
  });
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    description: `PostgreSQL ${version} at ${url.host}, fresh database ${name} (dropped at the end)`,
    drop: () =>
      admin(async (client) => void (await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))),
  };
}

/** One org, an ADMIN with an org-scoped key, and `users` embedded (JWT SSO) members. */
async function seedBench(databaseUrl: string, users: number): Promise<Seed> {
  const db = createDb({ url: databaseUrl, poolMax: 2, timeoutMs: 10_000 });
  try {
    const org = await createOrg(db, { name: 'Bench Org' });
    const admin = await createUser(db, { email: 'admin@bench.test', org: org.id, role: 'ADMIN' });
    const key = await createKey(db, { user: admin.id, org: org.id });
    const userIds: string[] = [];
    for (let i = 0; i < users; i++) {
      const user = await createUser(db, {
        email: `embedded-${i}@bench.test`,
        org: org.id,
        role: 'MEMBER',
        embedded: true,
      });
      userIds.push(user.id);
    }
    return { orgId: org.id, apiKey: key.key, userIds };
  } finally {
    await db.$disconnect();
  }
}

/**
 * The service process's environment. Anything else set in the bench's environment
 * (IMAGE_CONCURRENCY, IMAGE_MOZJPEG, DB_POOL_MAX, REDIS_URL, ...) is honoured, as in production;
 * where the services are, the log level and the rate limit are the benchmark's (HOST and PORT
 * are set by startServiceProcess).
 */
export function appEnv(
  services: Pick<Services, 'databaseUrl' | 's3'>,
  mode: 'passthrough' | 'sanitize',
): Record<string, string | undefined> {
  const { s3 } = services;
  return {
    ...process.env,
    DATABASE_URL: services.databaseUrl,
    S3_BUCKET_NAME: s3.bucket,
    S3_BUCKET_REGION: s3.region,
    S3_BUCKET_ENDPOINT: s3.endpoint,
    S3_BUCKET_ACCESS_KEY_ID: s3.accessKeyId,
    S3_BUCKET_SECRET_ACCESS_KEY: s3.secretAccessKey,
    S3_CDN_BASE_URL: undefined,
    LOG_LEVEL: 'warn',
    RATE_LIMIT_MAX: '1000000000',
    AVATAR_PROCESSING: mode,
  };
}
