// Image pipeline benchmark: passthrough vs sanitize (libjpeg-turbo) vs sanitize
// (mozjpeg) on a phone photo near the 2 MB cap and on a ~100 KB avatar.
// Run: npx tsx bench/images.ts [scale]   (or call runImageBench() from another bench);
// scale multiplies the iteration counts, e.g. 0.25 for a quick look.
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import {
  createImageProcessor,
  defaultImageOptions,
  type ImageOptions,
  type ProcessedImage,
} from '../src/images/index.js';

export interface ImageBenchRow {
  input: string;
  variant: string;
  iterations: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  outputBytes: number;
  outputSize: string;
}

export interface ImageBenchResult {
  inputs: Array<{ name: string; bytes: number; size: string }>;
  rows: ImageBenchRow[];
}

export interface BenchInput {
  name: string;
  bytes: Buffer;
  iterations: number;
}

// Gaussian noise compresses about as badly as a detailed photo, which is what
// drives entropy-decoding cost. The photo is stored landscape with EXIF
// orientation 6, as phones write portrait shots, so sanitize pays for the rotation.
export async function makeInputs(scale: number): Promise<BenchInput[]> {
  const noisy = (width: number, height: number) =>
    sharp({
      create: {
        width,
        height,
        channels: 3,
        background: '#000',
        noise: { type: 'gaussian', mean: 128, sigma: 8 },
      },
    });
  const photo = await noisy(4000, 3000).withMetadata({ orientation: 6 }).jpeg({ quality: 85 }).toBuffer();
  const avatar = await noisy(800, 800).jpeg({ quality: 85 }).toBuffer();
  return [
    { name: 'phone photo 3000x4000 JPEG', bytes: photo, iterations: Math.max(3, Math.round(20 * scale)) },
    { name: 'avatar 800x800 JPEG', bytes: avatar, iterations: Math.max(3, Math.round(60 * scale)) },
  ];
}

const variants: Array<[string, Partial<ImageOptions>]> = [
  ['passthrough', { mode: 'passthrough' }],
  ['sanitize', { mode: 'sanitize', mozjpeg: false }],
  ['sanitize+mozjpeg', { mode: 'sanitize', mozjpeg: true }],
];

function percentile(sorted: number[], p: number): number {
  const index = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? Number.NaN;
}

const round = (ms: number) => Math.round(ms * 10) / 10;

/** `scale` multiplies the iteration counts (1 = 20 photos and 60 avatars per variant). */
export async function runImageBench({ scale = 1 }: { scale?: number } = {}): Promise<ImageBenchResult> {
  const inputs = await makeInputs(scale);
  const rows: ImageBenchRow[] = [];
  for (const input of inputs) {
    for (const [variant, overrides] of variants) {
      // One image at a time: this measures per-image latency, not throughput.
      const processor = createImageProcessor({ ...defaultImageOptions, ...overrides, concurrency: 1 });
      for (let i = 0; i < 3; i++) await processor.process(input.bytes); // warm-up
      const times: number[] = [];
      let last: ProcessedImage | undefined;
      for (let i = 0; i < input.iterations; i++) {
        const start = performance.now();
        last = await processor.process(input.bytes);
        times.push(performance.now() - start);
      }
      times.sort((a, b) => a - b);
      rows.push({
        input: input.name,
        variant,
        iterations: times.length,
        meanMs: round(times.reduce((sum, t) => sum + t, 0) / times.length),
        p50Ms: round(percentile(times, 50)),
        p95Ms: round(percentile(times, 95)),
        outputBytes: last?.bytes.length ?? 0,
        outputSize: last ? `${last.width}x${last.height}` : '',
      });
    }
  }
  const describeInput = async ({ name, bytes }: BenchInput) => {
    const meta = await sharp(bytes).metadata();
    return { name, bytes: bytes.length, size: `${meta.autoOrient.width}x${meta.autoOrient.height}` };
  };
  return {
    inputs: await Promise.all(inputs.map(describeInput)),
    rows,
  };
}

// Standalone run: the same section the full bench prints (bench/report.ts).
async function print(result: ImageBenchResult): Promise<void> {
  const { imageSection, machineLines } = await import('./report.js');
  console.log([...machineLines().map((line) => `- ${line}`), '', imageSection(result)].join('\n'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const scale = Number(process.argv[2] ?? '1');
  await print(await runImageBench({ scale: Number.isFinite(scale) && scale > 0 ? scale : 1 }));
}
