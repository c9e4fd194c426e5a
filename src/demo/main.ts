import { mkdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import sharp from 'sharp';
import { z } from 'zod';
import { buildApp } from '../app.js';
import { ConfigError, loadConfig } from '../config/env.js';
import { createDb } from '../db/client.js';
import { migrate } from '../db/migrate.js';
import { startEmbeddedPostgres } from '../embedded/postgres.js';
import { startEmbeddedS3 } from '../embedded/s3.js';
import { closeOnSignals } from '../lifecycle.js';
import { ensureDemoSeed } from './seed.js';

// `npm run demo`: the service on its embedded default. Without DATABASE_URL it
// runs PGlite over the Postgres wire protocol; without S3_BUCKET_NAME, s3rver.
// Either way the production code path (pg + Prisma adapter, AWS SDK) is used.

const DATA_DIR = path.resolve('.data');

// Fixed ports by default, so the avatar URLs stored in the demo database stay
// valid across runs; overridable (0 = any free port) for tests and clashes.
const demoEnv = z.object({
  DEMO_S3_PORT: z.coerce.number().int().min(0).max(65_535).default(4569),
  DEMO_PG_PORT: z.coerce.number().int().min(0).max(65_535).default(54329),
});

async function main() {
  const env: Record<string, string | undefined> = { ...process.env };
  const ports = demoEnv.parse(env);
  await mkdir(DATA_DIR, { recursive: true });
  const stops: Array<() => Promise<void>> = [];

  if (!env.DATABASE_URL) {
    const pg = await startEmbeddedPostgres({
      dataDir: path.join(DATA_DIR, 'pglite'),
      port: ports.DEMO_PG_PORT,
    });
    stops.push(pg.stop);
    env.DATABASE_URL = pg.url;
    env.DB_POOL_MAX ??= '10';
  }
  if (!env.S3_BUCKET_NAME) {
    const s3 = await startEmbeddedS3({
      directory: path.join(DATA_DIR, 's3'),
      port: ports.DEMO_S3_PORT,
      bucket: 'avatars',
    });
    stops.push(s3.stop);
    Object.assign(env, {
      S3_BUCKET_NAME: s3.bucket,
      S3_BUCKET_REGION: s3.region,
      S3_BUCKET_ENDPOINT: s3.endpoint,
      S3_BUCKET_ACCESS_KEY_ID: s3.accessKeyId,
      S3_BUCKET_SECRET_ACCESS_KEY: s3.secretAccessKey,
    });
  }
  env.HOST ??= '127.0.0.1';
  env.LOG_LEVEL ??= 'warn';

  const config = loadConfig(env);
  const databaseUrl = config.databaseUrl as string;
  const { applied } = await migrate(databaseUrl);

  const db = createDb({ url: databaseUrl, ...config.db });
  const { seed, reused } = await ensureDemoSeed(db, path.join(DATA_DIR, 'demo-seed.json'));
  const sample = path.join(DATA_DIR, 'demo-avatar.jpg');
  await sharp({ create: { width: 256, height: 256, channels: 3, background: '#4f46e5' } })
    .jpeg()
    .toFile(sample);

  const app = await buildApp(config, { db });
  closeOnSignals(
    async () => {
      await app.close();
      await db.$disconnect();
      for (const stop of stops.reverse()) await stop();
    },
    config.server.shutdownTimeoutMs,
    (msg) => console.log(msg),
  );
  await app.listen({ port: config.server.port, host: config.server.host });

  const { port } = app.server.address() as AddressInfo;
  const base = `http://${config.server.host === '0.0.0.0' ? '127.0.0.1' : config.server.host}:${port}`;
  const url = `${base}/api/public/organizations/${seed.orgId}/embedded-users/${seed.userId}/avatar`;
  console.log(`
Avatar service (demo) listening on ${base}
  database: ${process.env.DATABASE_URL ? 'DATABASE_URL from the environment' : `embedded PGlite, data in .data/pglite`}
  storage:  ${process.env.S3_BUCKET_NAME ? 'S3 from the environment' : `embedded S3 at ${config.storage?.publicBaseUrl}, data in .data/s3`}
  migrations applied now: ${applied.length ? applied.join(', ') : 'none pending'}
  demo org, admin key and embedded user: ${reused ? 'reused from .data/demo-seed.json' : 'created'}

Upload an avatar (paste into another terminal):

  curl -sS -H 'Authorization: Bearer ${seed.key}' -F 'avatar=@${sample}' '${url}'

The answer is {"data":{"avatarUrl":"..."}}: open that URL in a browser to see the image.
Check the row with:

  DATABASE_URL='${databaseUrl}' npm run -s admin -- user:get --id ${seed.userId}

Stop with Ctrl-C.`);
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : `Demo failed to start: ${(err as Error).message}`);
  process.exit(1);
});
