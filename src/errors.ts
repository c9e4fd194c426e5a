// The service's error family. An AppError carries the contract's status, title
// and a human detail; the single error handler (src/http/error-handler.ts) turns
// it into the envelope `{"error":{"title","detail"}}`. Code outside `http/` throws
// these through the named factories below and never builds replies itself.

export type ErrorTitle =
  | 'Unauthorized'
  | 'NotFound'
  | 'MethodNotAllowed'
  | 'ValidationError'
  | 'PayloadTooLarge'
  | 'RateLimitExceeded'
  | 'ServiceUnavailable'
  | 'InternalServerError';

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly title: ErrorTitle,
    readonly detail: string,
    /** When to retry: sent as `Retry-After` (seconds), and as `retryAfterMs` in a 429 body. */
    readonly retryAfterMs?: number,
    options?: ErrorOptions,
  ) {
    super(detail, options);
    this.name = 'AppError';
  }
}

export const errors = {
  unauthorized: () =>
    new AppError(401, 'Unauthorized', 'A valid API key is required in the Authorization header.'),
  // One detail for every authorization failure, so the answer never tells which check failed.
  notFound: (detail = 'The organization or user was not found, or the API key has no admin access to it.') =>
    new AppError(404, 'NotFound', detail),
  validation: (detail: string) => new AppError(400, 'ValidationError', detail),
  payloadTooLarge: (maxBytes: number) =>
    new AppError(413, 'PayloadTooLarge', `The avatar file must be at most ${maxBytes} bytes (2 MB).`),
  rateLimited: (retryAfterMs: number) =>
    new AppError(
      429,
      'RateLimitExceeded',
      `Too many requests. Retry in ${Math.max(1, Math.ceil(retryAfterMs / 1000))} seconds.`,
      retryAfterMs,
    ),
  storageNotConfigured: () =>
    new AppError(503, 'ServiceUnavailable', 'Avatar storage is not configured on this server.'),
  dependencyUnavailable: (what: string, cause?: unknown) =>
    new AppError(
      503,
      'ServiceUnavailable',
      `The ${what} is temporarily unavailable. Please retry shortly.`,
      5_000,
      {
        cause,
      },
    ),
  busy: () =>
    new AppError(
      503,
      'ServiceUnavailable',
      'The server is handling too many uploads. Please retry shortly.',
      1_000,
    ),
  shuttingDown: () =>
    new AppError(503, 'ServiceUnavailable', 'The server is shutting down. Please retry.', 1_000),
  internal: (cause?: unknown) =>
    new AppError(500, 'InternalServerError', 'An unexpected error occurred.', undefined, { cause }),
};
