// `npm run bench`: image pipeline figures, end-to-end HTTP uploads against the service running in
// its own process as in production, two baselines measured in the same run, and a
// memory-boundedness probe. This process runs the load generator, the embedded Postgres and S3,
// section 1 and the baselines; the service runs alone in a child process (service-process.ts).
// The machine is shared and noisy: compare ratios within one run, never absolute timings across
// runs. See bench/README.md.
import { z } from 'zod';
import { checkBucket } from './consistency.js';
import { makeInputs, runImageBench } from './images.js';
import { httpSection, imageSection, machineLines, mb, ms, probeSection } from './report.js';
import { type Input, runScenarios } from './scenarios.js';
import { killServiceProcesses } from './service-process.js';
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
/** What runs next to the load generator in this process. */
const embedded = env.BENCH_DATABASE_URL ? 'the embedded s3rver' : 'the embedded PGlite and s3rver';

// Counts sized for ~1.5-2 minutes on 2 cores (quick: ~30 s); maxMsPerRun bounds each run regardless.
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
  killServiceProcesses(); // none left after a normal run; on Ctrl-C or the watchdog, before their services
  await running?.stop();
};

async function main() {
  const started = Date.now();
  const rssAt: Array<[string, number]> = [['at start', process.memoryUsage.rss()]];
  say(`# Avatar service benchmark${quick ? ' (BENCH_QUICK=1: smoke run, rough figures)' : ''}\n`);
  for (const line of machineLines()) say(`- ${line}`);
  say(`- processes: the bench process runs section 1, the load generator, the baselines and ${embedded};`);
  say('  the service runs in its own process (`node --import tsx src/server.ts`, one per processing mode)');
  say('  for sections 2 and 3');

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
  rssAt.push([`with ${embedded} started`, process.memoryUsage.rss()]);
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
  for (const { mode, pid, exit } of figures.processes) {
    const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
    const early = exit.early ? ', EXITED BEFORE THE BENCH STOPPED IT' : '';
    say(
      `- service process ${mode} (pid ${pid}): peak RSS over its life (VmHWM) ${mb(exit.lifetimeHwm)} MB; after SIGTERM it exited with ${how} in ${ms(exit.stopMs)} ms${early}`,
    );
  }
  say(`- bench process RSS: ${rssAt.map(([when, rss]) => `${mb(rss)} MB ${when}`).join(', ')}`);
  say(`- bench process max RSS over the whole run (kernel): ${mb(process.resourceUsage().maxRSS * 1024)} MB`);
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
