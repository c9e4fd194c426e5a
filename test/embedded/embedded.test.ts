import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../../src/embedded/postgres.js';
import { type EmbeddedS3, startEmbeddedS3 } from '../../src/embedded/s3.js';
import { PrismaClient } from '../../src/generated/prisma/client.js';
import { createS3Client } from '../../src/storage/s3-storage.js';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'embedded-test-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('embedded Postgres (PGlite over the wire protocol)', () => {
  let postgres: EmbeddedPostgres;
  let dataDir: string;
  // A fresh initdb, as `npm run demo` does on first start: several seconds on a busy machine.
  beforeAll(async () => {
    dataDir = path.join(scratch, 'pgdata');
    postgres = await startEmbeddedPostgres({ dataDir, port: 0 });
  }, 120_000);
  afterAll(() => postgres?.stop());

  it('answers node-postgres on a random loopback port, with transactions', async () => {
    expect(postgres.url).toMatch(/^postgresql:\/\/postgres:postgres@127\.0\.0\.1:\d+\/postgres$/);
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ version: string }>('SELECT version() AS version');
      expect(rows[0]?.version).toMatch(/PGlite/);

      await client.query('CREATE TABLE counters (name text PRIMARY KEY, n int NOT NULL)');
      await client.query('BEGIN');
      await client.query('INSERT INTO counters VALUES ($1, $2)', ['kept', 1]);
      await client.query('COMMIT');
      await client.query('BEGIN');
      await client.query('INSERT INTO counters VALUES ($1, $2)', ['discarded', 2]);
      await client.query('ROLLBACK');
      const { rows: names } = await client.query<{ name: string }>('SELECT name FROM counters');
      expect(names).toEqual([{ name: 'kept' }]);
      await client.query('DROP TABLE counters');
    } finally {
      await client.end();
    }
  });

  it('serves a pool of several connections at once (transactions do not interleave)', async () => {
    const pool = new pg.Pool({ connectionString: postgres.url, max: 4 });
    try {
      await pool.query('CREATE TABLE hits (id int PRIMARY KEY)');
      await Promise.all(
        Array.from({ length: 40 }, async (_, i) => {
          const client = await pool.connect();
          try {
            await client.query('BEGIN');
            await client.query('INSERT INTO hits VALUES ($1)', [i]);
            await client.query(i % 4 === 0 ? 'ROLLBACK' : 'COMMIT');
          } finally {
            client.release();
          }
        }),
      );
      const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM hits');
      expect(rows[0]?.n).toBe(30);
      await pool.query('DROP TABLE hits');
    } finally {
      await pool.end();
    }
  });

  // pglite-socket's multiplexer sends extended-protocol answers to the wrong client under this
  // load (electric-sql/pglite#1046); pglite-wire.ts must not.
  it('answers each client its own parameterised queries while others run transactions', async () => {
    const pool = new pg.Pool({ connectionString: postgres.url, max: 6 });
    try {
      await pool.query('CREATE TABLE ledger (id int PRIMARY KEY)');
      const wrong: unknown[] = [];
      await Promise.all(
        Array.from({ length: 300 }, async (_, i) => {
          if (i % 3 === 0) {
            const client = await pool.connect();
            try {
              await client.query('BEGIN');
              await client.query('INSERT INTO ledger VALUES ($1)', [i]);
              await client.query('COMMIT');
            } finally {
              client.release();
            }
          } else if (i % 10 === 1) {
            await expect(pool.query('SELECT $1::int / 0', [i])).rejects.toThrow(/division by zero/);
          } else {
            const { rows } = await pool.query('SELECT $1::int AS n, $2::text AS s', [i, `s${i}`]);
            if (rows[0]?.n !== i || rows[0]?.s !== `s${i}`) wrong.push(rows);
          }
        }),
      );
      expect(wrong).toEqual([]);
      expect((await pool.query('SELECT count(*)::int AS n FROM ledger')).rows[0]?.n).toBe(100);
      await pool.query('DROP TABLE ledger');
    } finally {
      await pool.end();
    }
  });

  it('rolls back what a vanished client left open, and lets the others go on', async () => {
    const leaver = new pg.Client({ connectionString: postgres.url });
    leaver.on('error', () => {});
    await leaver.connect();
    await leaver.query('BEGIN');
    await leaver.query('CREATE TABLE left_behind (id int)');
    const other = new pg.Client({ connectionString: postgres.url });
    await other.connect();
    try {
      // Waits for the open transaction, which ends when its client's socket goes away.
      const answer = other.query<{ t: string | null }>("SELECT to_regclass('left_behind')::text AS t");
      leaver.connection.stream.destroy();
      expect((await answer).rows).toEqual([{ t: null }]);
    } finally {
      await other.end();
    }
  });

  it('refuses clients beyond maxConnections with a Postgres error', async () => {
    const clients = Array.from({ length: postgres.maxConnections + 1 }, () => {
      const client = new pg.Client({ connectionString: postgres.url });
      client.on('error', () => {});
      return client;
    });
    const results = await Promise.allSettled(clients.map((client) => client.connect()));
    try {
      const refused = results.filter((r) => r.status === 'rejected');
      expect(refused).toHaveLength(1);
      expect(String((refused[0] as PromiseRejectedResult).reason)).toMatch(/too many clients/);
    } finally {
      await Promise.all(clients.map((client) => client.end().catch(() => {})));
    }
  });

  it('takes the migrations, then answers Prisma through @prisma/adapter-pg', async () => {
    expect((await migrate(postgres.url)).applied.length).toBeGreaterThan(0);
    expect(await migrate(postgres.url)).toEqual({ applied: [] });

    const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: postgres.url, max: 2 }) });
    try {
      expect(await prisma.$queryRaw`SELECT 1 AS one`).toEqual([{ one: 1 }]);
      const org = await prisma.organization.create({ data: { name: 'Acme' } });
      const [user] = await prisma.$transaction([
        prisma.user.create({
          data: {
            email: 'embedded@example.com',
            ssoOrganizationId: org.id,
            memberships: { create: { organizationId: org.id, role: 'MEMBER' } },
          },
        }),
      ]);
      const membership = await prisma.$transaction((tx) =>
        tx.membership.findUnique({
          where: { organizationId_userId: { organizationId: org.id, userId: user.id } },
        }),
      );
      expect(membership?.role).toBe('MEMBER');

      await expect(
        prisma.$transaction(async (tx) => {
          await tx.organization.create({ data: { name: 'Rolled back' } });
          throw new Error('abort');
        }),
      ).rejects.toThrow('abort');
      expect(await prisma.organization.count()).toBe(1);
    } finally {
      await prisma.$disconnect();
    }
  });

  it('keeps its data folder across a restart', async () => {
    await postgres.stop();
    postgres = await startEmbeddedPostgres({ dataDir });
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ name: string }>('SELECT name FROM organizations');
      expect(rows).toEqual([{ name: 'Acme' }]);
    } finally {
      await client.end();
    }
  });
});

describe('embedded S3 (s3rver)', () => {
  let s3: EmbeddedS3;
  let client: S3Client;
  beforeAll(async () => {
    s3 = await startEmbeddedS3({ directory: path.join(scratch, 's3'), bucket: 'avatars' });
    client = createS3Client(s3);
  });
  afterAll(async () => {
    client?.destroy();
    await s3?.stop();
  });

  const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');

  it('stores and returns objects through the AWS SDK with its own credentials', async () => {
    expect(s3).toMatchObject({ bucket: 'avatars', accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });
    expect(s3.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await client.send(
      new PutObjectCommand({
        Bucket: 'avatars',
        Key: 'users/u1/a.png',
        Body: png,
        ContentType: 'image/png',
        CacheControl: 'public, max-age=31536000, immutable',
      }),
    );
    const object = await client.send(new GetObjectCommand({ Bucket: 'avatars', Key: 'users/u1/a.png' }));
    expect(Buffer.from((await object.Body?.transformToByteArray()) ?? [])).toEqual(png);
    expect(object.ContentType).toBe('image/png');
    expect(object.CacheControl).toBe('public, max-age=31536000, immutable');
  });

  it('serves objects to an anonymous HTTP GET at endpoint/bucket/key, as a browser would open them', async () => {
    const response = await fetch(`${s3.endpoint}/avatars/users/u1/a.png`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await response.arrayBuffer())).toEqual(png);

    expect((await fetch(`${s3.endpoint}/avatars/users/u1/missing.png`)).status).toBe(404);
  });

  it('refuses requests signed with other credentials', async () => {
    const stranger = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      credentials: { accessKeyId: 'SOMEONE', secretAccessKey: 'ELSE' },
      forcePathStyle: true,
    });
    try {
      await expect(
        stranger.send(new PutObjectCommand({ Bucket: 'avatars', Key: 'x', Body: 'x' })),
      ).rejects.toThrow(/InvalidAccessKeyId|does not exist/);
    } finally {
      stranger.destroy();
    }
  });
});
