/**
 * Where avatars live. The route only knows this interface, so tests can inject a
 * store that fails on purpose without mocking the AWS SDK. Every call is bounded
 * by the store's own deadline (S3_TIMEOUT_MS); the signal only ends it sooner.
 */
export interface AvatarStorage {
  put(key: string, body: Buffer, contentType: string, signal: AbortSignal): Promise<void>;
  delete(key: string, signal: AbortSignal): Promise<void>;
  /** The public URL for a key; `keyFromUrl` is its inverse (undefined for foreign URLs). */
  publicUrl(key: string): string;
  keyFromUrl(url: string): string | undefined;
  /** Cheap reachability check for readiness probes. */
  check(signal: AbortSignal): Promise<void>;
}

/** Thrown by a store when the backend failed or did not answer in time. */
/** For calls that must run to the store's own deadline even after the request ended (cleanup). */
export const UNTIL_STORE_DEADLINE: AbortSignal = new AbortController().signal;

export class StorageError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'StorageError';
  }
}
