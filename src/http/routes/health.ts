import type { FastifyInstance } from 'fastify';
import { dbCall } from '../../db/errors.js';
import { errors } from '../../errors.js';
import { UNTIL_STORE_DEADLINE } from '../../storage/storage.js';
import { allowOnly } from '../method-not-allowed.js';

/**
 * Probes for the load balancer and the orchestrator: `/healthz` says the process
 * serves HTTP; `/readyz` also checks Postgres and, when configured, S3 and Redis.
 */
export async function healthRoutes(app: FastifyInstance) {
  app.get('/healthz', async () => ({ data: { status: 'ok' } }));

  app.get('/readyz', async () => {
    await dbCall(() => app.db.$queryRaw`SELECT 1`);
    if (app.storage) {
      await app.storage.check(UNTIL_STORE_DEADLINE).catch((err) => {
        throw errors.dependencyUnavailable('object storage', err);
      });
    }
    if (app.redis) {
      await app.redis.ping().catch((err) => {
        throw errors.dependencyUnavailable('rate limiter', err);
      });
    }
    return { data: { status: 'ready' } };
  });

  allowOnly(app, '/healthz', ['GET', 'HEAD']);
  allowOnly(app, '/readyz', ['GET', 'HEAD']);
}
