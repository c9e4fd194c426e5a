import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/env.js';

const DB = 'postgresql://postgres@127.0.0.1:5432/avatar';

/** Runs loadConfig and returns the ConfigError it must throw. */
function configError(env: Record<string, string | undefined>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig: defaults', () => {
  it('fills every documented default from an empty environment', () => {
    const config = loadConfig({});
    expect(config.databaseUrl).toBeUndefined();
    expect(config.server.port).toBe(3000);
    expect(config.server.host).toBe('0.0.0.0');
    expect(config.server.logLevel).toBe('info');
    expect(config.server.trustProxy).toBe(false);
    expect(config.images.mode).toBe('sanitize');
    expect(config.images.mozjpeg).toBe(false);
    expect(config.storage).toBeUndefined();
    expect(config.redis).toBeUndefined();
    expect(config.rateLimit.max).toBeGreaterThanOrEqual(1);
    // Node's "0 = no limit" must never be the default (ENVIRONMENT.md).
    expect(config.server.requestTimeoutMs).toBeGreaterThan(0);
    expect(config.server.connectionTimeoutMs).toBeGreaterThan(0);
  });

  it('leaves storage unconfigured without S3_BUCKET_NAME, even when the other S3 variables are set', () => {
    const config = loadConfig({
      S3_BUCKET_REGION: 'eu-west-1',
      S3_BUCKET_ENDPOINT: 'http://127.0.0.1:9000',
      S3_BUCKET_ACCESS_KEY_ID: 'id',
      S3_BUCKET_SECRET_ACCESS_KEY: 'secret',
    });
    expect(config.storage).toBeUndefined();
  });
});

describe('loadConfig: parsing', () => {
  it('coerces numbers', () => {
    const config = loadConfig({
      PORT: '8080',
      RATE_LIMIT_MAX: '5',
      RATE_LIMIT_WINDOW_MS: '2000',
      DB_POOL_MAX: '3',
      IMAGE_CONCURRENCY: '4',
    });
    expect(config.server.port).toBe(8080);
    expect(config.rateLimit.max).toBe(5);
    expect(config.rateLimit.windowMs).toBe(2000);
    expect(config.db.poolMax).toBe(3);
    expect(config.images.concurrency).toBe(4);
  });

  it('parses booleans explicitly: "false" is false, "true" is true', () => {
    const off = loadConfig({ TRUST_PROXY: 'false', IMAGE_MOZJPEG: 'false' });
    expect(off.server.trustProxy).toBe(false);
    expect(off.images.mozjpeg).toBe(false);
    const on = loadConfig({ TRUST_PROXY: 'true', IMAGE_MOZJPEG: 'true' });
    expect(on.server.trustProxy).toBe(true);
    expect(on.images.mozjpeg).toBe(true);
  });

  it('refuses dependency deadlines that are not shorter than the request timeout', () => {
    const message = configError({
      REQUEST_TIMEOUT_MS: '5000',
      DB_TIMEOUT_MS: '5000',
      S3_TIMEOUT_MS: '9000',
    }).message;
    expect(message).toContain('DB_TIMEOUT_MS: must be shorter than REQUEST_TIMEOUT_MS (5000)');
    expect(message).toContain('S3_TIMEOUT_MS: must be shorter than REQUEST_TIMEOUT_MS (5000)');
    expect(
      loadConfig({
        REQUEST_TIMEOUT_MS: '5000',
        DB_TIMEOUT_MS: '4000',
        S3_TIMEOUT_MS: '4000',
        IMAGE_TIMEOUT_MS: '4000',
      }).db.timeoutMs,
    ).toBe(4000);
  });

  it('takes TRUST_PROXY as a list of proxy IPs/CIDRs, and refuses hop counts Fastify would ignore', () => {
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 192.168.1.1' }).server.trustProxy).toEqual([
      '10.0.0.0/8',
      '192.168.1.1',
    ]);
    expect(configError({ TRUST_PROXY: '1' }).message).toContain('TRUST_PROXY');
    expect(configError({ TRUST_PROXY: '10.0.0.0/8,nope' }).message).toContain('TRUST_PROXY');
  });

  it.each([
    ['TRUST_PROXY', 'maybe'],
    ['IMAGE_MOZJPEG', 'maybe'],
  ])('refuses %s=%s rather than guessing', (name, value) => {
    expect(configError({ [name]: value }).message).toContain(name);
  });

  it('accepts the other documented values', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://u:p@db:5432/app',
      LOG_LEVEL: 'debug',
      AVATAR_PROCESSING: 'passthrough',
      REDIS_URL: 'redis://127.0.0.1:6379',
      HOST: '127.0.0.1',
    });
    expect(config.databaseUrl).toBe('postgres://u:p@db:5432/app');
    expect(config.server.logLevel).toBe('debug');
    expect(config.images.mode).toBe('passthrough');
    expect(config.redis?.url).toBe('redis://127.0.0.1:6379');
    expect(config.server.host).toBe('127.0.0.1');
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '3000.5'],
    ['RATE_LIMIT_MAX', '0'],
    ['RATE_LIMIT_WINDOW_MS', '-1'],
    ['DATABASE_URL', 'mysql://x'],
    ['REDIS_URL', 'http://127.0.0.1:6379'],
    ['S3_BUCKET_ENDPOINT', 'not-a-url'],
    ['S3_CDN_BASE_URL', 'cdn.example.com'],
    ['LOG_LEVEL', 'loud'],
    ['AVATAR_PROCESSING', 'resize'],
  ])('throws a ConfigError naming %s for %s', (name, value) => {
    const err = configError({ DATABASE_URL: DB, [name]: value });
    expect(err.name).toBe('ConfigError');
    expect(err.message).toMatch(new RegExp(`\\b${name}\\b`));
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]).toMatch(new RegExp(`^${name}\\b`));
  });

  it('reports every bad variable at once', () => {
    const err = configError({ PORT: 'abc', LOG_LEVEL: 'loud', DATABASE_URL: 'mysql://x' });
    expect(err.issues).toHaveLength(3);
    for (const name of ['PORT', 'LOG_LEVEL', 'DATABASE_URL']) expect(err.message).toContain(name);
  });
});

describe('loadConfig: empty string means unset', () => {
  it('for the optional strings and URLs', () => {
    const config = loadConfig({
      DATABASE_URL: '',
      S3_BUCKET_NAME: '',
      S3_BUCKET_ENDPOINT: '',
      S3_CDN_BASE_URL: '',
      REDIS_URL: '',
    });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.storage).toBeUndefined();
    expect(config.redis).toBeUndefined();

    const withBucket = loadConfig({
      S3_BUCKET_NAME: 'avatars',
      S3_BUCKET_REGION: '',
      S3_BUCKET_ENDPOINT: '',
      S3_CDN_BASE_URL: '',
      S3_BUCKET_ACCESS_KEY_ID: '',
      S3_BUCKET_SECRET_ACCESS_KEY: '',
    });
    expect(withBucket.storage).toMatchObject({ bucket: 'avatars', region: 'us-east-1', endpoint: undefined });
    expect(withBucket.storage?.accessKeyId).toBeUndefined();
    expect(withBucket.storage?.secretAccessKey).toBeUndefined();
    expect(withBucket.storage?.publicBaseUrl).toBe('https://avatars.s3.us-east-1.amazonaws.com');
  });

  // `PORT=` in an env file (or `PORT: ${PORT}` in compose with PORT unset) must mean
  // the default, not port 0 (a random port nobody routes to).
  it('for PORT: 3000, not 0', () => {
    expect(loadConfig({ PORT: '' }).server.port).toBe(3000);
  });

  it('for the other numbers, enums and booleans', () => {
    const config = loadConfig({
      HOST: '',
      LOG_LEVEL: '',
      RATE_LIMIT_MAX: '',
      TRUST_PROXY: '',
      AVATAR_PROCESSING: '',
    });
    expect(config.server.host).toBe('0.0.0.0');
    expect(config.server.logLevel).toBe('info');
    expect(config.rateLimit.max).toBe(loadConfig({}).rateLimit.max);
    expect(config.server.trustProxy).toBe(false);
    expect(config.images.mode).toBe('sanitize');
  });
});

describe('loadConfig: publicBaseUrl', () => {
  it('is <endpoint>/<bucket> with an endpoint, without a double slash', () => {
    const plain = loadConfig({ S3_BUCKET_NAME: 'avatars', S3_BUCKET_ENDPOINT: 'http://127.0.0.1:9000' });
    expect(plain.storage?.publicBaseUrl).toBe('http://127.0.0.1:9000/avatars');
    expect(plain.storage?.endpoint).toBe('http://127.0.0.1:9000');
    const slash = loadConfig({ S3_BUCKET_NAME: 'avatars', S3_BUCKET_ENDPOINT: 'http://127.0.0.1:9000/' });
    expect(slash.storage?.publicBaseUrl).toBe('http://127.0.0.1:9000/avatars');
  });

  it('is the AWS virtual-host URL without an endpoint', () => {
    const config = loadConfig({ S3_BUCKET_NAME: 'avatars', S3_BUCKET_REGION: 'eu-central-1' });
    expect(config.storage?.publicBaseUrl).toBe('https://avatars.s3.eu-central-1.amazonaws.com');
    expect(config.storage?.region).toBe('eu-central-1');
  });

  it('is S3_CDN_BASE_URL when set, which wins over the endpoint, trailing slash removed', () => {
    const config = loadConfig({
      S3_BUCKET_NAME: 'avatars',
      S3_BUCKET_ENDPOINT: 'http://127.0.0.1:9000',
      S3_CDN_BASE_URL: 'https://cdn.example.com/img/',
    });
    expect(config.storage?.publicBaseUrl).toBe('https://cdn.example.com/img');
    expect(
      loadConfig({ S3_BUCKET_NAME: 'b', S3_CDN_BASE_URL: 'https://cdn.example.com' }).storage?.publicBaseUrl,
    ).toBe('https://cdn.example.com');
  });

  it('carries the credentials through', () => {
    const config = loadConfig({
      S3_BUCKET_NAME: 'avatars',
      S3_BUCKET_ACCESS_KEY_ID: 'AKIA1',
      S3_BUCKET_SECRET_ACCESS_KEY: 'shh',
    });
    expect(config.storage?.accessKeyId).toBe('AKIA1');
    expect(config.storage?.secretAccessKey).toBe('shh');
  });
});

describe('loadConfig: the result', () => {
  it('is frozen all the way down', () => {
    const config = loadConfig({ DATABASE_URL: DB, S3_BUCKET_NAME: 'avatars', REDIS_URL: 'redis://r:6379' });
    expect(Object.isFrozen(config)).toBe(true);
    for (const part of [
      config.server,
      config.db,
      config.rateLimit,
      config.images,
      config.storage,
      config.redis,
    ]) {
      expect(part).toBeDefined();
      expect(Object.isFrozen(part)).toBe(true);
    }
    // ESM modules are strict: writing to a frozen object throws.
    expect(() => {
      (config.server as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(() => {
      (config as { databaseUrl?: string }).databaseUrl = 'postgres://elsewhere/db';
    }).toThrow(TypeError);
    expect(config.server.port).toBe(3000);
  });

  it('does not keep a reference to the source environment', () => {
    const env: Record<string, string> = { PORT: '4000' };
    const config = loadConfig(env);
    env.PORT = '5000';
    expect(config.server.port).toBe(4000);
  });
});

describe('the server process', () => {
  const root = fileURLToPath(new URL('../../', import.meta.url));

  /** A minimal environment: what npx needs to run, and nothing of the caller's configuration. */
  function startServer(vars: Record<string, string>) {
    const env: Record<string, string> = {};
    for (const name of ['PATH', 'HOME', 'TMPDIR', 'TMP', 'TEMP', 'LANG', 'SystemRoot', 'npm_config_cache']) {
      const value = process.env[name];
      if (value !== undefined) env[name] = value;
    }
    Object.assign(env, vars);
    return spawnSync('npx', ['tsx', 'src/server.ts'], { cwd: root, env, encoding: 'utf8', timeout: 60_000 });
  }

  it('exits non-zero naming PORT when PORT is not a number', () => {
    const result = startServer({ DATABASE_URL: DB, PORT: 'abc' });
    expect(result.error).toBeUndefined();
    expect(result.signal).toBeNull();
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/\bPORT\b/);
    expect(result.stdout).not.toMatch(/listening/i);
  }, 70_000);

  it('exits non-zero naming DATABASE_URL when it is not set', () => {
    const result = startServer({ PORT: '0', HOST: '127.0.0.1' });
    expect(result.error).toBeUndefined();
    expect(result.signal).toBeNull();
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/\bDATABASE_URL\b/);
  }, 70_000);
});
