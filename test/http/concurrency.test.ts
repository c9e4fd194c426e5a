import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { buildTestApp, useTestServices } from '../helpers/app.js';
import { jpeg, jpegOfSize } from '../helpers/images.js';
import { avatarForm, multipart } from '../helpers/multipart.js';
import { avatarPath, bearer, type SeededOrg, seedOrg } from '../helpers/seed.js';

// Real HTTP on keep-alive connections, because @fastify/multipart was seen to
// truncate files silently under load there (ENVIRONMENT.md), which single
// inject() calls never show. Passthrough mode stores the bytes as sent, so the
// stored object can be compared byte for byte; the rate limits are set high so
// that they are not what is tested here.

const MAX = 2 * 1024 * 1024;
const services = useTestServices();

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * One request over `agent`. The server may answer before it has read the whole
 * body and then close the connection (401, 413), so once a response has arrived
 * a write error on the request side is expected and ignored.
 */
function send(
  port: number,
  path: string,
  options: { headers: http.OutgoingHttpHeaders; body: Buffer; agent: http.Agent },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        agent: options.agent,
        headers: { ...options.headers, 'content-length': options.body.length },
      },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('aborted', () => reject(new Error('response aborted')));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      },
    );
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    req.end(options.body);
  });
}

const json = (answer: Answer) => JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;

/** The contract's error envelope, exactly: `{"error":{"title","detail"}}` with a sentence. */
function expectError(answer: Answer, status: number, title: string) {
  expect(answer.status).toBe(status);
  expect(answer.headers['content-type']).toMatch(/^application\/json/);
  const body = json(answer);
  expect(Object.keys(body)).toEqual(['error']);
  const error = body.error as Record<string, unknown>;
  expect(Object.keys(error).sort()).toEqual(['detail', 'title']);
  expect(error.title).toBe(title);
  expect(error.detail).toBeTypeOf('string');
  expect((error.detail as string).length).toBeGreaterThan(10);
}

/** An app from the production build path, listening on a random loopback port. */
async function listen(options: { captureLogs?: boolean } = {}) {
  const test = await buildTestApp(services, {
    env: {
      AVATAR_PROCESSING: 'passthrough',
      RATE_LIMIT_MAX: '100000',
      AUTH_FAILURE_LIMIT_MAX: '100000',
    },
    captureLogs: options.captureLogs,
  });
  await test.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = test.app.server.address() as AddressInfo;
  let connections = 0;
  test.app.server.on('connection', () => {
    connections++;
  });
  return { ...test, port, connections: () => connections };
}

/** Runs `tasks` with at most `limit` in flight, keeping the results in order. */
async function pool<T>(limit: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await (tasks[index] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}

async function storedAvatarUrl(userId: string): Promise<string | null> {
  const user = await services.db.user.findUniqueOrThrow({
    where: { id: userId },
    select: { avatarUrl: true },
  });
  return user.avatarUrl;
}

/** The bucket key of an avatarUrl, after checking it is under the configured public base. */
function keyOf(avatarUrl: string): string {
  const base = `${services.env.S3_BUCKET_ENDPOINT?.replace(/\/+$/, '')}/${services.bucket.name}/`;
  expect(avatarUrl.startsWith(base)).toBe(true);
  return avatarUrl.slice(base.length);
}

const folder = (userId: string) => `embedded-users/${userId}/`;

describe('concurrent uploads over keep-alive HTTP', () => {
  let seeded: SeededOrg;
  beforeAll(async () => {
    seeded = await seedOrg(services.db);
  });

  it('holds the 2 MB boundary exactly under concurrent keep-alive load', async () => {
    const { port, connections } = await listen();
    const atLimit = await jpegOfSize(MAX);
    const overLimit = await jpegOfSize(MAX + 1);
    expect(atLimit.length).toBe(2_097_152);
    expect(overLimit.length).toBe(2_097_153);
    const okForm = avatarForm(atLimit);
    const bigForm = avatarForm(overLimit);
    const path = avatarPath(seeded.org.id, seeded.embedded.id);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

    const tasks = Array.from({ length: 24 }, (_, i) => () => {
      const form = i % 2 === 0 ? okForm : bigForm;
      return send(port, path, {
        agent,
        headers: { ...form.headers, ...bearer(seeded.adminKey.key), 'x-request-id': `boundary-${i}` },
        body: form.payload,
      });
    });
    const answers = await pool(8, tasks).finally(() => agent.destroy());

    const avatarUrls: string[] = [];
    answers.forEach((answer, i) => {
      expect(answer.headers['x-request-id']).toBe(`boundary-${i}`);
      if (i % 2 === 0) {
        expect(answer.status, `request ${i} (2,097,152 bytes)`).toBe(200);
        const body = json(answer);
        expect(Object.keys(body)).toEqual(['data']);
        const data = body.data as Record<string, unknown>;
        expect(Object.keys(data)).toEqual(['avatarUrl']);
        avatarUrls.push(data.avatarUrl as string);
      } else {
        expect(answer.status, `request ${i} (2,097,153 bytes)`).toBe(413);
        expectError(answer, 413, 'PayloadTooLarge');
      }
    });
    // Each stored image got its own URL.
    expect(new Set(avatarUrls).size).toBe(12);
    // Keep-alive connections were really reused (each 413 may close its own).
    expect(connections()).toBeLessThan(24);

    // The row points at one of the answered URLs, and that object is the only
    // one in the user's folder: the exact bytes sent, not a truncated prefix.
    const avatarUrl = await storedAvatarUrl(seeded.embedded.id);
    expect(avatarUrls).toContain(avatarUrl);
    const key = keyOf(avatarUrl as string);
    expect(key.startsWith(folder(seeded.embedded.id))).toBe(true);
    expect(await services.bucket.listKeys(folder(seeded.embedded.id))).toEqual([key]);
    const stored = await services.bucket.getObject(key);
    expect(stored.body.length).toBe(2_097_152);
    expect(stored.body.equals(atLimit)).toBe(true);
    expect(stored.contentType).toBe('image/jpeg');
  }, 120_000);

  it('serialises concurrent uploads for one user: one object left, the one avatar_url points at', async () => {
    const { port } = await listen();
    const user = await seedOrg(services.db);
    const path = avatarPath(user.org.id, user.embedded.id);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 12 });

    // A lost race leaves an orphan only now and then, so race several rounds.
    for (let round = 0; round < 3; round++) {
      const images = await Promise.all(Array.from({ length: 12 }, (_, i) => jpeg(64 + i, 48 + round, i + 1)));
      expect(new Set(images.map((image) => image.toString('base64'))).size).toBe(12);
      const answers = await Promise.all(
        images.map((image, i) => {
          const form = avatarForm(image, `photo-${i}.jpg`);
          return send(port, path, {
            agent,
            headers: { ...form.headers, ...bearer(user.adminKey.key) },
            body: form.payload,
          });
        }),
      );

      const urls = answers.map((answer, i) => {
        expect(answer.status, `round ${round}, upload ${i}`).toBe(200);
        return (json(answer).data as { avatarUrl: string }).avatarUrl;
      });
      expect(new Set(urls).size).toBe(12);

      const avatarUrl = await storedAvatarUrl(user.embedded.id);
      const winner = urls.indexOf(avatarUrl as string);
      expect(winner, `round ${round}: avatar_url is one of the answered URLs`).toBeGreaterThanOrEqual(0);
      const key = keyOf(avatarUrl as string);
      expect(await services.bucket.listKeys(folder(user.embedded.id)), `round ${round}`).toEqual([key]);
      // Passthrough: the survivor is exactly the image of the upload whose URL won.
      expect((await services.bucket.getObject(key)).body.equals(images[winner] as Buffer)).toBe(true);
    }
    agent.destroy();
  }, 60_000);
});

describe('clients that misbehave', () => {
  it('survives a client that promises 3 MB, sends part of it and hangs up; nothing is stored', async () => {
    const { app, port, logs } = await listen({ captureLogs: true });
    const seeded = await seedOrg(services.db);
    const requestId = 'partial-upload-1';

    // The server side of that request, watched without touching its body.
    let serverRequest: http.IncomingMessage | undefined;
    app.server.on('request', (req: http.IncomingMessage) => {
      if (req.headers['x-request-id'] === requestId) serverRequest = req;
    });

    const boundary = 'partial-boundary-7f3a';
    const image = await jpegOfSize(3 * 1024 * 1024);
    const sent = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="avatar"; filename="a.jpg"\r\n` +
          'Content-Type: image/jpeg\r\n\r\n',
      ),
      image.subarray(0, 1024 * 1024),
    ]);
    const head = Buffer.from(
      `POST ${avatarPath(seeded.org.id, seeded.embedded.id)} HTTP/1.1\r\n` +
        `Host: 127.0.0.1:${port}\r\n` +
        `Authorization: Bearer ${seeded.adminKey.key}\r\n` +
        `Content-Type: multipart/form-data; boundary=${boundary}\r\n` +
        `Content-Length: ${3 * 1024 * 1024}\r\n` +
        `x-request-id: ${requestId}\r\n\r\n`,
    );

    const socket = net.connect({ host: '127.0.0.1', port });
    let received = '';
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
    });
    socket.on('error', () => {}); // destroyed on purpose below
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    await new Promise<void>((resolve, reject) =>
      socket.write(Buffer.concat([head, sent]), (err) => (err ? reject(err) : resolve())),
    );

    // Past authentication and authorization, the server is reading the file:
    // it has consumed every byte sent so far, and has not answered.
    await vi.waitFor(
      () => {
        expect(serverRequest?.socket.bytesRead).toBe(head.length + sent.length);
      },
      { timeout: 20_000, interval: 20 },
    );
    expect(received).toBe('');
    socket.destroy();

    // The request is concluded on the server (it did not hang waiting for bytes
    // that never come) as a malformed body, not a stored avatar.
    await vi.waitFor(
      () => {
        const ended = logs().filter(
          (line) => line.requestId === requestId && typeof line.status === 'number',
        );
        expect(ended.map((line) => [line.status, line.title])).toEqual([[400, 'ValidationError']]);
      },
      { timeout: 20_000, interval: 50 },
    );
    const lines = logs().filter((line) => line.requestId === requestId);
    expect(lines.some((line) => line.msg === 'avatar stored')).toBe(false);
    expect(await services.bucket.listKeys(folder(seeded.embedded.id))).toEqual([]);
    expect(await storedAvatarUrl(seeded.embedded.id)).toBeNull();

    // The server is healthy: the next upload for the same user succeeds.
    const agent = new http.Agent({ keepAlive: true });
    const form = avatarForm(await jpeg(40, 40, 3));
    const next = await send(port, avatarPath(seeded.org.id, seeded.embedded.id), {
      agent,
      headers: { ...form.headers, ...bearer(seeded.adminKey.key) },
      body: form.payload,
    }).finally(() => agent.destroy());
    expect(next.status).toBe(200);
    const avatarUrl = (json(next).data as { avatarUrl: string }).avatarUrl;
    expect(await storedAvatarUrl(seeded.embedded.id)).toBe(avatarUrl);
    expect(await services.bucket.listKeys(folder(seeded.embedded.id))).toEqual([keyOf(avatarUrl)]);
  }, 60_000);

  it('answers a 401 to an unauthenticated 1.5 MB upload in the envelope, with connection: close', async () => {
    const { port } = await listen();
    const seeded = await seedOrg(services.db);
    const form = multipart([
      {
        name: 'avatar',
        filename: 'a.jpg',
        contentType: 'image/jpeg',
        data: await jpegOfSize(1.5 * 1024 * 1024),
      },
    ]);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const unknownKey = `bd_key_${'Z'.repeat(40)}`;

    const answer = await send(port, avatarPath(seeded.org.id, seeded.embedded.id), {
      agent,
      headers: { ...form.headers, ...bearer(unknownKey), 'x-request-id': 'unauthenticated-1' },
      body: form.payload,
    }).finally(() => agent.destroy());

    expectError(answer, 401, 'Unauthorized');
    expect(answer.headers.connection).toBe('close');
    expect(answer.headers['x-request-id']).toBe('unauthenticated-1');
    expect(await services.bucket.listKeys(folder(seeded.embedded.id))).toEqual([]);
    expect(await storedAvatarUrl(seeded.embedded.id)).toBeNull();
  }, 30_000);
});
