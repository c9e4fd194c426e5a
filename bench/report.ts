// Formatting only: the machine header and Markdown tables that can be pasted into a README.
import os from 'node:os';
import sharp from 'sharp';
import type { ImageBenchResult } from './images.js';
import type { LoadResult } from './load.js';
import type { Figures, Input } from './scenarios.js';

export function machineLines(): string[] {
  const cpus = os.cpus();
  const load = os.loadavg().map((l) => l.toFixed(2));
  return [
    `date: ${new Date().toISOString()}`,
    `cpu: ${cpus[0]?.model.trim() ?? 'unknown'}, ${cpus.length} cores (available parallelism ${os.availableParallelism()})`,
    `memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB total, ${(os.freemem() / 2 ** 30).toFixed(1)} GiB free`,
    `os: ${os.type()} ${os.release()} ${os.arch()}; load average ${load.join(' ')}`,
    `node: ${process.version}; sharp ${sharp.versions.sharp}, libvips ${sharp.versions.vips}`,
  ];
}

type Cell = string | number;

/** A Markdown table with aligned columns; numbers are right-aligned. */
export function table(rows: Array<Record<string, Cell>>): string {
  const first = rows[0];
  if (!first) return '(no rows)';
  const columns = Object.keys(first);
  const text = (cell: Cell | undefined) => (cell === undefined ? '' : String(cell));
  const widths = columns.map((c) => Math.max(3, c.length, ...rows.map((r) => text(r[c]).length)));
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  const numeric = columns.map((c) =>
    rows.every((r) => typeof r[c] === 'number' || /^[\d.,x×-]+$/.test(text(r[c]))),
  );
  return [
    line(columns.map((c, i) => c.padEnd(widths[i] as number))),
    line(widths.map((w, i) => (numeric[i] ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w)))),
    ...rows.map((r) =>
      line(
        columns.map((c, i) =>
          numeric[i] ? text(r[c]).padStart(widths[i] as number) : text(r[c]).padEnd(widths[i] as number),
        ),
      ),
    ),
  ].join('\n');
}

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '-');
export const ms = (value: number) => fixed(value, value < 10 ? 1 : 0);
export const mb = (bytes: number) => fixed(bytes / 1e6, 0);
export const ratio = (a: number, b: number) => fixed(a / b, 2);

export function errorSummary(result: LoadResult): string {
  const entries = Object.entries(result.errors);
  const text = entries.length ? entries.map(([what, n]) => `${what}×${n}`).join(', ') : 'none';
  return result.capped ? `${text} (time cap)` : text;
}

const peakOf = (r: LoadResult) => (Number.isFinite(r.rss.hwm) ? Math.max(r.rss.peak, r.rss.hwm) : r.rss.peak);

/** The columns shared by every load row: counts, throughput, latency, and whose memory it was. */
export function loadColumns(result: LoadResult, memoryOf: 'service' | 'bench'): Record<string, Cell> {
  const { rss } = result;
  return {
    requests: result.calls,
    errors: errorSummary(result),
    'req/s': fixed(result.perSecond, 1),
    'MB/s': fixed(result.mbPerSecond, 1),
    'p50 ms': ms(result.p50),
    'p95 ms': ms(result.p95),
    'p99 ms': ms(result.p99),
    [`${memoryOf} RSS before/peak/after MB`]: `${mb(rss.before)}/${mb(rss.peak)}/${mb(rss.after)}`,
    ...(memoryOf === 'service' ? { 'VmHWM MB': mb(rss.hwm) } : {}),
  };
}

export function imageSection(result: ImageBenchResult): string {
  const rows = result.rows.map((r) => ({
    input: r.input,
    variant: r.variant,
    n: r.iterations,
    'mean ms': r.meanMs,
    'p50 ms': r.p50Ms,
    'p95 ms': r.p95Ms,
    'output bytes': r.outputBytes,
    output: r.outputSize,
  }));
  return [
    '## 1. Image pipeline, one image at a time (bench/images.ts)',
    '',
    ...result.inputs.map((input) => `- ${input.name}: ${input.bytes} bytes, ${input.size} as displayed`),
    '',
    table(rows),
  ].join('\n');
}

export function httpSection(
  figures: Figures,
  context: { concurrency: number; users: number; services: string; inputs: Input[] },
): string {
  const { http, baselines } = figures;
  const C = context.concurrency;
  const ratios = Object.entries(http).map(([scenario, r]) => {
    const [mode, input] = scenario.split(' ');
    const s3 = baselines[`S3 PUT ${input}`] as LoadResult;
    const alone = baselines[`processor ${mode} ${input}`] as LoadResult;
    return {
      scenario,
      'req/s vs S3 PUT': ratio(r.perSecond, s3.perSecond),
      'p50 vs S3 PUT': ratio(r.p50, s3.p50),
      'req/s vs processor': ratio(r.perSecond, alone.perSecond),
      'p50 vs processor': ratio(r.p50, alone.p50),
    };
  });
  return [
    `## 2. HTTP end-to-end: concurrency ${C}, keep-alive, ${context.users} embedded users`,
    '',
    `- service: its own process per mode (${figures.processes.map((p) => `${p.mode} pid ${p.pid}`).join(', ')}),`,
    '  `node --import tsx src/server.ts`; the load comes over HTTP from the bench process',
    `- services: ${context.services}`,
    `- inputs (made as in section 1): ${context.inputs.map((i) => `${i.label} ${i.bytes.length} bytes`).join(', ')}`,
    `- IMAGE_CONCURRENCY ${figures.imageConcurrency}; req/s, MB/s and latency count successful (200) requests only`,
    '',
    "Memory is the service process's, from /proc/<pid>/status: VmRSS sampled every 50 ms, and VmHWM, the",
    "kernel's own record of the peak over the run (reset when the run starts).",
    '',
    table(Object.entries(http).map(([scenario, r]) => ({ scenario, ...loadColumns(r, 'service') }))),
    '',
    `Baselines, same inputs, concurrency ${C}, both in the bench process: a raw PUT of the upload's bytes with`,
    'the AWS SDK to the same embedded S3, and the image processor alone (createImageProcessor, same options;',
    "no HTTP, DB or S3). Their RSS is the bench process's (load generator and embedded services included).",
    '',
    table(Object.entries(baselines).map(([baseline, r]) => ({ baseline, ...loadColumns(r, 'bench') }))),
    '',
    'Service / baseline: req/s below 1 and p50 above 1 mean the service is slower than that part alone.',
    '',
    table(ratios),
  ].join('\n');
}

export function probeSection(
  figures: Figures,
  context: { concurrency: number; probeConcurrency: number; photoBytes: number },
): string {
  const row = (concurrency: number, r: LoadResult) => ({
    concurrency,
    requests: r.calls,
    errors: errorSummary(r),
    'p50 ms': ms(r.p50),
    'p99 ms': ms(r.p99),
    'RSS before MB': mb(r.rss.before),
    'RSS peak MB (sampled)': mb(r.rss.peak),
    'VmHWM MB': mb(r.rss.hwm),
    'growth MB': mb(peakOf(r) - r.rss.before),
    'RSS after MB': mb(r.rss.after),
  });
  const atC = figures.http['sanitize photo'] as LoadResult;
  const { probe } = figures;
  const extra = context.probeConcurrency - context.concurrency;
  return [
    `## 3. Memory probe: ${context.probeConcurrency} concurrent photo uploads, sanitize (service process)`,
    '',
    table([row(context.concurrency, atC), row(context.probeConcurrency, probe)]),
    '',
    `The first row is section 2's run; both ran in the same sanitize service process, one after the other.`,
    `Concurrency ${context.probeConcurrency} vs ${context.concurrency}: peak RSS ratio ${ratio(peakOf(probe), peakOf(atC))}, peak ${mb(peakOf(probe) - peakOf(atC))} MB higher;`,
    `${extra} more bodies of this photo are ${mb(extra * context.photoBytes)} MB.`,
    `At most IMAGE_CONCURRENCY = ${figures.imageConcurrency} images are decoded at once; the bodies of waiting requests are held.`,
    'Peak is the larger of the sampled VmRSS and VmHWM; growth is peak minus RSS before the run. RSS growth',
    'understates when earlier runs left freed memory in the allocator.',
  ].join('\n');
}
