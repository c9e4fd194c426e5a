import fp from 'fastify-plugin';
import type { Db } from '../../db/client.js';

declare module 'fastify' {
  interface FastifyInstance {
    db: Db;
  }
}

/** Exposes the Prisma client as `app.db` and disconnects it when the app closes. */
export const dbPlugin = fp<{ db: Db; ownsClient: boolean }>(
  async (app, { db, ownsClient }) => {
    app.decorate('db', db);
    if (ownsClient) app.addHook('onClose', async () => db.$disconnect());
  },
  { name: 'db' },
);
