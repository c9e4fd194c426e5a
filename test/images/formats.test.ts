import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { apng, BLUE, near, noise, pixelAt, RED, solid } from './fixtures.js';
import { bothModes, passthrough, processorWith, sanitizer } from './helpers.js';

const sources = {
  '16-bit PNG': async () => noise(40, 30).toColourspace('rgb16').png().toBuffer(),
  'grayscale PNG': async () => noise(40, 30).toColourspace('b-w').png().toBuffer(),
  'palette PNG with transparency': async () =>
    sharp({ create: { width: 40, height: 30, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 0.5 } } })
      .png({ palette: true })
      .toBuffer(),
  'progressive JPEG': async () => noise(40, 30).jpeg({ progressive: true }).toBuffer(),
  'CMYK JPEG': async () => solid(40, 30, RED).toColourspace('cmyk').jpeg().toBuffer(),
};

describe('accepted variants', () => {
  it('the fixtures are what their names say', async () => {
    const meta = async (name: keyof typeof sources) => sharp(await sources[name]()).metadata();
    expect((await meta('16-bit PNG')).depth).toBe('ushort');
    expect((await meta('grayscale PNG')).channels).toBe(1);
    const palette = await meta('palette PNG with transparency');
    expect([palette.isPalette, palette.hasAlpha]).toEqual([true, true]);
    expect((await meta('progressive JPEG')).isProgressive).toBe(true);
    expect((await meta('CMYK JPEG')).space).toBe('cmyk');
  });

  for (const [mode, processor] of bothModes) {
    it.each(Object.keys(sources) as Array<keyof typeof sources>)(
      `${mode}: %s is accepted and decodes`,
      async (name) => {
        const input = await sources[name]();
        const out = await processor.process(input);
        expect([out.width, out.height]).toEqual([40, 30]);
        const meta = await sharp(out.bytes).metadata();
        expect(meta.format).toBe(out.format);
        expect(out.contentType).toBe(`image/${out.format}`);
        await sharp(out.bytes, { failOn: 'warning' }).raw().toBuffer();
      },
    );
  }

  it('sanitize turns CMYK into 3-channel sRGB with the right colour', async () => {
    const out = await sanitizer.process(await sources['CMYK JPEG']());
    const meta = await sharp(out.bytes).metadata();
    expect([meta.space, meta.channels]).toEqual(['srgb', 3]);
    const [r, g, b] = await pixelAt(out.bytes, 20, 15);
    expect(r).toBeGreaterThan(200);
    expect(g).toBeLessThan(80);
    expect(b).toBeLessThan(80);
  });

  it('sanitize keeps PNG transparency', async () => {
    const out = await sanitizer.process(await sources['palette PNG with transparency']());
    const { data, info } = await sharp(out.bytes).raw().toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(4);
    expect(data[3]).toBeGreaterThan(100);
    expect(data[3]).toBeLessThan(155);
  });

  it('sanitize writes 8-bit output for 16-bit input', async () => {
    const out = await sanitizer.process(await sources['16-bit PNG']());
    expect((await sharp(out.bytes).metadata()).depth).toBe('uchar');
  });

  it('sanitize keeps the format: JPEG in, JPEG out; PNG in, PNG out', async () => {
    const fromJpeg = await sanitizer.process(await noise(20, 20).jpeg().toBuffer());
    const fromPng = await sanitizer.process(await noise(20, 20).png().toBuffer());
    expect([fromJpeg.format, fromJpeg.contentType, (await sharp(fromJpeg.bytes).metadata()).format]).toEqual([
      'jpeg',
      'image/jpeg',
      'jpeg',
    ]);
    expect([fromPng.format, fromPng.contentType, (await sharp(fromPng.bytes).metadata()).format]).toEqual([
      'png',
      'image/png',
      'png',
    ]);
  });

  it('sanitize fits large images inside maxOutputSide and never enlarges small ones', async () => {
    const large = await sanitizer.process(await noise(2048, 1536).jpeg().toBuffer());
    expect([large.width, large.height]).toEqual([1024, 768]);
    const tall = await sanitizer.process(await noise(600, 3000).png().toBuffer());
    expect([tall.width, tall.height]).toEqual([205, 1024]);
    const small = await sanitizer.process(await noise(100, 50).png().toBuffer());
    expect([small.width, small.height]).toEqual([100, 50]);
  });

  it('mozjpeg is an option and gives a valid JPEG', async () => {
    const input = await noise(300, 200).jpeg({ quality: 95 }).toBuffer();
    const out = await processorWith({ mozjpeg: true }).process(input);
    expect((await sharp(out.bytes).metadata()).format).toBe('jpeg');
  });
});

describe('animated PNG', () => {
  it('the fixture is an APNG whose default image is red and second frame blue', async () => {
    const bytes = await apng();
    expect(bytes.includes(Buffer.from('acTL'))).toBe(true);
    expect(bytes.includes(Buffer.from('fdAT'))).toBe(true);
  });

  it('sanitize keeps only the first frame, as a still PNG', async () => {
    const out = await sanitizer.process(await apng());
    expect([out.format, out.width, out.height]).toEqual(['png', 16, 16]);
    for (const chunk of ['acTL', 'fcTL', 'fdAT']) expect(out.bytes.includes(Buffer.from(chunk))).toBe(false);
    expect(near(await pixelAt(out.bytes, 8, 8), RED, 0)).toBe(true);
    expect(near(await pixelAt(out.bytes, 8, 8), BLUE)).toBe(false);
  });

  it('passthrough accepts it unchanged', async () => {
    const input = await apng();
    const out = await passthrough.process(input);
    expect(out.bytes.equals(input)).toBe(true);
    expect([out.width, out.height]).toEqual([16, 16]);
  });
});
