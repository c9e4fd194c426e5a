// Generates the Prisma client (src/generated/prisma, git-ignored).
//
// `prisma generate` first tries to download the native schema engine even though
// generation does not use it; offline that download fails. We try the normal
// path first (so a connected machine behaves as Prisma intends) and only then
// fall back to PRISMA_SCHEMA_ENGINE_BINARY, Prisma's documented override,
// pointed at any executable.
import { spawnSync } from 'node:child_process';

const run = (env) =>
  spawnSync('npx', ['--no-install', 'prisma', 'generate'], {
    stdio: 'pipe',
    env: { ...process.env, ...env },
  });

let result = run({});
if (result.status !== 0) {
  result = run({ PRISMA_SCHEMA_ENGINE_BINARY: process.execPath });
}
if (result.status !== 0) {
  process.stderr.write(result.stdout);
  process.stderr.write(result.stderr);
  process.exit(result.status ?? 1);
}
process.stdout.write('Prisma client generated in src/generated/prisma\n');
