// Applies prisma/migrations/<name>/migration.sql the way `prisma migrate deploy` does, without
// Prisma's native schema engine (it cannot be downloaded on our build machines, see README).
// The bookkeeping is Prisma's own: the `_prisma_migrations` table with the same DDL, the SHA-256
// of each script as its checksum, and advisory lock 72707369, so `prisma migrate status`/`deploy`
// on a connected machine agree with what this runner did.
import { createHash, randomUUID } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export interface MigrateOptions {
  /** Folder holding `<name>/migration.sql`; defaults to the project's `prisma/migrations`. */
  migrationsDir?: string;
  /** Progress and warnings, one line per call. */
  log?: (line: string) => void;
  /** How long to wait for another run holding the migration lock (default 30 s). */
  lockTimeoutMs?: number;
}

export interface MigrateResult {
  /** Names of the migrations this run applied, in order. */
  applied: string[];
}

/** Refusals and failures of a migration run; the message is safe to print. */
export class MigrationError extends Error {
  override name = 'MigrationError';
}

// Prisma's identifier for Migrate's advisory lock (prisma-engines, postgres flavour).
const PRISMA_ADVISORY_LOCK_ID = 72707369;
const LOCK_POLL_MS = 200;
const CONNECT_TIMEOUT_MS = 10_000;

// From prisma-engines' Postgres flavour, `create_migrations_table`.
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
)`;

// Tables Prisma ignores when it decides whether a schema without history is empty.
const IGNORED_TABLES = new Set(['spatial_ref_sys']);

const DEFAULT_MIGRATIONS_DIR = fileURLToPath(new URL('../../prisma/migrations', import.meta.url));

interface LocalMigration {
  name: string;
  script: string;
  checksum: string;
}

/** A row of `_prisma_migrations` as the runner reads it. */
export interface MigrationRow {
  id: string;
  checksum: string;
  migration_name: string;
  started_at: Date;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  logs: string | null;
}

export function checksumOf(script: string): string {
  return createHash('sha256').update(script, 'utf8').digest('hex');
}

// Prisma accepts a recorded checksum computed with LF or CRLF line endings (git may convert
// them on checkout), and un-padded hex written by old engine versions (prisma-engines#1887).
function matchesChecksum(script: string, recorded: string): boolean {
  const variants = [script, script.replaceAll('\r\n', '\n'), script.replaceAll('\n', '\r\n')];
  return variants.some((variant) => {
    const digest = createHash('sha256').update(variant, 'utf8').digest();
    const hex =
      recorded.length === 64
        ? digest.toString('hex')
        : Array.from(digest, (byte) => byte.toString(16)).join('');
    return hex === recorded;
  });
}

async function readLocalMigrations(dir: string): Promise<LocalMigration[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    throw new MigrationError(`Cannot read the migrations folder ${dir}.`);
  }
  await checkLockFile(dir);
  // Byte order, as Prisma sorts the folder names.
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return Promise.all(
    names.map(async (name) => {
      let script: string;
      try {
        script = await readFile(path.join(dir, name, 'migration.sql'), 'utf8');
      } catch {
        throw new MigrationError(`The migration folder ${name} has no readable migration.sql.`);
      }
      return { name, script, checksum: checksumOf(script) };
    }),
  );
}

async function checkLockFile(dir: string): Promise<void> {
  let lock: string;
  try {
    lock = await readFile(path.join(dir, 'migration_lock.toml'), 'utf8');
  } catch {
    return;
  }
  const provider = /^\s*provider\s*=\s*"([^"]*)"/m.exec(lock)?.[1];
  if (provider !== undefined && provider !== 'postgresql') {
    throw new MigrationError(`The migrations were written for "${provider}", not for PostgreSQL.`);
  }
}

export async function migrate(databaseUrl: string, options: MigrateOptions = {}): Promise<MigrateResult> {
  const log = options.log ?? (() => {});
  const local = await readLocalMigrations(options.migrationsDir ?? DEFAULT_MIGRATIONS_DIR);

  const client = new pg.Client({
    connectionString: databaseUrl,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: 'db-migrate',
  });
  // A dropped connection must reject the pending query, not crash the process.
  client.on('error', () => {});
  await client.connect();
  try {
    await useSchemaFromUrl(client, databaseUrl);
    const locked = await acquireLock(client, options.lockTimeoutMs ?? 30_000, log);
    try {
      return { applied: await applyPending(client, local, log) };
    } finally {
      // Ending the session releases the lock too, so a failed unlock must not hide the real error.
      if (locked)
        await client.query('SELECT pg_advisory_unlock($1)', [PRISMA_ADVISORY_LOCK_ID]).catch(() => {});
    }
  } finally {
    await client.end().catch(() => {});
  }
}

// Prisma URLs may carry `?schema=name`; node-postgres ignores it, so apply it as Prisma would.
async function useSchemaFromUrl(client: pg.Client, databaseUrl: string): Promise<void> {
  let schema: string | null = null;
  try {
    schema = new URL(databaseUrl).searchParams.get('schema');
  } catch {
    // Not a URL (a libpq key=value string): there is no schema parameter to honour.
  }
  if (!schema) return;
  const quoted = pg.escapeIdentifier(schema);
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
  await client.query(`SET search_path TO ${quoted}`);
}

async function acquireLock(client: pg.Client, timeoutMs: number, log: (line: string) => void) {
  const deadline = Date.now() + timeoutMs;
  let waiting = false;
  for (;;) {
    let acquired: boolean;
    try {
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [
        PRISMA_ADVISORY_LOCK_ID,
      ]);
      acquired = rows[0]?.locked === true;
    } catch (error) {
      // PGlite (the embedded server) has advisory locks, but all its clients share one backend
      // session, so the lock never excludes anyone there anyway. Should a build lack the function,
      // go on without it: applyPending re-checks each migration inside its transaction, and the
      // embedded server (src/embedded/pglite-wire.ts) runs one transaction at a time.
      if (await isPglite(client)) {
        log('Advisory locks are unavailable on this embedded PGlite server; continuing without.');
        return false;
      }
      throw error;
    }
    if (acquired) return true;
    if (Date.now() >= deadline) {
      throw new MigrationError(
        `Another migration run has held the migration lock (pg_advisory_lock ${PRISMA_ADVISORY_LOCK_ID}) ` +
          `for more than ${Math.round(timeoutMs / 1000)} s; try again once it has finished.`,
      );
    }
    if (!waiting) log('Waiting for another migration run to finish...');
    waiting = true;
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
  }
}

async function isPglite(client: pg.Client): Promise<boolean> {
  const { rows } = await client.query<{ version: string }>('SELECT version() AS version');
  return rows[0]?.version.includes('PGlite') ?? false;
}

async function inTransaction<T>(client: pg.Client, work: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await work();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

async function applyPending(
  client: pg.Client,
  local: LocalMigration[],
  log: (line: string) => void,
): Promise<string[]> {
  await inTransaction(client, () => ensureMigrationsTable(client));
  const { rows } = await client.query<MigrationRow>(
    'SELECT id, checksum, migration_name, started_at, finished_at, rolled_back_at, logs ' +
      'FROM _prisma_migrations ORDER BY started_at',
  );
  refuseBrokenHistory(rows, local, log);

  const applied = new Set(rows.filter((row) => row.rolled_back_at === null).map((row) => row.migration_name));
  const names: string[] = [];
  for (const migration of local.filter((m) => !applied.has(m.name))) {
    log(`Applying ${migration.name}...`);
    if (await applyOne(client, migration)) names.push(migration.name);
  }
  return names;
}

async function ensureMigrationsTable(client: pg.Client): Promise<void> {
  const { rows } = await client.query<{ tablename: string }>(
    'SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = current_schema()',
  );
  const tables = rows.map((row) => row.tablename);
  if (tables.includes('_prisma_migrations')) return;
  // Prisma's P3005: a schema that already has tables but no migration history is not ours to
  // change; it needs a baseline first (https://pris.ly/d/migrate-baseline).
  const foreign = tables.filter((name) => !IGNORED_TABLES.has(name));
  if (foreign.length > 0) {
    throw new MigrationError(
      `The database schema is not empty (${foreign.length} table(s), no _prisma_migrations table). ` +
        'Baseline it first: https://pris.ly/d/migrate-baseline',
    );
  }
  const { rows: schema } = await client.query<{ name: string | null }>('SELECT current_schema() AS name');
  if (!schema[0]?.name) {
    throw new MigrationError('No schema to create tables in: the search_path names no existing schema.');
  }
  await client.query(CREATE_MIGRATIONS_TABLE);
}

function refuseBrokenHistory(rows: MigrationRow[], local: LocalMigration[], log: (line: string) => void) {
  // Prisma's P3009: a migration that started and neither finished nor was rolled back leaves the
  // database in an unknown state; a person has to look at it.
  const failed = rows.filter((row) => row.finished_at === null && row.rolled_back_at === null);
  if (failed.length > 0) {
    const list = failed.map((row) => `${row.migration_name} (started ${row.started_at.toISOString()})`);
    throw new MigrationError(
      `Found failed migrations in the database: ${list.join(', ')}. Fix the database by hand, then mark ` +
        'them rolled back (`prisma migrate resolve --rolled-back <name>`, or set _prisma_migrations.rolled_back_at).',
    );
  }

  const byName = new Map(local.map((m) => [m.name, m]));
  const changed: string[] = [];
  for (const row of rows) {
    if (row.rolled_back_at !== null) continue;
    const file = byName.get(row.migration_name);
    if (!file) {
      log(
        `Warning: ${row.migration_name} is recorded in the database but missing from the migrations folder.`,
      );
    } else if (!matchesChecksum(file.script, row.checksum)) {
      changed.push(row.migration_name);
    }
  }
  if (changed.length > 0) {
    throw new MigrationError(
      `Migration file(s) changed after they were applied: ${changed.join(', ')} (the SHA-256 recorded ` +
        'in _prisma_migrations differs from the file). Restore the original file(s) and put new changes ' +
        'in a new migration.',
    );
  }
}

// One transaction per migration: the script, its row and its completion commit together, so a
// failing script leaves neither half-applied DDL nor a row. (Prisma itself records the failure in
// the row because it cannot roll back; here nothing happened, so nothing blocks a retry.)
async function applyOne(client: pg.Client, migration: LocalMigration): Promise<boolean> {
  try {
    return await inTransaction(client, async () => {
      // Already applied by a concurrent run? Under the advisory lock this never happens on a real
      // server; on PGlite the lock is shared by all clients, but the embedded server serialises
      // transactions, so checking inside ours is enough.
      const { rowCount } = await client.query(
        'SELECT 1 FROM _prisma_migrations WHERE migration_name = $1 AND rolled_back_at IS NULL',
        [migration.name],
      );
      if (rowCount) return false;
      const id = randomUUID();
      await client.query(
        'INSERT INTO _prisma_migrations (id, checksum, migration_name, started_at, applied_steps_count) ' +
          'VALUES ($1, $2, $3, clock_timestamp(), 0)',
        [id, migration.checksum, migration.name],
      );
      // No parameters: node-postgres sends it as one simple query, so multi-statement scripts work.
      await client.query(migration.script);
      await client.query(
        'UPDATE _prisma_migrations SET finished_at = clock_timestamp(), ' +
          'applied_steps_count = applied_steps_count + 1 WHERE id = $1',
        [id],
      );
      return true;
    });
  } catch (error) {
    if (error instanceof MigrationError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new MigrationError(
      `Migration ${migration.name} failed and was rolled back, nothing of it was applied: ${reason}`,
    );
  }
}
