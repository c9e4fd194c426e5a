import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

type ClientError = Error & { code?: string };

function describe(err: ClientError): { status: number; title: string; detail: string } {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { status: 408, title: 'RequestTimeout', detail: 'The request was not received in time.' };
  }
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    return { status: 431, title: 'ValidationError', detail: 'The request headers are too large.' };
  }
  return { status: 400, title: 'ValidationError', detail: 'The HTTP request is malformed.' };
}

/**
 * Errors Node raises before a request reaches Fastify's router (a body that did
 * not arrive within REQUEST_TIMEOUT_MS, unparsable HTTP). Fastify's default
 * answers them in its own JSON shape; this one uses the contract's envelope.
 */
export function clientErrorHandler(this: FastifyInstance, err: ClientError, socket: Socket): void {
  // A reset connection has no one left to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, title, detail } = describe(err);
  // No Fastify request exists yet, so the id is made here, for the answer and the log line alike.
  const requestId = randomUUID();
  this.log.info({ requestId, code: err.code }, `client error answered ${status}`);
  if (socket.writable) {
    const body = JSON.stringify({ error: { title, detail } });
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nx-request-id: ${requestId}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(err);
}
