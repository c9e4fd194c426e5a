import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config/env.js';
import { closeOnSignals } from './lifecycle.js';

// The process entry point: parse the environment, build, listen, shut down cleanly.
async function main() {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  if (!config.databaseUrl) {
    console.error(
      'Invalid configuration:\n  - DATABASE_URL: required (or run `npm run demo` for the embedded default)',
    );
    process.exit(1);
  }

  const app = await buildApp(config);
  closeOnSignals(
    () => app.close(),
    config.server.shutdownTimeoutMs,
    (msg) => app.log.info(msg),
  );

  await app.listen({ port: config.server.port, host: config.server.host });
  if (!config.storage)
    app.log.warn('S3_BUCKET_NAME is not set: uploads will answer 503 until storage is configured');
}

main().catch((err) => {
  console.error('Failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
