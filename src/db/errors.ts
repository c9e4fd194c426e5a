import { AppError, errors } from '../errors.js';
import { Prisma } from '../generated/prisma/client.js';

// Driver-adapter error kinds that mean "the database cannot serve us right now".
const UNAVAILABLE_KINDS = new Set([
  'DatabaseNotReachable',
  'DatabaseDoesNotExist',
  'DatabaseAccessDenied',
  'AuthenticationFailed',
  'SocketTimeout',
  'TlsConnectionError',
  'TooManyConnections',
  'ConnectionClosed',
  'TransactionWriteConflict',
]);
// SQLSTATEs of the same nature: connection exceptions (08), insufficient resources
// (53), operator intervention incl. statement_timeout (57), serialization and deadlock (40).
const UNAVAILABLE_SQLSTATE = /^(08|53|57|40)/;

interface AdapterCause {
  kind?: string;
  code?: string;
  originalCode?: string;
}

function adapterCause(err: Prisma.PrismaClientKnownRequestError): AdapterCause | undefined {
  const meta = err.meta as { driverAdapterError?: { cause?: AdapterCause } } | undefined;
  return meta?.driverAdapterError?.cause;
}

/**
 * Maps a failed database call to the contract: the database unreachable, too
 * slow or overloaded is a 503 with Retry-After; a query the database refused
 * for any other reason is a bug on our side (500).
 */
export function toDbError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof Prisma.PrismaClientKnownRequestError) {
    // Raw queries report every failure as P2010; the adapter's cause tells them apart.
    const cause = adapterCause(err);
    const sqlState = cause?.code ?? cause?.originalCode ?? '';
    const unavailable = cause
      ? UNAVAILABLE_KINDS.has(cause.kind ?? '') || UNAVAILABLE_SQLSTATE.test(sqlState)
      : err.code.startsWith('P1') || err.code === 'P2024';
    return unavailable ? errors.dependencyUnavailable('database', err) : errors.internal(err);
  }
  if (err instanceof Prisma.PrismaClientValidationError) return errors.internal(err);
  // Initialisation errors, client-side query timeouts, sockets torn down mid-query.
  return errors.dependencyUnavailable('database', err);
}

export async function dbCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toDbError(err);
  }
}
