// Runs one task a fixed number of times with at most `concurrency` in flight, and records each
// call's latency and outcome plus the RSS of the process doing the work: this one by default
// (the baselines), the service's own process for the HTTP scenarios (service-process.ts). The
// HTTP scenarios and both baselines go through this one function, so they are measured the same way.

/** 'ok', or what went wrong: an HTTP status ('503') or an error code ('ECONNRESET'). */
export type Outcome = string;

export interface LoadOptions {
  count: number;
  concurrency: number;
  /** Stops starting new calls after this long (the run is then marked `capped`). */
  maxMs: number;
  /** Payload bytes one call moves (for MB/s). */
  bytesPerCall: number;
  /** Whose memory to watch; this process by default. */
  rss?: RssSampler;
}

export interface RssStats {
  before: number;
  peak: number;
  after: number;
  /** The kernel's peak RSS over the run (VmHWM after a reset), when the sampler knows it; else NaN. */
  hwm: number;
}

/** Starts sampling a process's RSS; stop() returns what was seen. */
export type RssSampler = () => { stop(): RssStats };

export interface LoadResult {
  calls: number;
  ok: number;
  /** Count per outcome other than 'ok'. */
  errors: Record<string, number>;
  capped: boolean;
  durationMs: number;
  /** Successful calls per second, and their payload in MB (10^6 bytes) per second. */
  perSecond: number;
  mbPerSecond: number;
  /** Percentiles of successful calls, in ms. */
  p50: number;
  p95: number;
  p99: number;
  rss: RssStats;
}

const RSS_SAMPLE_MS = 50;

/** Reads RSS now, every 50 ms and at stop; the peak includes the first and last readings. */
export function sampleEvery(readRss: () => number, readHwm = () => Number.NaN): { stop(): RssStats } {
  const before = readRss();
  let peak = before;
  const sample = () => {
    const now = readRss();
    peak = Math.max(peak, now);
    return now;
  };
  const timer = setInterval(sample, RSS_SAMPLE_MS);
  return {
    stop() {
      clearInterval(timer);
      const after = sample();
      return { before, peak, after, hwm: readHwm() };
    },
  };
}

/** This process's RSS (the bench process: load generator, PGlite, s3rver, baselines). */
export const sampleOwnRss: RssSampler = () => sampleEvery(() => process.memoryUsage.rss());

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] as number;
}

const errorLabel = (err: unknown): Outcome =>
  (err as { code?: string }).code ?? (err as Error).name ?? 'Error';

export async function runLoad(
  task: (i: number) => Promise<Outcome>,
  options: LoadOptions,
): Promise<LoadResult> {
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  let next = 0;
  let capped = false;
  const rss = (options.rss ?? sampleOwnRss)();
  const start = performance.now();

  const worker = async () => {
    while (next < options.count) {
      if (performance.now() - start > options.maxMs) {
        capped = true;
        return;
      }
      const i = next++;
      const t0 = performance.now();
      const outcome = await task(i).catch(errorLabel);
      if (outcome === 'ok') latencies.push(performance.now() - t0);
      else errors[outcome] = (errors[outcome] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, options.count) }, worker));

  const durationMs = performance.now() - start;
  const ok = latencies.length;
  latencies.sort((a, b) => a - b);
  return {
    calls: next,
    ok,
    errors,
    capped,
    durationMs,
    perSecond: ok / (durationMs / 1000),
    mbPerSecond: (ok * options.bytesPerCall) / 1e6 / (durationMs / 1000),
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    rss: rss.stop(),
  };
}
