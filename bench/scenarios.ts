// Sections 2 and 3: the service over HTTP in both processing modes, each mode in its own service
// process, the two baselines next to it (same inputs, same concurrency; in the bench process),
// and the memory probe. Measuring only; report.ts prints.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { loadConfig } from '../src/config/env.js';
import { createImageProcessor } from '../src/images/index.js';
import { createS3Client } from '../src/storage/s3-storage.js';
import { keepAliveAgent, uploader } from './http.js';
import { type LoadResult, type Outcome, type RssSampler, runLoad } from './load.js';
import { type ServiceExit, startServiceProcess } from './service-process.js';
import { appEnv, type Services } from './services.js';

export interface Input {
  label: 'avatar' | 'photo';
  bytes: Buffer;
  /** Requests per measured run. */
  count: number;
}

export interface ScenarioPlan {
  concurrency: number;
  maxMsPerRun: number;
  probe: { concurrency: number; requests: number };
}

export interface Figures {
  /** Keyed `<mode> <input>`, e.g. `sanitize photo`. */
  http: Record<string, LoadResult>;
  /** Keyed `S3 PUT <input>` and `processor <mode> <input>`. */
  baselines: Record<string, LoadResult>;
  probe: LoadResult;
  imageConcurrency: number;
  /** One service process per mode: its pid and how it ended. */
  processes: Array<{ mode: string; pid: number; exit: ServiceExit }>;
}

const MODES = ['passthrough', 'sanitize'] as const;

export async function runScenarios(
  services: Services,
  inputs: Input[],
  plan: ScenarioPlan,
  progress: (line: string) => void,
): Promise<Figures> {
  type Task = (i: number) => Promise<Outcome>;
  const measure = (task: Task, count: number, bytes: number, rss?: RssSampler) =>
    runLoad(task, {
      count,
      concurrency: plan.concurrency,
      maxMs: plan.maxMsPerRun,
      bytesPerCall: bytes,
      rss,
    });
  // One unmeasured round first: JIT, keep-alive connections, pools, sharp's threads.
  const warmThenMeasure = async (task: Task, input: Input, rss?: RssSampler) => {
    await measure(task, plan.concurrency, input.bytes.length, rss);
    return measure(task, input.count, input.bytes.length, rss);
  };
  const http: Record<string, LoadResult> = {};
  const baselines: Record<string, LoadResult> = {};

  const { storage } = services;
  const s3 = createS3Client(storage); // the service's own client settings
  try {
    for (const input of inputs) {
      progress(`baseline: S3 PUT ${input.label} x${input.count}`);
      const put: Task = (i) =>
        s3
          .send(
            new PutObjectCommand({
              Bucket: storage.bucket,
              Key: `bench-baseline/${i % services.seed.userIds.length}.jpg`,
              Body: input.bytes,
              ContentType: 'image/jpeg',
              ContentLength: input.bytes.length,
            }),
          )
          .then(() => 'ok');
      baselines[`S3 PUT ${input.label}`] = await warmThenMeasure(put, input);
    }
  } finally {
    s3.destroy();
  }

  let probe: LoadResult | undefined;
  let imageConcurrency = 0;
  const processes: Figures['processes'] = [];
  for (const mode of MODES) {
    const env = appEnv(services, mode);
    const config = loadConfig(env); // what the service process will read from the same env
    imageConcurrency = config.images.concurrency;
    progress(`starting the service process (${mode})`);
    const service = await startServiceProcess(env, {
      label: mode,
      shutdownTimeoutMs: config.server.shutdownTimeoutMs,
    });
    const target = { baseUrl: service.baseUrl, ...services.seed };
    try {
      for (const input of inputs) {
        progress(`HTTP ${mode} ${input.label} x${input.count}, then the processor alone`);
        const agent = keepAliveAgent(plan.concurrency);
        const upload = uploader(target, input.bytes, agent);
        http[`${mode} ${input.label}`] = await warmThenMeasure(upload, input, service.sampleRss);
        agent.destroy();

        const processor = createImageProcessor(config.images); // same options as the service's
        const alone: Task = () => processor.process(input.bytes).then(() => 'ok');
        baselines[`processor ${mode} ${input.label}`] = await warmThenMeasure(alone, input);
      }
      if (mode === 'sanitize') {
        const photo = inputs.find((input) => input.label === 'photo') as Input;
        const { concurrency, requests } = plan.probe;
        progress(`memory probe: ${requests} photo uploads at concurrency ${concurrency}`);
        const agent = keepAliveAgent(concurrency);
        probe = await runLoad(uploader(target, photo.bytes, agent), {
          count: requests,
          concurrency,
          maxMs: plan.maxMsPerRun,
          bytesPerCall: photo.bytes.length,
          rss: service.sampleRss,
        });
        agent.destroy();
      }
    } finally {
      processes.push({ mode, pid: service.pid, exit: await service.stop() });
    }
  }
  return { http, baselines, probe: probe as LoadResult, imageConcurrency, processes };
}
