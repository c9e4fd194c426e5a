import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { authenticate, type Caller } from '../../auth/authenticate.js';
import { findManagedUser } from '../../auth/authorize.js';
import { replaceAvatar } from '../../avatars/replace-avatar.js';
import type { Config } from '../../config/env.js';
import { AppError, errors } from '../../errors.js';
import type { ImageProcessor } from '../../images/types.js';
import { Deadline } from '../deadline.js';
import { allowOnly } from '../method-not-allowed.js';
import { multipartLimits, readAvatarFile } from '../read-avatar-file.js';
import { UploadSlots } from '../upload-slots.js';

/** The contract's cap: 2,097,152 bytes pass, 2,097,153 fail. */
export const AVATAR_MAX_BYTES = 2 * 1024 * 1024;

export const AVATAR_ROUTE = '/api/public/organizations/:orgId/embedded-users/:userId/avatar';

interface AvatarRouteOptions {
  config: Readonly<Config>;
  images: ImageProcessor;
}

interface AvatarRequest {
  Params: { orgId: string; userId: string };
}

/**
 * POST an avatar for an embedded user. The whole pipeline is in `uploadAvatar`
 * below, in the contract's order; the first failing step answers.
 */
export async function avatarRoutes(app: FastifyInstance, { config, images }: AvatarRouteOptions) {
  // Fastify would otherwise read (JSON, text) or reject (415) a body before the
  // handler runs, i.e. before authentication. Here no parser touches the body:
  // it is read only by readAvatarFile, once checks 1-4 have passed.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));
  await app.register(multipart, { limits: multipartLimits(AVATAR_MAX_BYTES), throwFileSizeLimit: true });
  const slots = new UploadSlots(config.maxConcurrentUploads);

  app.post<AvatarRequest>(AVATAR_ROUTE, async function uploadAvatar(request, reply) {
    const deadline = new Deadline(config.server.requestTimeoutMs, reply);

    // 1 + 2: who is calling, and are they within their limits?
    const caller = await authenticateOrThrottle(app, request);
    const quota = await app.rateLimiters.consumeKey(request, caller.keyId);
    reply.headers({
      'x-ratelimit-limit': quota.limit,
      'x-ratelimit-remaining': quota.remaining,
      'x-ratelimit-reset': Math.ceil(quota.resetMs / 1000),
    });

    // 3: may they manage this user? (one query, one answer for every failure)
    const user = await findManagedUser(app.db, caller, request.params.orgId, request.params.userId);

    // 4: is there anywhere to put it?
    const storage = app.storage;
    if (!storage) throw errors.storageNotConfigured();

    // Bounded memory: at most maxConcurrentUploads bodies held at once.
    const release = slots.tryAcquire();
    if (!release) throw errors.busy();
    try {
      // 5 + 6: only now read the body: one JPEG or PNG, at most 2 MB.
      const upload = await readAvatarFile(request, reply, AVATAR_MAX_BYTES);
      const image = await deadline.within(images.process(upload, deadline.signal));

      // 7: object, then row, then the previous object.
      const avatarUrl = await replaceAvatar({
        db: app.db,
        storage,
        userId: user.id,
        image,
        deadline,
        dbTimeoutMs: config.db.timeoutMs,
        log: request.log,
      });
      request.log.info({ userId: user.id, bytes: image.bytes.length, format: image.format }, 'avatar stored');
      return reply.code(200).send({ data: { avatarUrl } });
    } finally {
      release();
    }
  });

  allowOnly(app, AVATAR_ROUTE, ['POST']);
}

/**
 * A failed authentication counts against the client IP (brute force); once the
 * IP is over its limit it is answered 429 instead of 401. A valid key never
 * reaches that limit's counter, so it is never refused by it.
 */
async function authenticateOrThrottle(app: FastifyInstance, request: FastifyRequest): Promise<Caller> {
  try {
    return await authenticate(app.db, request.headers.authorization);
  } catch (err) {
    if (err instanceof AppError && err.status === 401) await app.rateLimiters.countAuthFailure(request);
    throw err;
  }
}
