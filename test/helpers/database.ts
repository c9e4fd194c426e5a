// A private, migrated database for one test file:
//
//   const db = await createTestDatabase();   // in beforeAll
//   afterAll(() => db.drop());
//
// On a real server (TEST_DATABASE_URL): CREATE DATABASE test_<random>, migrate, and
// DROP DATABASE ... WITH (FORCE) at the end.
//
// On the embedded PGlite a schema per file does not isolate anything: PGlite is a single backend
// session shared by every socket connection, so search_path (SET or the startup `options`, which
// it ignores anyway) would leak between files, and it cannot serve a second database either (the
// startup message's database name is ignored). So each file gets its own PGlite server, started
// from the template the global setup dumped (about 1 s, instead of 6 s for initdb), then migrated
// like a real one. Both pg and @prisma/adapter-pg connect to it with the plain URL.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { inject } from 'vitest';
import { migrate } from '../../src/db/migrate.js';
import { startEmbeddedPostgres } from '../../src/embedded/postgres.js';

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export interface TestDatabaseOptions {
  /** Apply prisma/migrations (default true); false gives an empty database. */
  migrate?: boolean;
}

export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const config = inject('database');
  const database =
    config.kind === 'server' ? await createOnServer(config.url) : await createEmbedded(config.template);
  if (options.migrate ?? true) {
    try {
      await migrate(database.url);
    } catch (error) {
      await database.drop();
      throw error;
    }
  }
  return database;
}

async function createEmbedded(template: string): Promise<TestDatabase> {
  const server = await startEmbeddedPostgres({ loadDataDir: new Blob([await readFile(template)]) });
  return { url: server.url, drop: () => server.stop() };
}

async function createOnServer(serverUrl: string): Promise<TestDatabase> {
  const name = `test_${randomBytes(8).toString('hex')}`;
  await withClient(serverUrl, (client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let dropped: Promise<void> | undefined;
  return {
    url: url.toString(),
    drop() {
      dropped ??= withClient(serverUrl, async (client) => {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      });
      return dropped;
    },
  };
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
