// The HTTP client side of the benchmark: avatar uploads over keep-alive connections from this
// process (node:http; undici is not a dependency). One prebuilt multipart body is reused for
// every request, so the client allocates almost nothing per call and RSS reflects the service.
import http from 'node:http';
import { avatarForm } from '../test/helpers/multipart.js';
import type { Outcome } from './load.js';

export interface UploadTarget {
  baseUrl: string;
  orgId: string;
  /** Request i goes to user i mod n, so concurrent requests rarely wait on the same row lock. */
  userIds: string[];
  apiKey: string;
}

/** A client-side bound, above the service's own request timeout, so a stuck call cannot hang the bench. */
const CLIENT_TIMEOUT_MS = 60_000;

export function keepAliveAgent(concurrency: number): http.Agent {
  return new http.Agent({ keepAlive: true, maxSockets: concurrency });
}

export function multipartBody(image: Buffer) {
  const { payload, headers } = avatarForm(image);
  return { payload, contentType: headers['content-type'] };
}

/** A task for runLoad: one upload, 'ok' on 200, otherwise the status or the error code. */
export function uploader(
  target: UploadTarget,
  image: Buffer,
  agent: http.Agent,
): (i: number) => Promise<Outcome> {
  const { payload, contentType } = multipartBody(image);
  const urls = target.userIds.map(
    (userId) => `${target.baseUrl}/api/public/organizations/${target.orgId}/embedded-users/${userId}/avatar`,
  );
  const headers = {
    authorization: `Bearer ${target.apiKey}`,
    'content-type': contentType,
    'content-length': String(payload.length),
  };
  return (i) =>
    new Promise<Outcome>((resolve) => {
      const request = http.request(
        urls[i % urls.length] as string,
        { method: 'POST', agent, headers, timeout: CLIENT_TIMEOUT_MS },
        (response) => {
          response.resume(); // the JSON answer is small; only the status matters here
          response.on('end', () => resolve(response.statusCode === 200 ? 'ok' : String(response.statusCode)));
          response.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'response error'));
        },
      );
      request.on('timeout', () => request.destroy(Object.assign(new Error('timeout'), { code: 'timeout' })));
      request.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      request.end(payload);
    });
}
