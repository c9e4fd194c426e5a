import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Writable } from 'node:stream';
import type { FastifyServerOptions } from 'fastify';
import type { Config } from '../config/env.js';

// A client-supplied id is kept only if it is short and plain, so it cannot
// forge log lines or bloat every entry.
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestId(req: IncomingMessage): string {
  const header = req.headers['x-request-id'];
  return typeof header === 'string' && SAFE_REQUEST_ID.test(header) ? header : randomUUID();
}

/** Pino options: the request id on every line (Fastify's `reqId`), secrets never. */
export function loggerOptions(config: Readonly<Config>, stream?: Writable): FastifyServerOptions['logger'] {
  return {
    level: config.server.logLevel,
    ...(stream ? { stream } : {}),
    redact: {
      // Fastify's request serializer logs no headers, but plugins may: at trace
      // level @fastify/multipart logs its busboy options, request headers included.
      paths: [
        'authorization',
        '*.authorization',
        'headers.authorization',
        '*.headers.authorization',
        'req.headers.authorization',
        'headers.cookie',
        '*.headers.cookie',
      ],
      censor: '[redacted]',
    },
  };
}
