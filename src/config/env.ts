import { z } from 'zod';
import { defaultImageOptions, type ImageOptions } from '../images/options.js';

// The whole environment, validated once at start-up. Nothing else in the
// service reads process.env: everything receives the frozen Config.

// Digits only: Number() would also take "1e3" or "0x10".
const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

// z.coerce.boolean() turns "false" into true; accept only explicit words.
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const optionalString = z.string().optional();
const optionalUrl = z.url().optional();

const envSchema = z
  .object({
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
    DB_POOL_MAX: int(1, 500).default(10),
    DB_TIMEOUT_MS: int(100, 120_000).default(5_000),

    S3_BUCKET_NAME: optionalString,
    S3_BUCKET_REGION: z.string().default('us-east-1'),
    S3_BUCKET_ACCESS_KEY_ID: optionalString,
    S3_BUCKET_SECRET_ACCESS_KEY: optionalString,
    S3_BUCKET_ENDPOINT: optionalUrl,
    S3_CDN_BASE_URL: optionalUrl,
    S3_TIMEOUT_MS: int(100, 120_000).default(10_000),

    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
      .optional(),
    REDIS_TIMEOUT_MS: int(50, 60_000).default(1_000),

    PORT: int(0, 65_535).default(3000),
    HOST: z.string().min(1).default('0.0.0.0'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    // Which X-Forwarded-For hops to believe for the client IP (per-IP limit):
    // false, true (any peer: only when nothing reaches the service but the proxy),
    // or the proxies' comma-separated IPs/CIDRs. (Fastify 5 ignores hop counts.)
    TRUST_PROXY: z
      .string()
      .transform((v, ctx): boolean | string[] => {
        if (/^(true|false)$/.test(v)) return v === 'true';
        const proxies = v.split(',').map((part) => part.trim());
        const address = z.union([z.ipv4(), z.ipv6(), z.cidrv4(), z.cidrv6()]);
        if (!proxies.every((p) => address.safeParse(p).success)) {
          ctx.addIssue({
            code: 'custom',
            message: "must be true, false, or the proxies' IPs/CIDRs separated by commas",
          });
        }
        return proxies;
      })
      .default(false),

    REQUEST_TIMEOUT_MS: int(1_000, 600_000).default(30_000),
    CONNECTION_TIMEOUT_MS: int(1_000, 600_000).default(10_000),
    KEEP_ALIVE_TIMEOUT_MS: int(1_000, 600_000).default(72_000),
    SHUTDOWN_TIMEOUT_MS: int(1_000, 600_000).default(10_000),

    RATE_LIMIT_MAX: int(1).default(60),
    RATE_LIMIT_WINDOW_MS: int(1_000).default(60_000),
    AUTH_FAILURE_LIMIT_MAX: int(1).default(20),
    AUTH_FAILURE_LIMIT_WINDOW_MS: int(1_000).default(600_000),

    MAX_CONCURRENT_UPLOADS: int(1, 10_000).default(32),

    // Defaults (and why) live with the image pipeline: src/images/options.ts.
    AVATAR_PROCESSING: z.enum(['sanitize', 'passthrough']).default(defaultImageOptions.mode),
    IMAGE_MAX_INPUT_PIXELS: int(1).default(defaultImageOptions.maxInputPixels),
    IMAGE_MAX_INPUT_SIDE: int(1).default(defaultImageOptions.maxInputSide),
    IMAGE_MAX_OUTPUT_SIDE: int(16, 10_000).default(defaultImageOptions.maxOutputSide),
    IMAGE_JPEG_QUALITY: int(1, 100).default(defaultImageOptions.jpegQuality),
    IMAGE_MOZJPEG: bool.default(defaultImageOptions.mozjpeg),
    IMAGE_CONCURRENCY: int(1, 64).default(defaultImageOptions.concurrency),
    IMAGE_TIMEOUT_MS: int(1_000, 120_000).default(defaultImageOptions.timeoutMs),
  })
  .superRefine((env, ctx) => {
    // Every dependency call must give up before the request does, or a request
    // already answered with an error could still change something afterwards.
    const deadlines = ['DB_TIMEOUT_MS', 'S3_TIMEOUT_MS', 'REDIS_TIMEOUT_MS', 'IMAGE_TIMEOUT_MS'] as const;
    for (const name of deadlines) {
      if (env[name] >= env.REQUEST_TIMEOUT_MS) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: `must be shorter than REQUEST_TIMEOUT_MS (${env.REQUEST_TIMEOUT_MS})`,
        });
      }
    }
  });

export type Env = z.infer<typeof envSchema>;

export interface StorageConfig {
  bucket: string;
  region: string;
  endpoint?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  publicBaseUrl: string;
  timeoutMs: number;
}

export interface Config {
  databaseUrl?: string;
  db: { poolMax: number; timeoutMs: number };
  /** Undefined when S3_BUCKET_NAME is unset: the route then answers 503. */
  storage?: StorageConfig;
  redis?: { url: string; timeoutMs: number };
  server: {
    port: number;
    host: string;
    logLevel: Env['LOG_LEVEL'];
    trustProxy: boolean | string[];
    requestTimeoutMs: number;
    connectionTimeoutMs: number;
    keepAliveTimeoutMs: number;
    shutdownTimeoutMs: number;
  };
  rateLimit: { max: number; windowMs: number; authFailureMax: number; authFailureWindowMs: number };
  /** Uploads whose bodies may be held in memory at once per instance; more get 503. */
  maxConcurrentUploads: number;
  images: ImageOptions;
}

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid configuration:\n${issues.map((i) => `  - ${i}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Where `avatarUrl`s point when S3_CDN_BASE_URL is not set. */
function defaultPublicBaseUrl(env: Env, bucket: string): string {
  if (env.S3_BUCKET_ENDPOINT) {
    // Path-style, as used with MinIO and other S3-compatible stores.
    return `${env.S3_BUCKET_ENDPOINT.replace(/\/+$/, '')}/${bucket}`;
  }
  return `https://${bucket}.s3.${env.S3_BUCKET_REGION}.amazonaws.com`;
}

export function loadConfig(source: Record<string, string | undefined>): Readonly<Config> {
  // An unset variable and an empty one (`FOO=` in an env file, `${FOO}` in
  // compose) both mean "use the default", for every variable alike.
  const present = Object.fromEntries(Object.entries(source).filter(([, value]) => value?.trim()));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`));
  }
  const env = parsed.data;
  const bucket = env.S3_BUCKET_NAME;
  const config: Config = {
    databaseUrl: env.DATABASE_URL,
    db: { poolMax: env.DB_POOL_MAX, timeoutMs: env.DB_TIMEOUT_MS },
    storage: bucket
      ? {
          bucket,
          region: env.S3_BUCKET_REGION,
          endpoint: env.S3_BUCKET_ENDPOINT,
          accessKeyId: env.S3_BUCKET_ACCESS_KEY_ID,
          secretAccessKey: env.S3_BUCKET_SECRET_ACCESS_KEY,
          publicBaseUrl: (env.S3_CDN_BASE_URL ?? defaultPublicBaseUrl(env, bucket)).replace(/\/+$/, ''),
          timeoutMs: env.S3_TIMEOUT_MS,
        }
      : undefined,
    redis: env.REDIS_URL ? { url: env.REDIS_URL, timeoutMs: env.REDIS_TIMEOUT_MS } : undefined,
    server: {
      port: env.PORT,
      host: env.HOST,
      logLevel: env.LOG_LEVEL,
      trustProxy: env.TRUST_PROXY,
      requestTimeoutMs: env.REQUEST_TIMEOUT_MS,
      connectionTimeoutMs: env.CONNECTION_TIMEOUT_MS,
      keepAliveTimeoutMs: env.KEEP_ALIVE_TIMEOUT_MS,
      shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    },
    rateLimit: {
      max: env.RATE_LIMIT_MAX,
      windowMs: env.RATE_LIMIT_WINDOW_MS,
      authFailureMax: env.AUTH_FAILURE_LIMIT_MAX,
      authFailureWindowMs: env.AUTH_FAILURE_LIMIT_WINDOW_MS,
    },
    maxConcurrentUploads: env.MAX_CONCURRENT_UPLOADS,
    images: {
      mode: env.AVATAR_PROCESSING,
      maxInputPixels: env.IMAGE_MAX_INPUT_PIXELS,
      maxInputSide: env.IMAGE_MAX_INPUT_SIDE,
      maxOutputSide: env.IMAGE_MAX_OUTPUT_SIDE,
      jpegQuality: env.IMAGE_JPEG_QUALITY,
      mozjpeg: env.IMAGE_MOZJPEG,
      concurrency: env.IMAGE_CONCURRENCY,
      timeoutMs: env.IMAGE_TIMEOUT_MS,
    },
  };
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): Readonly<T> {
  if (value && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
