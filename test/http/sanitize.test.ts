// What the sanitize pipeline does to an upload, seen from the outside: through
// the route, into the real S3 server, and read back from the bucket. Each test
// asserts the status, the body and the side effect (the row and the bucket).
import { crc32, deflateSync } from 'node:zlib';
import type { LightMyRequestResponse } from 'fastify';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { buildTestApp, useTestServices } from '../helpers/app.js';
import { avatarForm } from '../helpers/multipart.js';
import { adminTarget, postAvatar, type SeededOrg, seedOrg } from '../helpers/seed.js';

const services = useTestServices();

// Unique strings planted in each metadata container; none may reach the bucket when sanitizing.
const MARK = {
  exif: 'MARKER-EXIF-5c1e9a',
  gps: 'MARKER-GPS-8d02f4',
  xmp: 'MARKER-XMP-31b7c6',
  text: 'MARKER-PNG-TEXT-e4a950',
  trailer: 'MARKER-AFTER-IEND-70fd2b',
};

const has = (bytes: Buffer, text: string) => bytes.includes(Buffer.from(text, 'latin1'));

// ---- Fixtures -------------------------------------------------------------------

/**
 * A phone photo as cameras write it: the sensor's pixels stored landscape
 * (320 x 240) with EXIF orientation 6, so it displays portrait (240 x 320).
 * The stored left half is red: after rotating, the displayed top half is red.
 * Carries EXIF (with GPS), XMP and a Display P3 ICC profile.
 */
async function phoneJpeg(): Promise<Buffer> {
  const width = 320;
  const height = 240;
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++)
      pixels.set(x < width / 2 ? [255, 0, 0] : [0, 0, 255], (y * width + x) * 3);
  }
  const xmp = `<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>${MARK.xmp}</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>`;
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .withExif({
      IFD0: { Make: 'Phone', Model: 'Phone 15', ImageDescription: MARK.exif },
      // IFD3 is the GPS directory.
      IFD3: {
        GPSLatitudeRef: 'N',
        GPSLatitude: '48/1 51/1 2964/100',
        GPSLongitudeRef: 'E',
        GPSLongitude: '2/1 17/1 4000/100',
        GPSMapDatum: MARK.gps,
      },
    })
    .withMetadata({ orientation: 6 })
    .withXmp(xmp)
    .withIccProfile('p3')
    .jpeg({ quality: 90 })
    .toBuffer();
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const IEND = pngChunk('IEND', Buffer.alloc(0));

/** A 64 x 48 PNG with a tEXt chunk after IHDR and a payload appended after IEND. */
async function pngWithTextAndTrailer(): Promise<Buffer> {
  const clean = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#3366cc' } })
    .png()
    .toBuffer();
  const ihdrEnd = 8 + 12 + 13;
  const text = pngChunk('tEXt', Buffer.from(`Comment\0${MARK.text}`, 'latin1'));
  return Buffer.concat([
    clean.subarray(0, ihdrEnd),
    text,
    clean.subarray(ihdrEnd),
    Buffer.from(MARK.trailer, 'latin1'),
  ]);
}

/** A complete PNG of a few dozen bytes whose IHDR (with a valid CRC) declares width x height. */
function pngDeclaring(width: number, height: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit truecolour, deflate, no filter, no interlace
  // One filtered row of a few pixels: enough for a header parser, nowhere near the declared size.
  const idat = pngChunk('IDAT', deflateSync(Buffer.alloc(1 + 3 * 16)));
  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', header), idat, IEND]);
}

const flat = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: { r: 200, g: 120, b: 40 } } });

// ---- Upload and side effects -------------------------------------------------------

async function upload(
  seed: SeededOrg,
  bytes: Buffer,
  options: { env?: Record<string, string>; type?: 'jpeg' | 'png' } = {},
) {
  const { app } = await buildTestApp(services, { env: options.env });
  const type = options.type ?? 'jpeg';
  const form = avatarForm(bytes, `upload.${type}`, `image/${type}`);
  return postAvatar(app, adminTarget(seed), form);
}

const folder = (seed: SeededOrg) => `embedded-users/${seed.embedded.id}/`;
const keyOf = (url: string) =>
  url.slice(url.indexOf(`/${services.bucket.name}/`) + services.bucket.name.length + 2);

/** A 200 whose URL the row points at, and the only object in the user's folder; returns its bytes. */
async function expectStored(res: LightMyRequestResponse, seed: SeededOrg, contentType: string) {
  expect(res.statusCode, res.body).toBe(200);
  const body = res.json();
  expect(Object.keys(body)).toEqual(['data']);
  expect(Object.keys(body.data)).toEqual(['avatarUrl']);
  const url: string = body.data.avatarUrl;
  expect(url).toMatch(contentType === 'image/png' ? /\.png$/ : /\.jpg$/);
  const user = await services.db.user.findUniqueOrThrow({ where: { id: seed.embedded.id } });
  expect(user.avatarUrl).toBe(url);
  expect(await services.bucket.listKeys(folder(seed))).toEqual([keyOf(url)]);
  const object = await services.bucket.getObject(keyOf(url));
  expect(object.contentType).toBe(contentType);
  expect((await sharp(object.body).metadata()).mediaType).toBe(contentType);
  return object.body;
}

/** A 400 ValidationError, and neither the row nor the bucket changed. */
async function expectRejected(res: LightMyRequestResponse, seed: SeededOrg, detail: RegExp) {
  expect(res.statusCode, res.body).toBe(400);
  const body = res.json();
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['detail', 'title']);
  expect(body.error.title).toBe('ValidationError');
  expect(body.error.detail).toMatch(detail);
  const user = await services.db.user.findUniqueOrThrow({ where: { id: seed.embedded.id } });
  expect(user.avatarUrl).toBeNull();
  expect(await services.bucket.listKeys(folder(seed))).toEqual([]);
}

async function rgbAt(bytes: Buffer, x: number, y: number): Promise<number[]> {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const i = (y * info.width + x) * info.channels;
  return [...data.subarray(i, i + 3)];
}

// ---- Tests ----------------------------------------------------------------------

describe('sanitize (the default): the stored object is a clean re-encode', () => {
  it('a phone JPEG is stored upright with no EXIF, GPS, XMP or ICC profile', async () => {
    const input = await phoneJpeg();
    const inputMeta = await sharp(input).metadata();
    // The fixture really carries every payload.
    expect([inputMeta.width, inputMeta.height, inputMeta.orientation]).toEqual([320, 240, 6]);
    expect(inputMeta.exif).toBeDefined();
    expect(inputMeta.xmpAsString).toContain(MARK.xmp);
    expect(inputMeta.hasProfile).toBe(true);
    for (const marker of [MARK.exif, MARK.gps, MARK.xmp]) expect(has(input, marker), marker).toBe(true);

    const seed = await seedOrg(services.db);
    const stored = await expectStored(await upload(seed, input), seed, 'image/jpeg');

    const meta = await sharp(stored).metadata();
    expect(meta.format).toBe('jpeg');
    expect([meta.width, meta.height]).toEqual([240, 320]);
    expect(meta.orientation).toBeUndefined();
    expect(meta.exif).toBeUndefined();
    expect(meta.xmp).toBeUndefined();
    expect(meta.icc).toBeUndefined();
    expect(meta.hasProfile).toBe(false);
    for (const marker of [MARK.exif, MARK.gps, MARK.xmp]) expect(has(stored, marker), marker).toBe(false);
    for (const container of ['Exif\0', 'ICC_PROFILE', 'http://ns.adobe.com/xap/']) {
      expect(has(stored, container), container).toBe(false);
    }
    // Upright: the stored left half (red) became the displayed top half.
    const [topR = 0, , topB = 0] = await rgbAt(stored, 120, 20);
    const [bottomR = 0, , bottomB = 0] = await rgbAt(stored, 120, 300);
    expect(topR > 180 && topB < 80, `top pixel ${topR},${topB}`).toBe(true);
    expect(bottomB > 180 && bottomR < 80, `bottom pixel ${bottomR},${bottomB}`).toBe(true);
  });

  it('a PNG loses its tEXt chunk and the bytes appended after IEND', async () => {
    const input = await pngWithTextAndTrailer();
    expect(JSON.stringify((await sharp(input).metadata()).comments)).toContain(MARK.text);
    expect(has(input, MARK.trailer)).toBe(true);

    const seed = await seedOrg(services.db);
    const stored = await expectStored(await upload(seed, input, { type: 'png' }), seed, 'image/png');

    const meta = await sharp(stored).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 64, 48]);
    expect(meta.comments ?? []).toEqual([]);
    for (const text of [MARK.text, MARK.trailer, 'tEXt']) expect(has(stored, text), text).toBe(false);
    // The file ends with its IEND chunk: nothing after it.
    expect(stored.subarray(-IEND.length).equals(IEND)).toBe(true);
  });

  it.each([
    ['a 3000 x 2000 JPEG at the default limit', 3000, 2000, {}, [1024, 683]],
    [
      'a 2000 x 3000 JPEG with IMAGE_MAX_OUTPUT_SIDE=256',
      2000,
      3000,
      { IMAGE_MAX_OUTPUT_SIDE: '256' },
      [171, 256],
    ],
  ] as const)('%s is stored fitted inside the output limit', async (_name, width, height, env, [w, h]) => {
    const seed = await seedOrg(services.db);
    const input = await flat(width, height).jpeg().toBuffer();
    const stored = await expectStored(await upload(seed, input, { env }), seed, 'image/jpeg');
    const meta = await sharp(stored).metadata();
    // Aspect ratio kept; the short side may round either way.
    expect(Math.max(meta.width, meta.height)).toBe(Math.max(w, h));
    expect(Math.abs(Math.min(meta.width, meta.height) - Math.min(w, h))).toBeLessThanOrEqual(1);
    expect(meta.width > meta.height).toBe(w > h);
  });

  it('never enlarges a small image', async () => {
    const seed = await seedOrg(services.db);
    const input = await flat(40, 30).png().toBuffer();
    const stored = await expectStored(await upload(seed, input, { type: 'png' }), seed, 'image/png');
    const meta = await sharp(stored).metadata();
    expect([meta.width, meta.height]).toEqual([40, 30]);
  });
});

describe('passthrough: the stored object is the upload, byte for byte', () => {
  it.each([
    ['the phone JPEG (EXIF, GPS and XMP kept)', phoneJpeg, 'jpeg', [MARK.exif, MARK.gps, MARK.xmp]],
    ['the PNG with tEXt and a trailer', pngWithTextAndTrailer, 'png', [MARK.text, MARK.trailer]],
  ] as const)('%s', async (_name, make, type, markers) => {
    const seed = await seedOrg(services.db);
    const input = await make();
    const res = await upload(seed, input, { type, env: { AVATAR_PROCESSING: 'passthrough' } });
    const stored = await expectStored(res, seed, `image/${type}`);
    expect(stored.equals(input)).toBe(true);
    // The documented trade-off: metadata reaches the bucket.
    for (const marker of markers) expect(has(stored, marker), marker).toBe(true);
  });
});

describe('pixel limits are enforced from the header', () => {
  it.each(['sanitize', 'passthrough'])(
    'a PNG declaring 100,000 x 100,000 is a 400 naming the pixel limit, and nothing is stored (%s)',
    async (mode) => {
      const input = pngDeclaring(100_000, 100_000);
      expect(input.length).toBeLessThan(200);
      const declared = await sharp(input, { limitInputPixels: false }).metadata();
      expect([declared.width, declared.height]).toEqual([100_000, 100_000]);
      const seed = await seedOrg(services.db);
      const res = await upload(seed, input, { type: 'png', env: { AVATAR_PROCESSING: mode } });
      await expectRejected(res, seed, /40,000,000 pixels/);
    },
  );

  const limit = { IMAGE_MAX_INPUT_PIXELS: '10000' };

  it('IMAGE_MAX_INPUT_PIXELS=10000: a 101 x 100 image (10,100 pixels) is a 400 and nothing is stored', async () => {
    const seed = await seedOrg(services.db);
    const res = await upload(seed, await flat(101, 100).png().toBuffer(), { type: 'png', env: limit });
    await expectRejected(res, seed, /10,000 pixels/);
  });

  it.each([
    [100, 99],
    [100, 100],
  ])('IMAGE_MAX_INPUT_PIXELS=10000: a %i x %i image is stored', async (width, height) => {
    const seed = await seedOrg(services.db);
    const res = await upload(seed, await flat(width, height).png().toBuffer(), { type: 'png', env: limit });
    const stored = await expectStored(res, seed, 'image/png');
    const meta = await sharp(stored).metadata();
    expect([meta.width, meta.height]).toEqual([width, height]);
  });
});
