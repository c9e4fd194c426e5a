import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { createImageProcessor, defaultImageOptions } from '../../src/images/index.js';
import { jpeg, noise, png } from './fixtures.js';
import { passthrough, processorWith } from './helpers.js';

describe('passthrough', () => {
  it.each([
    ['jpeg', () => jpeg(120, 80)],
    ['png', () => png(120, 80)],
  ] as const)('returns the %s bytes unchanged with its type and size', async (format, make) => {
    const input = await make();
    const out = await passthrough.process(input);
    expect(out.bytes.equals(input)).toBe(true);
    expect(out).toMatchObject({ format, contentType: `image/${format}`, width: 120, height: 80 });
  });

  it('does not resize', async () => {
    const out = await passthrough.process(await noise(1500, 1100).jpeg().toBuffer());
    expect([out.width, out.height]).toEqual([1500, 1100]);
  });
});

describe('defaults', () => {
  it('sanitize, 40 MP, 10,000 px sides, 1024 px output, quality 85, no mozjpeg', () => {
    expect(defaultImageOptions).toEqual({
      mode: 'sanitize',
      maxInputPixels: 40_000_000,
      maxInputSide: 10_000,
      maxOutputSide: 1024,
      jpegQuality: 85,
      mozjpeg: false,
      concurrency: 2,
      timeoutMs: 10_000,
    });
  });

  it.each([
    { concurrency: 0 },
    { concurrency: 1.5 },
    { maxInputPixels: -1 },
    { maxOutputSide: Number.NaN },
    { jpegQuality: 101 },
    { timeoutMs: 0 },
    { mode: 'resize' as 'sanitize' },
  ])('refuses a misconfiguration %o at creation', (override) => {
    expect(() => createImageProcessor({ ...defaultImageOptions, ...override })).toThrow(RangeError);
  });
});

describe('queueing', () => {
  it('an upload whose signal aborts while queued stops waiting; the running one finishes', async () => {
    const processor = processorWith({ concurrency: 1 });
    const big = await noise(2000, 1500).png().toBuffer();
    const small = await png(10, 10);
    const controller = new AbortController();

    const running = processor.process(big);
    const queued = processor.process(small, controller.signal);
    controller.abort();

    await expect(queued).rejects.toMatchObject({ name: 'AbortError' });
    await expect(running).resolves.toMatchObject({ format: 'png', width: 1024, height: 768 });
  });

  it('an already aborted signal rejects before any work', async () => {
    await expect(processorWith({}).process(await png(10, 10), AbortSignal.abort())).rejects.toMatchObject({
      name: 'AbortError',
    });
  });

  it('processes many uploads through a small pool', async () => {
    const processor = processorWith({ concurrency: 2 });
    const inputs = await Promise.all(Array.from({ length: 8 }, (_, i) => png(20 + i, 10)));
    const outs = await Promise.all(inputs.map((b) => processor.process(b)));
    expect(outs.map((o) => o.width)).toEqual([20, 21, 22, 23, 24, 25, 26, 27]);
  });

  it.each([1, 2])('never has more than concurrency=%i sharp jobs in flight', async (concurrency) => {
    const processor = processorWith({ concurrency });
    const inputs = await Promise.all(Array.from({ length: 6 }, () => noise(800, 600).png().toBuffer()));
    let peak = 0;
    let done = false;
    const sample = async () => {
      while (!done) {
        // Pipelines only: sharp lowers its process counter after it has called
        // back, so the next upload's header read (counted in `queue`) can be
        // queued while the previous job still counts as processing.
        peak = Math.max(peak, sharp.counters().process);
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    const sampling = sample();
    await Promise.all(inputs.map((b) => processor.process(b)));
    done = true;
    await sampling;
    expect(peak).toBeGreaterThanOrEqual(1);
    expect(peak).toBeLessThanOrEqual(concurrency);
  });
});
