// Embedded Postgres for the demo and the tests: PGlite (Postgres compiled to WebAssembly) served
// over the Postgres wire protocol on 127.0.0.1, so the app connects with the same pg /
// @prisma/adapter-pg code it uses in production. Dev/test only: @electric-sql/pglite is a
// devDependency.
//
// PGlite is ONE backend session; pglite-wire.ts shares it between clients one query cycle or one
// transaction at a time. What callers must know:
// - any pool size works up to `maxConnections` (more clients are refused with SQLSTATE 53300);
//   queries still run one at a time, and an open transaction makes every other client wait;
// - session state is shared by all clients: SET / search_path, advisory locks, temp tables,
//   named prepared statements; startup parameters (database, `options`) are ignored;
// - code that waits, inside a transaction, for a query on another connection deadlocks here
//   (a real server would answer the other query).
import { PGlite } from '@electric-sql/pglite';
import { servePgliteOverWire } from './pglite-wire.js';

export const EMBEDDED_POSTGRES_MAX_CONNECTIONS = 20;

export interface EmbeddedPostgresOptions {
  /** Data folder; undefined keeps the database in memory (lost on stop). */
  dataDir?: string;
  /** TCP port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /** Clients served at once (default EMBEDDED_POSTGRES_MAX_CONNECTIONS). */
  maxConnections?: number;
  /** Start from a dump made by `dumpDataDir()` instead of running initdb (about 1 s instead of 6 s). */
  loadDataDir?: Blob;
}

export interface EmbeddedPostgres {
  /** postgresql:// URL for pg, Prisma (adapter-pg) and psql. */
  url: string;
  maxConnections: number;
  /** Tarball of the data folder, to start other instances from (see `loadDataDir`). */
  dumpDataDir(): Promise<Blob>;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions = {},
): Promise<EmbeddedPostgres> {
  const maxConnections = options.maxConnections ?? EMBEDDED_POSTGRES_MAX_CONNECTIONS;
  const db = await PGlite.create({ dataDir: options.dataDir, loadDataDir: options.loadDataDir });
  let server: Awaited<ReturnType<typeof servePgliteOverWire>>;
  try {
    server = await servePgliteOverWire(db, { host: '127.0.0.1', port: options.port ?? 0, maxConnections });
  } catch (error) {
    await db.close();
    throw error;
  }

  let stopped: Promise<void> | undefined;
  return {
    // PGlite accepts any user and password; naming them keeps clients that insist on one quiet.
    url: `postgresql://postgres:postgres@127.0.0.1:${server.port}/postgres`,
    maxConnections,
    dumpDataDir: () => db.dumpDataDir('none'),
    stop() {
      stopped ??= (async () => {
        await server.close();
        await db.close();
      })();
      return stopped;
    },
  };
}
