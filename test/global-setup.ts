// Starts the services every test file shares, once per `vitest run`:
// - one s3rver in a temp folder (each file makes its own bucket, see helpers/s3.ts);
// - Postgres: TEST_DATABASE_URL when set (a real server; each file creates its own database on
//   it), otherwise an embedded PGlite server, plus a dump of its freshly initialised data folder
//   from which each file starts a private PGlite in about a second (see helpers/database.ts).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../src/embedded/postgres.js';
import { type EmbeddedS3, startEmbeddedS3 } from '../src/embedded/s3.js';

export interface TestS3Config {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export type TestDatabaseConfig =
  | { kind: 'server'; url: string }
  | { kind: 'embedded'; url: string; template: string };

declare module 'vitest' {
  export interface ProvidedContext {
    s3: TestS3Config;
    database: TestDatabaseConfig;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const workDir = await mkdtemp(path.join(tmpdir(), 'avatar-tests-'));
  let s3: EmbeddedS3 | undefined;
  let postgres: EmbeddedPostgres | undefined;
  const teardown = async () => {
    await Promise.allSettled([postgres?.stop(), s3?.stop()]);
    await rm(workDir, { recursive: true, force: true });
  };

  try {
    s3 = await startEmbeddedS3({ directory: path.join(workDir, 's3'), bucket: 'default' });
    project.provide('s3', {
      endpoint: s3.endpoint,
      region: s3.region,
      accessKeyId: s3.accessKeyId,
      secretAccessKey: s3.secretAccessKey,
    });

    const serverUrl = process.env.TEST_DATABASE_URL;
    if (serverUrl) {
      project.provide('database', { kind: 'server', url: serverUrl });
    } else {
      postgres = await startEmbeddedPostgres({});
      const template = path.join(workDir, 'pglite-template.tar');
      await writeFile(template, Buffer.from(await (await postgres.dumpDataDir()).arrayBuffer()));
      project.provide('database', { kind: 'embedded', url: postgres.url, template });
    }
  } catch (error) {
    await teardown();
    throw error;
  }
  return teardown;
}
