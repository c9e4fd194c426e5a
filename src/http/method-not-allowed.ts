import type { FastifyInstance, HTTPMethods } from 'fastify';
import { AppError } from '../errors.js';

const ALL_METHODS: HTTPMethods[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

/**
 * Fastify answers an unregistered method on a known path with 404; the contract
 * wants 405 with an `Allow` header, so the other methods get a route that says so.
 */
export function allowOnly(app: FastifyInstance, url: string, allowed: HTTPMethods[]): void {
  const allow = allowed.join(', ');
  app.route({
    method: ALL_METHODS.filter((m) => !allowed.includes(m)),
    url,
    exposeHeadRoute: false,
    handler: async (request, reply) => {
      reply.header('allow', allow);
      throw new AppError(
        405,
        'MethodNotAllowed',
        `${request.method} is not allowed here. Allowed: ${allow}.`,
      );
    },
  });
}
