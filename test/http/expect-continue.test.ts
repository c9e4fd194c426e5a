import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { buildTestApp, useTestServices } from '../helpers/app.js';
import { jpeg } from '../helpers/images.js';
import { avatarForm } from '../helpers/multipart.js';
import { avatarPath, bearer, type SeededOrg, seedOrg } from '../helpers/seed.js';

const services = useTestServices();

/** Resolves with everything received until `done(text)` says enough. */
function readUntil(socket: Socket, done: (text: string) => boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (done(text)) {
        socket.off('data', onData);
        resolve(text);
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('close', () => resolve(text));
  });
}

const completeResponse = (text: string) => {
  const match = text.match(/\r\n\r\n/);
  const length = text.match(/content-length: (\d+)/i);
  return Boolean(match && length && text.length >= (match.index ?? 0) + 4 + Number(length[1]));
};

async function start(seed: SeededOrg, key: string) {
  const { app } = await buildTestApp(services);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  const form = avatarForm(await jpeg(64, 64));
  const socket = connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(
    `POST ${avatarPath(seed.org.id, seed.embedded.id)} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
      `Authorization: ${bearer(key).authorization}\r\nExpect: 100-continue\r\n` +
      `Content-Type: ${form.headers['content-type']}\r\nContent-Length: ${form.payload.length}\r\n\r\n`,
  );
  return { socket, form };
}

describe('Expect: 100-continue', () => {
  it('refuses a bad key before the client sends its body (no 100 Continue)', async () => {
    const seed = await seedOrg(services.db);
    const { socket } = await start(seed, `bd_key_${'D'.repeat(40)}`);
    const response = await readUntil(socket, completeResponse);
    socket.destroy();
    expect(response).toMatch(/^HTTP\/1\.1 401 /);
    expect(response).not.toContain('100 Continue');
    expect(response).toContain('"title":"Unauthorized"');
  });

  it('sends 100 Continue once the checks pass, then takes the body', async () => {
    const seed = await seedOrg(services.db);
    const { socket, form } = await start(seed, seed.adminKey.key);
    const interim = await readUntil(socket, (text) => text.includes('\r\n\r\n'));
    expect(interim).toMatch(/^HTTP\/1\.1 100 Continue\r\n/);
    const rest = readUntil(socket, completeResponse);
    socket.write(form.payload);
    const response = await rest;
    socket.destroy();
    expect(response).toMatch(/^HTTP\/1\.1 200 /);
    const user = await services.db.user.findUniqueOrThrow({ where: { id: seed.embedded.id } });
    expect(response).toContain(JSON.stringify({ data: { avatarUrl: user.avatarUrl } }));
    expect(await services.bucket.listKeys(`embedded-users/${seed.embedded.id}/`)).toHaveLength(1);
  });
});
