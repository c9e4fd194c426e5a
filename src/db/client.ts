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
    // Both the server-side and the client-side deadline: a statement never outlives
    // the request that started it (the request deadline is longer, see config).
    statement_timeout: timeoutMs,
    query_timeout: timeoutMs,
    idleTimeoutMillis: 30_000,
    application_name: 'avatar-service',
  });
  return new PrismaClient({ adapter });
}
