export interface ImageOptions {
  /** `sanitize` re-encodes (the default); `passthrough` stores the validated original bytes. */
  mode: 'sanitize' | 'passthrough';
  /** Largest width x height accepted; checked from the header before any pixel is decoded. */
  maxInputPixels: number;
  /** Largest declared width or height accepted. */
  maxInputSide: number;
  /** Sanitized output fits inside this square, never enlarged. */
  maxOutputSide: number;
  /** JPEG quality 1-100 for sanitized JPEG output. */
  jpegQuality: number;
  /** mozjpeg encoder: ~20-35% smaller JPEGs for ~5x the CPU (ENVIRONMENT.md). */
  mozjpeg: boolean;
  /** Images decoded or encoded at once; further uploads wait in a FIFO queue. */
  concurrency: number;
  /** Bound on one decode/encode; sharp counts whole seconds, so this is rounded up. */
  timeoutMs: number;
}

export const defaultImageOptions: ImageOptions = Object.freeze({
  mode: 'sanitize',
  // Uploads are capped at 2 MB, which in practice means phone photos of at most
  // 12-24 MP; 40 MP leaves room for high-resolution sensors while keeping the
  // worst case decode (a flat, highly compressible PNG) near 160 MB of RGBA.
  // sharp's own default (268 MP, ~1 GB decoded) is far too generous for avatars.
  maxInputPixels: 40_000_000,
  // A 10,000 px side still admits every camera and panorama crop, and refuses
  // the 100,000 x 1 strips that only exist to stress decoders.
  maxInputSide: 10_000,
  // Avatars are shown at most a few hundred CSS px wide; 1024 covers 2x-3x screens.
  maxOutputSide: 1024,
  jpegQuality: 85,
  mozjpeg: false,
  // Each image is already multi-threaded inside libvips, and every sharp job
  // occupies one of libuv's 4 default threads, which fs, dns.lookup (the S3
  // client) and zlib share. Two leaves the other two free.
  concurrency: 2,
  // A 40 MP decode takes about a second here; ten bounds hostile inputs (e.g.
  // progressive JPEGs with thousands of scans) without failing honest ones.
  timeoutMs: 10_000,
});

/** Throws a RangeError for a misconfiguration; this is a programming error, not bad input. */
export function assertValidOptions(options: ImageOptions): void {
  const positiveIntegers = [
    'maxInputPixels',
    'maxInputSide',
    'maxOutputSide',
    'concurrency',
    'timeoutMs',
  ] as const;
  for (const key of positiveIntegers) {
    const value = options[key];
    if (!Number.isInteger(value) || value < 1) {
      throw new RangeError(`Image option ${key} must be a positive integer, got ${value}`);
    }
  }
  if (!Number.isInteger(options.jpegQuality) || options.jpegQuality < 1 || options.jpegQuality > 100) {
    throw new RangeError(
      `Image option jpegQuality must be an integer from 1 to 100, got ${options.jpegQuality}`,
    );
  }
  if (options.timeoutMs > 3_600_000) {
    throw new RangeError(`Image option timeoutMs must be at most one hour, got ${options.timeoutMs}`);
  }
  if (options.mode !== 'sanitize' && options.mode !== 'passthrough') {
    throw new RangeError(
      `Image option mode must be 'sanitize' or 'passthrough', got ${String(options.mode)}`,
    );
  }
}
