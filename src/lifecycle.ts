/**
 * Runs `close` once on the first SIGTERM or SIGINT, then exits: 0 when it
 * finished, 1 when it did not within `timeoutMs`. Shared by the server and the demo.
 */
export function closeOnSignals(
  close: () => Promise<void>,
  timeoutMs: number,
  log: (msg: string) => void,
): void {
  let closing = false;
  const onSignal = async (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    log(`${signal}: shutting down`);
    setTimeout(() => {
      log('graceful shutdown timed out; exiting');
      process.exit(1);
    }, timeoutMs).unref();
    await close();
    process.exit(0);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
