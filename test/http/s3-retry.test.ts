import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, useTestServices } from '../helpers/app.js';
import { jpeg } from '../helpers/images.js';
import { avatarForm } from '../helpers/multipart.js';
import { adminTarget, postAvatar, seedOrg } from '../helpers/seed.js';

const services = useTestServices();

/**
 * A real HTTP hop in front of the S3 server that answers 503 SlowDown to the
 * first request of each method it is told to fail, then forwards everything:
 * the transient fault a real S3 gives under load, which s3rver cannot produce.
 */
function flakyS3Proxy(target: string) {
  const failNext = new Set<string>();
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.method ?? '');
    if (req.method && failNext.delete(req.method)) {
      req.resume();
      res.writeHead(503, { 'content-type': 'application/xml' });
      res.end('<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
      return;
    }
    const upstream = http.request(
      new URL(req.url ?? '/', target),
      { method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  return { server, failNext, seen };
}

const proxy = { current: undefined as ReturnType<typeof flakyS3Proxy> | undefined, endpoint: '' };
beforeAll(async () => {
  proxy.current = flakyS3Proxy(services.env.S3_BUCKET_ENDPOINT as string);
  await new Promise<void>((resolve) => proxy.current?.server.listen(0, '127.0.0.1', resolve));
  proxy.endpoint = `http://127.0.0.1:${(proxy.current.server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => proxy.current?.server.close(() => resolve())));

describe('transient S3 errors are retried within the request deadline', () => {
  it('a PUT and a DELETE answered 503 once still end in one stored object', async () => {
    const seed = await seedOrg(services.db);
    const flaky = proxy.current;
    if (!flaky) throw new Error('proxy not started');
    const { app } = await buildTestApp(services, { env: { S3_BUCKET_ENDPOINT: proxy.endpoint } });

    flaky.failNext.add('PUT');
    const first = await postAvatar(app, adminTarget(seed), avatarForm(await jpeg(20, 20, 1)));
    expect(first.statusCode).toBe(200);

    flaky.failNext.add('DELETE');
    const second = await postAvatar(app, adminTarget(seed), avatarForm(await jpeg(20, 20, 2)));
    expect(second.statusCode).toBe(200);
    const url: string = second.json().data.avatarUrl;

    // Both faults happened and were retried: PUT, PUT (first upload); PUT, DELETE, DELETE (second).
    expect(flaky.seen).toEqual(['PUT', 'PUT', 'PUT', 'DELETE', 'DELETE']);
    const user = await services.db.user.findUniqueOrThrow({ where: { id: seed.embedded.id } });
    expect(user.avatarUrl).toBe(url);
    const keys = await services.bucket.listKeys(`embedded-users/${seed.embedded.id}/`);
    expect(keys).toHaveLength(1);
    expect(url.endsWith(keys[0] as string)).toBe(true);
  });
});
