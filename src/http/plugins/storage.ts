import fp from 'fastify-plugin';
import type { StorageConfig } from '../../config/env.js';
import { createS3Client, createS3Storage } from '../../storage/s3-storage.js';
import type { AvatarStorage } from '../../storage/storage.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Undefined when object storage is not configured (the route answers 503). */
    storage: AvatarStorage | undefined;
  }
}

/** Exposes the avatar store as `app.storage`: the injected one, or S3 from config. */
export const storagePlugin = fp<{ config?: StorageConfig; storage?: AvatarStorage }>(
  async (app, opts) => {
    if (opts.storage || !opts.config) {
      app.decorate('storage', opts.storage);
      return;
    }
    const client = createS3Client(opts.config);
    app.decorate('storage', createS3Storage(client, opts.config));
    app.addHook('onClose', async () => client.destroy());
  },
  { name: 'storage' },
);
