import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type MigrationRow as AppliedMigrationRow, MigrationError, migrate } from '../../src/db/migrate.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MIGRATIONS_DIR = path.join(ROOT, 'prisma/migrations');

/** The runner's view of a row, plus the column only Prisma's own tooling reads. */
interface MigrationRow extends AppliedMigrationRow {
  applied_steps_count: number;
}

async function localMigrations(): Promise<{ name: string; checksum: string }[]> {
  const entries = await readdir(MIGRATIONS_DIR, { withFileTypes: true });
  const names = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  return Promise.all(
    names.map(async (name) => ({
      name,
      checksum: createHash('sha256')
        .update(await readFile(path.join(MIGRATIONS_DIR, name, 'migration.sql')))
        .digest('hex'),
    })),
  );
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string, values: unknown[] = []) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

const migrationRows = (url: string) =>
  query<MigrationRow>(url, 'SELECT * FROM _prisma_migrations ORDER BY started_at, migration_name');

const tableExists = async (url: string, table: string) =>
  (await query<{ t: string | null }>(url, 'SELECT to_regclass($1)::text AS t', [table]))[0]?.t !== null;

// A copy of prisma/migrations that a test may change.
async function copyOfMigrations(parent: string, name: string): Promise<string> {
  const dir = path.join(parent, name);
  await cp(MIGRATIONS_DIR, dir, { recursive: true });
  return dir;
}

async function addMigration(dir: string, name: string, sql: string): Promise<void> {
  await mkdir(path.join(dir, name));
  await writeFile(path.join(dir, name, 'migration.sql'), sql);
}

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'migrate-test-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

// The steps share one database and run in order, like successive deployments.
describe('migrate() on one database over time', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ migrate: false });
  });
  afterAll(() => db?.drop());

  it('refuses a schema that has tables but no migration history (Prisma P3005)', async () => {
    await query(db.url, 'CREATE TABLE stray (id int)');
    await expect(migrate(db.url)).rejects.toThrow(/not empty/);
    expect(await tableExists(db.url, '_prisma_migrations')).toBe(false);
    expect(await tableExists(db.url, 'organizations')).toBe(false);
    await query(db.url, 'DROP TABLE stray');
  });

  it('applies every migration in name order and records it as Prisma does', async () => {
    const local = await localMigrations();
    const lines: string[] = [];
    const result = await migrate(db.url, { log: (line) => lines.push(line) });

    expect(result.applied).toEqual(local.map((m) => m.name));
    expect(lines).toEqual(local.map((m) => `Applying ${m.name}...`));
    const rows = await migrationRows(db.url);
    expect(rows.map((r) => [r.migration_name, r.checksum])).toEqual(local.map((m) => [m.name, m.checksum]));
    for (const row of rows) {
      expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(row.finished_at).toBeInstanceOf(Date);
      expect(row.finished_at?.getTime()).toBeGreaterThanOrEqual(row.started_at.getTime());
      expect(row).toMatchObject({ rolled_back_at: null, logs: null, applied_steps_count: 1 });
    }
  });

  it('creates the tables of the schema and the bookkeeping table with Prisma DDL', async () => {
    for (const table of ['organizations', 'users', 'memberships', 'api_keys']) {
      expect(await tableExists(db.url, table)).toBe(true);
    }
    const roles = await query<{ label: string }>(
      db.url,
      `SELECT enumlabel AS label FROM pg_enum WHERE enumtypid = '"Role"'::regtype ORDER BY enumsortorder`,
    );
    expect(roles.map((r) => r.label)).toEqual(['ADMIN', 'MEMBER']);

    const columns = await query(
      db.url,
      `SELECT column_name, data_type, character_maximum_length AS length, is_nullable, column_default
         FROM information_schema.columns
        WHERE table_name = '_prisma_migrations' AND table_schema = current_schema()
        ORDER BY ordinal_position`,
    );
    expect(columns).toEqual([
      {
        column_name: 'id',
        data_type: 'character varying',
        length: 36,
        is_nullable: 'NO',
        column_default: null,
      },
      {
        column_name: 'checksum',
        data_type: 'character varying',
        length: 64,
        is_nullable: 'NO',
        column_default: null,
      },
      {
        column_name: 'finished_at',
        data_type: 'timestamp with time zone',
        length: null,
        is_nullable: 'YES',
        column_default: null,
      },
      {
        column_name: 'migration_name',
        data_type: 'character varying',
        length: 255,
        is_nullable: 'NO',
        column_default: null,
      },
      { column_name: 'logs', data_type: 'text', length: null, is_nullable: 'YES', column_default: null },
      {
        column_name: 'rolled_back_at',
        data_type: 'timestamp with time zone',
        length: null,
        is_nullable: 'YES',
        column_default: null,
      },
      {
        column_name: 'started_at',
        data_type: 'timestamp with time zone',
        length: null,
        is_nullable: 'NO',
        column_default: 'now()',
      },
      {
        column_name: 'applied_steps_count',
        data_type: 'integer',
        length: null,
        is_nullable: 'NO',
        column_default: '0',
      },
    ]);
    const [pk] = await query<{ columns: string }>(
      db.url,
      `SELECT string_agg(a.attname, ',') AS columns FROM pg_index i
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
        WHERE i.indrelid = '_prisma_migrations'::regclass AND i.indisprimary`,
    );
    expect(pk?.columns).toBe('id');
  });

  it('does nothing the second time', async () => {
    const before = await migrationRows(db.url);
    expect(await migrate(db.url)).toEqual({ applied: [] });
    expect(await migrationRows(db.url)).toEqual(before);
  });

  it('refuses to run when an applied migration file has changed, and changes nothing', async () => {
    const dir = await copyOfMigrations(scratch, 'changed');
    const [first] = await localMigrations();
    if (!first) throw new Error('prisma/migrations is empty');
    await writeFile(path.join(dir, first.name, 'migration.sql'), '-- edited after it was applied\n', {
      flag: 'a',
    });
    await addMigration(dir, '20990101000000_would_be_next', 'CREATE TABLE never_created (id int);');

    const run = migrate(db.url, { migrationsDir: dir });
    await expect(run).rejects.toThrow(MigrationError);
    await expect(run).rejects.toThrow(new RegExp(`changed after they were applied: ${first.name}`));
    expect(await tableExists(db.url, 'never_created')).toBe(false);
    expect((await migrationRows(db.url)).map((r) => r.migration_name)).not.toContain(
      '20990101000000_would_be_next',
    );
  });

  it('accepts the same file with CRLF line endings (as Prisma does)', async () => {
    const dir = await copyOfMigrations(scratch, 'crlf');
    for (const { name } of await localMigrations()) {
      const file = path.join(dir, name, 'migration.sql');
      await writeFile(file, (await readFile(file, 'utf8')).replaceAll('\n', '\r\n'));
    }
    expect(await migrate(db.url, { migrationsDir: dir })).toEqual({ applied: [] });
  });

  it('rolls back a failing migration whole and records nothing, then applies it once fixed', async () => {
    const dir = await copyOfMigrations(scratch, 'failing');
    const name = '20990102000000_add_notes';
    await addMigration(dir, name, 'CREATE TABLE notes (id int);\nSELECT 1 / 0;\n');

    await expect(migrate(db.url, { migrationsDir: dir })).rejects.toThrow(
      new RegExp(`${name} failed and was rolled back.*division by zero`),
    );
    expect(await tableExists(db.url, 'notes')).toBe(false);
    expect((await migrationRows(db.url)).map((r) => r.migration_name)).not.toContain(name);

    await writeFile(path.join(dir, name, 'migration.sql'), 'CREATE TABLE notes (id int);\n');
    expect(await migrate(db.url, { migrationsDir: dir })).toEqual({ applied: [name] });
    expect(await tableExists(db.url, 'notes')).toBe(true);
  });

  it('warns about a recorded migration that is missing from the folder, and goes on', async () => {
    const lines: string[] = [];
    expect(await migrate(db.url, { log: (line) => lines.push(line) })).toEqual({ applied: [] });
    expect(lines).toEqual([expect.stringMatching(/20990102000000_add_notes is recorded .* missing/)]);
  });

  it('refuses to continue after a failed migration (Prisma P3009) until it is marked rolled back', async () => {
    const id = '00000000-0000-4000-8000-000000000000';
    await query(
      db.url,
      `INSERT INTO _prisma_migrations (id, checksum, migration_name, logs, started_at, applied_steps_count)
       VALUES ($1, $2, '20990103000000_crashed', 'syntax error', now(), 0)`,
      [id, '0'.repeat(64)],
    );
    await expect(migrate(db.url)).rejects.toThrow(
      /failed migrations in the database: 20990103000000_crashed/,
    );

    await query(db.url, 'UPDATE _prisma_migrations SET rolled_back_at = now() WHERE id = $1', [id]);
    expect(await migrate(db.url)).toEqual({ applied: [] });
  });
});

describe('concurrent migrate() runs', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ migrate: false });
  });
  afterAll(() => db?.drop());

  it('both succeed and each migration is applied exactly once', async () => {
    const local = await localMigrations();
    const results = await Promise.all([migrate(db.url), migrate(db.url), migrate(db.url)]);

    expect(results.flatMap((r) => r.applied).sort()).toEqual(local.map((m) => m.name));
    const rows = await migrationRows(db.url);
    expect(rows.map((r) => r.migration_name)).toEqual(local.map((m) => m.name));
    expect(rows.every((r) => r.finished_at !== null)).toBe(true);
  });

  it('npm run db:migrate (migrate-cli) reports that nothing is pending', async () => {
    const result = await runCli({ DATABASE_URL: db.url });
    expect(result).toMatchObject({ code: 0, stdout: 'No pending migrations.\n' });
  });
});

describe('migrate-cli', () => {
  it('applies pending migrations, one line each', async () => {
    const db = await createTestDatabase({ migrate: false });
    try {
      const result = await runCli({ DATABASE_URL: db.url });
      const expected = (await localMigrations()).map((m) => `Applied ${m.name}\n`).join('');
      expect(result).toMatchObject({ code: 0, stdout: expected });
    } finally {
      await db.drop();
    }
  });

  it('exits 1 with a clear message when DATABASE_URL is missing', async () => {
    const result = await runCli({});
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/DATABASE_URL is not set/);
  });

  it('exits 1 without printing the password when the database is unreachable', async () => {
    const result = await runCli({ DATABASE_URL: 'postgresql://postgres:hunter2-s3cret@127.0.0.1:1/nowhere' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^Migration failed: .*ECONNREFUSED/);
    expect(result.stderr + result.stdout).not.toContain('hunter2');
  });
});

function runCli(
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const { DATABASE_URL: _ignored, ...inherited } = process.env;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/db/migrate-cli.ts'],
      { cwd: ROOT, env: { ...inherited, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
      },
    );
  });
}
