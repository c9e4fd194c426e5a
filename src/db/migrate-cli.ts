// `npm run db:migrate`: applies pending migrations to DATABASE_URL. A process entry point, so it
// reads the environment itself instead of going through the app's config (which wants S3 etc.).
// stdout: one line per applied migration, or "No pending migrations."; progress goes to stderr.
import { migrate } from './migrate.js';

// Driver errors can echo parts of the connection string; never print its password.
function redact(message: string, databaseUrl: string): string {
  let password = '';
  try {
    password = new URL(databaseUrl).password;
  } catch {
    return message.replaceAll(databaseUrl, '<DATABASE_URL>');
  }
  if (!password) return message;
  let decoded = password;
  try {
    decoded = decodeURIComponent(password);
  } catch {
    // Keep the raw form only.
  }
  return message
    .replaceAll(databaseUrl, '<DATABASE_URL>')
    .replaceAll(password, '***')
    .replaceAll(decoded, '***');
}

const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  process.stderr.write('DATABASE_URL is not set: set it to the Postgres connection string to migrate.\n');
  process.exit(1);
}

try {
  const { applied } = await migrate(databaseUrl, { log: (line) => process.stderr.write(`${line}\n`) });
  if (applied.length === 0) process.stdout.write('No pending migrations.\n');
  for (const name of applied) process.stdout.write(`Applied ${name}\n`);
} catch (error) {
  const message = error instanceof Error ? error.message || error.name : String(error);
  process.stderr.write(`Migration failed: ${redact(message, databaseUrl)}\n`);
  process.exitCode = 1;
}
