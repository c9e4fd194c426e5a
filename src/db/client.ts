import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client.js';

export type Db = PrismaClient;

export interface DbOptions {
  url: string;
  poolMax: number;
  /** Deadline for getting a connection and for every statement. */
  timeoutMs: number;
}

// The driver adapter runs Prisma's query compiler in WebAssembly on top of `pg`,
// so no native query engine is needed at run time.
export function createDb({ url, poolMax, timeoutMs }: DbOptions): Db {
  const adapter = new PrismaPg({
    connectionString: url,
    max: poolMax,
    connectionTimeoutMillis: timeoutMs,
    // The server cancels a statement at 90 % of the deadline, before the client
    // gives up at 100 %: a statement the client stopped waiting for (say, an
    // UPDATE stuck behind a row lock) must not commit later, after the request
    // was answered. The client-side limit covers a server that stops answering.
    statement_timeout: Math.floor(timeoutMs * 0.9),
    query_timeout: timeoutMs,
    idleTimeoutMillis: 30_000,
    application_name: 'avatar-service',
  });
  return new PrismaClient({ adapter });
}
