import { AppError, errors } from '../errors.js';
import { Prisma } from '../generated/prisma/client.js';

/**
 * Maps a failed database call to the contract: a constraint or query error that
 * Prisma recognises is a bug on our side (500); everything else (refused
 * connection, timeout, pool exhausted, server gone) means the database is
 * unavailable (503 with Retry-After).
 */
export function toDbError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (
    err instanceof Prisma.PrismaClientKnownRequestError &&
    err.code.startsWith('P2') &&
    err.code !== 'P2024'
  ) {
    return errors.internal(err);
  }
  if (err instanceof Prisma.PrismaClientValidationError) return errors.internal(err);
  return errors.dependencyUnavailable('database', err);
}

export async function dbCall<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toDbError(err);
  }
}
