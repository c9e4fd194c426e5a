import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { buildTestApp, shortRequestBudget, useTestServices } from '../helpers/app.js';
import { jpeg } from '../helpers/images.js';
import { avatarForm } from '../helpers/multipart.js';
import { avatarPath, bearer, seedOrg } from '../helpers/seed.js';

const services = useTestServices();

/** Sends `head` and part of the body over a raw socket, then waits for whatever comes back. */
function trickle(port: number, head: string, body: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(head);
      socket.write(body);
      // ...and never sends the rest.
    });
    let received = '';
    socket.on('data', (chunk) => {
      received += chunk.toString();
    });
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
  });
}

describe('a client too slow to send its body', () => {
  it('gets 408 in the envelope once REQUEST_TIMEOUT_MS passes, and nothing is stored', async () => {
    const seed = await seedOrg(services.db);
    const { app } = await buildTestApp(services, { env: shortRequestBudget(1500) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    const form = avatarForm(await jpeg(400, 400));
    const head =
      `POST ${avatarPath(seed.org.id, seed.embedded.id)} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
      `Authorization: ${bearer(seed.adminKey.key).authorization}\r\n` +
      `Content-Type: ${form.headers['content-type']}\r\nContent-Length: ${form.payload.length}\r\n\r\n`;

    const response = await trickle(port, head, form.payload.subarray(0, form.payload.length - 100));
    expect(response).toMatch(/^HTTP\/1\.1 408 /);
    const body = JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4));
    expect(body).toEqual({
      error: { title: 'RequestTimeout', detail: 'The request was not received in time.' },
    });

    const user = await services.db.user.findUniqueOrThrow({ where: { id: seed.embedded.id } });
    expect(user.avatarUrl).toBeNull();
    expect(await services.bucket.listKeys(`embedded-users/${seed.embedded.id}/`)).toEqual([]);
    // The server still serves others.
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });

  it('malformed HTTP gets 400 in the envelope', async () => {
    const { app } = await buildTestApp(services);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as { port: number };
    const response = await trickle(port, 'POST / HTTP/1.1\r\nContent-Length: nope\r\n\r\n', Buffer.alloc(0));
    expect(response).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4))).toEqual({
      error: { title: 'ValidationError', detail: 'The HTTP request is malformed.' },
    });
  });
});
