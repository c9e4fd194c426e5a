// Embedded S3-compatible store for the demo and the tests: s3rver, a real S3 HTTP server that
// keeps objects in a folder. Dev/test only: s3rver is a devDependency.
//
// s3rver checks a request's signature only when the request carries one, so an unsigned GET of
// `endpoint/bucket/key` is answered like a public-read object: the avatar URLs the app returns
// open in a browser without presigning.
import { mkdir } from 'node:fs/promises';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

// s3rver ships no types (@types/s3rver would be one more devDependency for these few lines).
interface S3rverOptions {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  vhostBuckets: boolean;
  configureBuckets: { name: string; configs: string[] }[];
}
interface S3rverInstance {
  httpServer?: Server;
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: S3rverOptions) => S3rverInstance;

const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;

// s3rver's built-in account; requests signed with any other key are refused.
const ACCESS_KEY_ID = 'S3RVER';
const SECRET_ACCESS_KEY = 'S3RVER';
// s3rver ignores the region, but the SDK signs with one.
const REGION = 'us-east-1';

export interface EmbeddedS3Options {
  /** Folder the objects are kept in (created if missing, kept on stop). */
  directory: string;
  /** TCP port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /** Bucket created at start (kept if it already exists in `directory`). */
  bucket: string;
}

export interface EmbeddedS3 {
  /** http://127.0.0.1:<port>; use path-style addressing (`forcePathStyle`). */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  stop(): Promise<void>;
}

export async function startEmbeddedS3(options: EmbeddedS3Options): Promise<EmbeddedS3> {
  await mkdir(options.directory, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    silent: true,
    directory: options.directory,
    // Path-style only: a Host header that happens to look like `<bucket>.<endpoint>` must not
    // change which bucket a request addresses.
    vhostBuckets: false,
    configureBuckets: [{ name: options.bucket, configs: [] }],
  });
  const { port } = await server.run();

  let stopped: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    region: REGION,
    accessKeyId: ACCESS_KEY_ID,
    secretAccessKey: SECRET_ACCESS_KEY,
    bucket: options.bucket,
    stop() {
      stopped ??= (async () => {
        const closing = server.close();
        // close() waits for keep-alive sockets (the SDK keeps them open); end them now.
        server.httpServer?.closeAllConnections();
        await closing;
      })();
      return stopped;
    },
  };
}
