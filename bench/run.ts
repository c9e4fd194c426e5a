// `npm run bench`: image pipeline figures, end-to-end HTTP uploads against the service built as in
// production, two baselines measured in the same run, and a memory-boundedness probe.
// Client, service, embedded Postgres and embedded S3 share this process and a noisy machine:
// compare ratios within one run, never absolute timings across runs. See bench/README.md.
import { z } from 'zod';
import { checkBucket } from './consistency.js';
import { makeInputs, runImageBench } from './images.js';
import { httpSection, imageSection, machineLines, mb, probeSection } from './report.js';
import { type Input, runScenarios } from './scenarios.js';
import { type Services, startServices } from './services.js';

const benchEnv = z.object({
  BENCH_QUICK: z.enum(['1', '0', 'true', 'false']).optional(),
  BENCH_DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional(),
  BENCH_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(8),
});
const parsed = benchEnv.safeParse(
  Object.fromEntries(Object.entries(process.env).filter(([, v]) => v?.trim())),
);
if (!parsed.success) {
  for (const issue of parsed.error.issues) console.error(`${issue.path.join('.')}: ${issue.message}`);
  process.exit(1);
}
const env = parsed.data;
const quick = env.BENCH_QUICK === '1' || env.BENCH_QUICK === 'true';

// Counts sized for ~3 minutes on 2 cores (quick: ~40 s); maxMsPerRun bounds each run regardless.
const plan = {
  imageScale: quick ? 0.1 : 1,
  users: 16,
  requests: { avatar: quick ? 24 : 300, photo: quick ? 8 : 100 },
  concurrency: env.BENCH_CONCURRENCY,
  probe: { concurrency: 32, requests: quick ? 32 : 96 },
  maxMsPerRun: quick ? 5_000 : 40_000,
  watchdogMs: quick ? 180_000 : 480_000,
};

const say = (text = '') => console.log(text);
const t0 = Date.now();
const progress = (line: string) =>
  console.error(`[bench ${((Date.now() - t0) / 1000).toFixed(0)} s] ${line}`);

let services: Services | undefined;
const cleanup = async () => {
  const running = services;
  services = undefined;
  await running?.stop();
};

async function main() {
  const started = Date.now();
  const rssAt: Array<[string, number]> = [['at start', process.memoryUsage.rss()]];
  say(`# Avatar service benchmark${quick ? ' (BENCH_QUICK=1: smoke run, rough figures)' : ''}\n`);
  for (const line of machineLines()) say(`- ${line}`);

  progress('image pipeline, one image at a time');
  say(`\n${imageSection(await runImageBench({ scale: plan.imageScale }))}`);
  rssAt.push(['after section 1', process.memoryUsage.rss()]);

  const [photo, avatar] = await makeInputs(1);
  if (!photo || !avatar) throw new Error('bench/images.ts made no inputs');
  const inputs: Input[] = [
    { label: 'avatar', bytes: avatar.bytes, count: plan.requests.avatar },
    { label: 'photo', bytes: photo.bytes, count: plan.requests.photo },
  ];

  progress('starting embedded services');
  services = await startServices({ externalDatabaseUrl: env.BENCH_DATABASE_URL, users: plan.users });
  rssAt.push(['with services started', process.memoryUsage.rss()]);
  const figures = await runScenarios(services, inputs, plan, progress);
  progress('checking the bucket against the database');
  const consistency = await checkBucket(services.databaseUrl, services.storage);

  const { concurrency } = plan;
  say(
    `\n${httpSection(figures, { concurrency, users: plan.users, services: services.description, inputs })}`,
  );
  const probeConcurrency = plan.probe.concurrency;
  say(`\n${probeSection(figures, { concurrency, probeConcurrency, photoBytes: photo.bytes.length })}`);

  say('\n## Checks\n');
  say(`- bucket vs database after all uploads: ${consistency}`);
  say(`- process RSS: ${rssAt.map(([when, rss]) => `${mb(rss)} MB ${when}`).join(', ')}`);
  say(`- process max RSS over the whole run (kernel): ${mb(process.resourceUsage().maxRSS * 1024)} MB`);
  say(`- ${machineLines()[3]?.replace(/^.*; /, 'at the end: ')}`);
  say(`- the bench took ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

const watchdog = setTimeout(() => {
  console.error(`[bench] gave up after ${plan.watchdogMs / 1000} s`);
  void cleanup().finally(() => process.exit(1));
}, plan.watchdogMs);
watchdog.unref();
process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));

try {
  await main();
} catch (err) {
  console.error(`[bench] failed: ${err instanceof Error ? (err.stack ?? err.message) : err}`);
  process.exitCode = 1;
} finally {
  await cleanup();
  clearTimeout(watchdog);
}
