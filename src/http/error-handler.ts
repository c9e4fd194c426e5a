import type { FastifyError, FastifyInstance } from 'fastify';
import { AppError, type ErrorTitle, errors } from '../errors.js';

interface ErrorBody {
  error: { title: ErrorTitle | string; detail: string; retryAfterMs?: number };
}

/** Fastify's own 4xx errors (bad header, body too large, ...) in the contract's words. */
function fromFastifyError(err: FastifyError): AppError | undefined {
  const status = err.statusCode;
  if (!status || status < 400 || status >= 500) return undefined;
  if (status === 413) return new AppError(413, 'PayloadTooLarge', 'The request body is too large.');
  if (status === 404) return errors.notFound('The requested resource was not found.');
  return errors.validation('The request is malformed.');
}

/**
 * The one place where errors become responses: every status of the contract,
 * in the envelope `{"error":{"title","detail"}}`. 5xx details never reach the
 * client (no stack, SQL or S3 internals); they are logged with the request id.
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const known = err instanceof AppError ? err : fromFastifyError(err);
    const error = known ?? errors.internal(err);

    if (error.status >= 500) {
      // The cause is what an operator needs; the client gets the generic detail.
      request.log.error({ err: error.cause ?? err, status: error.status }, error.detail);
    } else {
      request.log.info({ status: error.status, title: error.title }, error.detail);
    }

    const body: ErrorBody = { error: { title: error.title, detail: error.detail } };
    if (error.retryAfterMs !== undefined) {
      reply.header('retry-after', Math.max(1, Math.ceil(error.retryAfterMs / 1000)));
      if (error.status === 429) body.error.retryAfterMs = error.retryAfterMs;
    }
    // The rest of an unread body would otherwise be drained on a keep-alive
    // connection; closing it spares us reading megabytes we are refusing.
    if (!request.raw.complete) reply.header('connection', 'close');
    return reply.code(error.status).type('application/json; charset=utf-8').send(body);
  });

  // Unknown routes take the same path as every other error.
  app.setNotFoundHandler(async () => {
    throw errors.notFound('No endpoint matches this method and path.');
  });
}
