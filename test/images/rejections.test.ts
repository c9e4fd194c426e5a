import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { jpeg, jpegDeclaring, noise, png, pngDeclaring } from './fixtures.js';
import { bothModes, processorWith, rejection400 } from './helpers.js';

const NOT_JPEG_OR_PNG = 'The avatar must be a JPEG or PNG image.';

const otherFormats: Record<string, () => Promise<Buffer>> = {
  SVG: async () =>
    Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
    ),
  'SVG with an XML declaration': async () =>
    Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>'),
  GIF: () => noise(16, 16).gif().toBuffer(),
  WebP: () => noise(16, 16).webp().toBuffer(),
  TIFF: () => noise(16, 16).tiff().toBuffer(),
  AVIF: () => noise(16, 16).avif().toBuffer(),
  // The prebuilt libvips has no HEVC encoder; an ISO-BMFF 'heic' brand header is what a sniffer sees.
  HEIC: async () =>
    Buffer.concat([Buffer.from('\0\0\0\x18ftypheic\0\0\0\0mif1heic', 'latin1'), Buffer.alloc(64)]),
  BMP: async () => Buffer.concat([Buffer.from('BM', 'latin1'), Buffer.alloc(64)]),
  PDF: async () => Buffer.from('%PDF-1.4\n1 0 obj\n<<>>\nendobj\n'),
  'plain text': async () => Buffer.from('hello'),
};

describe.each(bothModes)('%s rejects', (_mode, processor) => {
  it.each(Object.keys(otherFormats))('%s bytes', async (name) => {
    const make = otherFormats[name];
    if (!make) throw new Error(name);
    const err = await rejection400(processor.process(await make()));
    expect(err.detail).toBe(NOT_JPEG_OR_PNG);
  });

  it('zero bytes', async () => {
    const err = await rejection400(processor.process(Buffer.alloc(0)));
    expect(err.detail).toBe(NOT_JPEG_OR_PNG);
  });

  it.each([
    ['JPEG cut in half', async () => (await jpeg(200, 150)).subarray(0, 1500)],
    ['JPEG missing its last byte', async () => (await jpeg()).subarray(0, -1)],
    ['JPEG of only its headers', async () => (await jpeg()).subarray(0, 620)],
    ['JPEG magic bytes alone', async () => Buffer.from([0xff, 0xd8, 0xff])],
    ['PNG cut in half', async () => (await png(200, 150)).subarray(0, 4000)],
    ['PNG missing its last byte', async () => (await png()).subarray(0, -1)],
    ['PNG signature alone', async () => (await png()).subarray(0, 8)],
    [
      'PNG with a corrupted IDAT',
      async () => {
        const bytes = Buffer.from(await png(64, 64));
        bytes.fill(0xaa, 200, 260);
        return bytes;
      },
    ],
    [
      'JPEG with garbage between segments',
      async () => {
        const bytes = await jpeg();
        const sos = bytes.indexOf(Buffer.from([0xff, 0xda]));
        return Buffer.concat([bytes.subarray(0, sos), Buffer.from([1, 2, 3, 4]), bytes.subarray(sos)]);
      },
    ],
  ])('a %s', async (_name, make) => {
    const err = await rejection400(processor.process(await make()));
    expect(err.detail).toMatch(/could not be decoded/);
  });

  it('a PNG whose header declares 100000 x 100000, without decoding it', async () => {
    const bytes = pngDeclaring(100_000, 100_000);
    expect(bytes.length).toBeLessThan(1024);
    const before = process.memoryUsage().rss;
    const err = await rejection400(processor.process(bytes));
    // Decoding would need 30 GB; a header read needs next to nothing.
    expect(process.memoryUsage().rss - before).toBeLessThan(64 * 1024 * 1024);
    expect(err.detail).toMatch(/40,000,000 pixels/);
  });

  it('a JPEG whose frame header declares 60000 x 60000', async () => {
    const bytes = jpegDeclaring(await jpeg(16, 16), 60_000, 60_000);
    expect((await sharp(bytes, { limitInputPixels: false }).metadata()).width).toBe(60_000);
    const err = await rejection400(processor.process(bytes));
    expect(err.detail).toMatch(/40,000,000 pixels/);
  });

  it('a side over maxInputSide even when the pixel count is within the limit', async () => {
    const err = await rejection400(processor.process(pngDeclaring(20_000, 10)));
    expect(err.detail).toBe(
      'The avatar is 20,000 x 10 pixels; images may have at most 40,000,000 pixels in total and 10,000 pixels on the longest side.',
    );
  });
});

describe('configured limits', () => {
  it('maxInputPixels and maxInputSide are the configured values, not constants', async () => {
    const tight = processorWith({ maxInputPixels: 100, maxInputSide: 15 });
    const bytes = await png(20, 4); // 80 pixels, but 20 px wide
    expect((await rejection400(tight.process(bytes))).detail).toMatch(
      /20 x 4 pixels.*100 pixels in total.*15 pixels/,
    );
    const wideEnough = processorWith({ maxInputPixels: 100, maxInputSide: 20 });
    expect((await wideEnough.process(bytes)).width).toBe(20);
    const tooMany = processorWith({ maxInputPixels: 79, maxInputSide: 20 });
    expect((await rejection400(tooMany.process(bytes))).detail).toMatch(/at most 79 pixels in total/);
  });
});

describe('sharp loaders', () => {
  it('only JPEG and PNG loaders are left enabled once the processor is loaded', async () => {
    // Defence in depth behind the magic-byte check: even if a non-JPEG/PNG
    // buffer reached sharp, libvips would refuse to parse it.
    const webp = await noise(8, 8).webp().toBuffer();
    const gif = await noise(8, 8).gif().toBuffer();
    await expect(sharp(webp).metadata()).rejects.toThrow();
    await expect(sharp(gif).metadata()).rejects.toThrow();
    await expect(sharp(await png(8, 8)).metadata()).resolves.toMatchObject({ format: 'png' });
  });
});
