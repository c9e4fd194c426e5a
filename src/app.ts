import type { Writable } from 'node:stream';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import type { Redis } from 'ioredis';
import type { Config } from './config/env.js';
import { createDb, type Db } from './db/client.js';
import { errors } from './errors.js';
import { clientErrorHandler } from './http/client-errors.js';
import { registerErrorHandling } from './http/error-handler.js';
import { loggerOptions, requestId } from './http/logging.js';
import { dbPlugin } from './http/plugins/db.js';
import { rateLimitPlugin } from './http/plugins/rate-limit.js';
import { redisPlugin } from './http/plugins/redis.js';
import { storagePlugin } from './http/plugins/storage.js';
import { avatarRoutes } from './http/routes/avatar.js';
import { healthRoutes } from './http/routes/health.js';
import { createImageProcessor } from './images/index.js';
import type { ImageProcessor } from './images/types.js';
import type { AvatarStorage } from './storage/storage.js';

/** Replaceable parts; anything not given is built from the config. */
export interface AppDeps {
  db?: Db;
  storage?: AvatarStorage;
  redis?: Redis;
  images?: ImageProcessor;
  /** Where log lines go (tests read them); default stdout. */
  logStream?: Writable;
}

/** Builds the service without listening: production (server.ts) and tests share it. */
export async function buildApp(config: Readonly<Config>, deps: AppDeps = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: loggerOptions(config, deps.logStream),
    genReqId: requestId,
    logController: new LogController({ requestIdLogLabel: 'requestId' }),
    trustProxy: config.server.trustProxy,
    // Node's defaults are unsafe here (ENVIRONMENT.md): 0 means no limit at all.
    requestTimeout: config.server.requestTimeoutMs,
    // Fastify assigns requestTimeout after creating the server, which Node 20's
    // HTTP server ignores (measured: no 408, ever); it must be a constructor
    // option. Node also sweeps for it only every 30 s by default: every second here.
    http: { requestTimeout: config.server.requestTimeoutMs, connectionsCheckingInterval: 1_000 },
    connectionTimeout: config.server.connectionTimeoutMs,
    keepAliveTimeout: config.server.keepAliveTimeoutMs,
    // No route takes a parsed body: the avatar arrives as multipart, which has its own limits.
    bodyLimit: 64 * 1024,
    clientErrorHandler,
    // Requests arriving while the server drains get the contract's 503 (below), not Fastify's own body.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
  });

  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    if (closing) {
      reply.header('connection', 'close');
      throw errors.shuttingDown();
    }
  });
  registerErrorHandling(app);
  // Node answers `Expect: 100-continue` at once unless someone listens for it.
  // Handling it as a normal request instead lets the avatar route send 100
  // only once checks 1-4 have passed, so a refused client never sends its body.
  app.server.on('checkContinue', (req, res) => app.server.emit('request', req, res));

  if (!deps.db && !config.databaseUrl) throw new Error('DATABASE_URL is required');
  const db = deps.db ?? createDb({ url: config.databaseUrl as string, ...config.db });
  await app.register(dbPlugin, { db, ownsClient: !deps.db });
  await app.register(storagePlugin, { config: config.storage, storage: deps.storage });
  await app.register(redisPlugin, { config: config.redis, redis: deps.redis });
  await app.register(rateLimitPlugin, { config: config.rateLimit });

  const images = deps.images ?? createImageProcessor(config.images);
  await app.register(avatarRoutes, { config, images });
  await app.register(healthRoutes);
  return app;
}
