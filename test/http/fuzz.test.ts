// A deterministic fuzz of the upload route: a fixed-seed corpus of damaged
// JPEGs and PNGs (truncated, bit-flipped, runs inserted or deleted, header
// fields rewritten) goes through the real route, database and S3 server in
// both processing modes. Whatever the damage, the answer is a 200 (and then the
// stored object is a complete image the row points at) or a 400 ValidationError:
// never a 5xx, never a half-stored avatar. A failure names the variant
// (index, base image, mutation), so it can be replayed from SEED.
import { createHash, randomUUID } from 'node:crypto';
import { crc32 } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createUser } from '../../src/cli/commands.js';
import { buildTestApp, useTestServices } from '../helpers/app.js';
import { avatarForm } from '../helpers/multipart.js';
import { adminTarget, postAvatar, type SeededOrg, seedOrg } from '../helpers/seed.js';

const SEED = 0x5eed_a7a7;
const MUTANTS = 296; // plus the 4 intact bases: 300 uploads per mode
const LANES = 4; // requests in flight at once, each lane uploading for its own user
const SIDE = 64;

type Format = 'jpeg' | 'png';
interface Variant {
  name: string;
  format: Format; // of the base image
  bytes: Buffer;
  intact: boolean;
}

const services = useTestServices();
let seed: SeededOrg;
let corpus: Variant[] = [];
const outcomes: Record<string, { 200: number; 400: number }> = {};

beforeAll(async () => {
  seed = await seedOrg(services.db);
  const rng = mulberry32(SEED);
  const bases = await baseImages(rng);
  corpus = bases.map((base) => ({ ...base, intact: true }));
  for (let i = 0; i < MUTANTS; i++) {
    const base = bases[i % bases.length] as Variant;
    const { bytes, what } = mutate(rng, base);
    corpus.push({ name: `#${i} ${base.name} ${what}`, format: base.format, bytes, intact: false });
  }
});

afterAll(() => {
  const digest = createHash('sha256');
  for (const variant of corpus) digest.update(variant.bytes);
  console.log(
    `fuzz: ${corpus.length} variants per mode (seed ${SEED.toString(16)}, corpus sha256 ${digest.digest('hex').slice(0, 12)}):`,
    JSON.stringify(outcomes),
  );
});

it.each(['sanitize', 'passthrough'] as const)(
  'every variant is a 200 with a decodable stored image or a 400 ValidationError (%s)',
  async (mode) => {
    const { app } = await buildTestApp(services, {
      env: { AVATAR_PROCESSING: mode, RATE_LIMIT_MAX: '100000' },
    });
    const users = await Promise.all(
      Array.from({ length: LANES }, () =>
        createUser(services.db, {
          email: `fuzz-${randomUUID()}@example.test`,
          org: seed.org.id,
          role: 'MEMBER',
          embedded: true,
        }),
      ),
    );
    const tally = { 200: 0, 400: 0 };
    outcomes[mode] = tally;

    // Lanes run concurrently; within a lane uploads are sequential, so after a
    // 200 nothing else can have replaced that user's avatar yet.
    let failed = false;
    const lanes = users.map(async (user, lane) => {
      let lastUrl: string | null = null;
      for (let i = lane; i < corpus.length && !failed; i += LANES) {
        try {
          const url = await uploadAndCheck(app, mode, user.id, corpus[i] as Variant);
          tally[url ? 200 : 400]++;
          lastUrl = url ?? lastUrl;
        } catch (error) {
          failed = true;
          throw error;
        }
      }
      // The folder holds exactly the object the row points at (none if nothing was accepted).
      const row = await services.db.user.findUniqueOrThrow({ where: { id: user.id } });
      expect(row.avatarUrl, `lane ${lane}: row after the run`).toBe(lastUrl);
      expect(await services.bucket.listKeys(folder(user.id)), `lane ${lane}: bucket folder`).toEqual(
        lastUrl ? [keyOf(lastUrl)] : [],
      );
    });
    const settled = await Promise.allSettled(lanes);
    for (const result of settled) if (result.status === 'rejected') throw result.reason;

    expect(tally[200] + tally[400]).toBe(corpus.length);
    // The corpus exercises both outcomes (the intact bases alone give 4 x 200).
    expect(tally[200]).toBeGreaterThanOrEqual(4);
    expect(tally[400]).toBeGreaterThan(0);
  },
  180_000,
);

/** Uploads one variant and checks the answer; resolves to the avatar URL on a 200. */
async function uploadAndCheck(
  app: FastifyInstance,
  mode: string,
  userId: string,
  variant: Variant,
): Promise<string | undefined> {
  const form = avatarForm(variant.bytes, `fuzz.${variant.format}`, `image/${variant.format}`);
  const res = await postAvatar(app, adminTarget(seed, userId), form);
  const label = `${mode} ${variant.name} -> ${res.statusCode} ${res.body.slice(0, 300)}`;
  expect([200, 400], label).toContain(res.statusCode);
  if (variant.intact) expect(res.statusCode, label).toBe(200);
  expect(res.headers['content-type'], label).toMatch(/^application\/json/);
  const body = res.json();

  if (res.statusCode === 400) {
    expect(Object.keys(body), label).toEqual(['error']);
    expect(Object.keys(body.error).sort(), label).toEqual(['detail', 'title']);
    expect(body.error.title, label).toBe('ValidationError');
    expect(body.error.detail, label).toMatch(/^\S.*\.$/);
    expect(body.error.detail, label).not.toMatch(/vips|sharp|libpng|libjpeg|jpeglib|\bat \S+:\d+/i);
    return undefined;
  }

  expect(Object.keys(body), label).toEqual(['data']);
  expect(Object.keys(body.data), label).toEqual(['avatarUrl']);
  const url: string = body.data.avatarUrl;
  const key = keyOf(url);
  // The route sniffs the bytes, so the upload's own signature decides the format.
  const format = signatureOf(variant.bytes);
  expect(format, label).toBeDefined();
  expect(key, label).toMatch(
    new RegExp(`^${folder(userId)}[0-9a-f-]{36}\\.${format === 'jpeg' ? 'jpg' : 'png'}$`),
  );

  const row = await services.db.user.findUniqueOrThrow({ where: { id: userId } });
  expect(row.avatarUrl, label).toBe(url);
  const stored = await services.bucket.getObject(key);
  expect(stored.contentType, label).toBe(`image/${format}`);
  if (mode === 'passthrough') expect(stored.body.equals(variant.bytes), label).toBe(true);
  expect((await sharp(stored.body).metadata()).format, label).toBe(format);
  const decoded = await sharp(stored.body, { failOn: 'error' })
    .raw()
    .toBuffer({ resolveWithObject: true })
    .catch((error: Error) => {
      throw new Error(`${label}: the stored object does not decode: ${error.message}`);
    });
  expect(decoded.info.width * decoded.info.height, label).toBeGreaterThan(0);
  return url;
}

const folder = (userId: string) => `embedded-users/${userId}/`;
const keyOf = (url: string) =>
  url.slice(url.indexOf(`/${services.bucket.name}/`) + services.bucket.name.length + 2);

function signatureOf(bytes: Buffer): Format | undefined {
  if (bytes.subarray(0, 3).equals(Buffer.from([0xff, 0xd8, 0xff]))) return 'jpeg';
  if (bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])))
    return 'png';
  return undefined;
}

// ---- The corpus ---------------------------------------------------------------

type Rng = () => number;

/** mulberry32: a tiny seeded PRNG, so every run fuzzes with the same bytes. */
function mulberry32(seedValue: number): Rng {
  let state = seedValue >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const int = (rng: Rng, min: number, max: number) => min + Math.floor(rng() * (max - min + 1));
const pick = <T>(rng: Rng, items: readonly T[]): T => items[int(rng, 0, items.length - 1)] as T;

/** A gradient with seeded noise: photo-like entropy data, no library randomness. */
function photo(rng: Rng, channels: 3 | 4) {
  const pixels = Buffer.alloc(SIDE * SIDE * channels);
  for (let y = 0; y < SIDE; y++) {
    for (let x = 0; x < SIDE; x++) {
      const i = (y * SIDE + x) * channels;
      pixels[i] = (x * 4 + int(rng, 0, 48)) & 0xff;
      pixels[i + 1] = (y * 4 + int(rng, 0, 48)) & 0xff;
      pixels[i + 2] = ((x + y) * 2 + int(rng, 0, 48)) & 0xff;
      if (channels === 4) pixels[i + 3] = 96 + ((x * y) & 0x9f);
    }
  }
  return sharp(pixels, { raw: { width: SIDE, height: SIDE, channels } });
}

async function baseImages(rng: Rng): Promise<Variant[]> {
  const make = async (name: string, format: Format, bytes: Promise<Buffer>) => ({
    name,
    format,
    bytes: await bytes,
    intact: true,
  });
  const bases = [
    await make(
      'jpeg-exif',
      'jpeg',
      photo(rng, 3)
        .withExif({ IFD0: { Make: 'FuzzCam', Model: 'One', ImageDescription: 'fuzz base' } })
        .withMetadata({ orientation: 6 })
        .jpeg({ quality: 85 })
        .toBuffer(),
    ),
    await make('png-rgba', 'png', photo(rng, 4).png().toBuffer()),
    await make('jpeg-progressive', 'jpeg', photo(rng, 3).jpeg({ quality: 85, progressive: true }).toBuffer()),
    await make('png-palette', 'png', photo(rng, 3).png({ palette: true, colours: 32 }).toBuffer()),
  ];
  // The bases really are what their names say.
  const [exif, rgba, progressive, palette] = await Promise.all(bases.map((b) => sharp(b.bytes).metadata()));
  expect([exif?.format, exif?.orientation, exif?.exif !== undefined]).toEqual(['jpeg', 6, true]);
  expect([rgba?.format, rgba?.hasAlpha, rgba?.isPalette]).toEqual(['png', true, false]);
  expect([progressive?.format, progressive?.isProgressive]).toEqual(['jpeg', true]);
  expect([palette?.format, palette?.isPalette]).toEqual(['png', true]);
  return bases;
}

interface Mutated {
  bytes: Buffer;
  what: string;
}

function mutate(rng: Rng, base: Variant): Mutated {
  const kind = int(rng, 0, 6);
  if (kind === 6) {
    // Stacked damage: two or three of the local mutations in a row.
    let current: Mutated = { bytes: base.bytes, what: 'stacked' };
    for (let n = int(rng, 2, 3); n > 0; n--) {
      const next = pick(rng, [flip, insertRun, deleteRun, corruptHeader])(rng, current.bytes, base.format);
      current = { bytes: next.bytes, what: `${current.what} ${next.what}` };
    }
    return current;
  }
  const single = [truncate, flip, flipInHeaders, insertRun, deleteRun, corruptHeader][kind];
  if (!single) throw new Error(`no mutation ${kind}`);
  return single(rng, base.bytes, base.format);
}

type Mutation = (rng: Rng, input: Buffer, format: Format) => Mutated;

const truncate: Mutation = (rng, input) => {
  const at = int(rng, 1, input.length - 1);
  return { bytes: input.subarray(0, at), what: `truncate@${at}` };
};

function flipWithin(rng: Rng, input: Buffer, end: number, label: string): Mutated {
  const out = Buffer.from(input);
  const positions: number[] = [];
  for (let n = int(rng, 1, 8); n > 0; n--) {
    const at = int(rng, 0, end - 1);
    out[at] = (out[at] ?? 0) ^ int(rng, 1, 255);
    positions.push(at);
  }
  return { bytes: out, what: `${label}@${positions.join(',')}` };
}

const flip: Mutation = (rng, input) => flipWithin(rng, input, input.length, 'flip');
// Segment and chunk headers sit in the first few hundred bytes.
const flipInHeaders: Mutation = (rng, input) =>
  flipWithin(rng, input, Math.min(input.length, 320), 'flip-header');

const insertRun: Mutation = (rng, input) => {
  const at = int(rng, 0, input.length);
  const length = int(rng, 1, 64);
  const fill = pick(rng, ['random', 0x00, 0xff] as const);
  const run = Buffer.alloc(length, fill === 'random' ? 0 : fill);
  if (fill === 'random') for (let i = 0; i < length; i++) run[i] = int(rng, 0, 255);
  return {
    bytes: Buffer.concat([input.subarray(0, at), run, input.subarray(at)]),
    what: `insert@${at}x${length}(${fill})`,
  };
};

const deleteRun: Mutation = (rng, input) => {
  const at = int(rng, 0, input.length - 1);
  const length = int(rng, 1, Math.min(64, input.length - at));
  return {
    bytes: Buffer.concat([input.subarray(0, at), input.subarray(at + length)]),
    what: `delete@${at}x${length}`,
  };
};

const corruptHeader: Mutation = (rng, input, format) =>
  format === 'png' ? corruptPngHeader(rng, input) : corruptJpegHeader(rng, input);

const PNG_DIMENSIONS = [0, 1, SIDE - 1, SIDE + 1, 20_000, 100_000, 0x7fff_ffff, 0xffff_ffff];

function corruptPngHeader(rng: Rng, input: Buffer): Mutated {
  const out = Buffer.from(input);
  const chunks = pngChunkOffsets(out);
  const ihdr = chunks[0];
  if (ihdr === undefined || out.toString('latin1', ihdr + 4, ihdr + 8) !== 'IHDR') {
    // An earlier mutation already broke the layout: fall back to a flip.
    return flipInHeaders(rng, input, 'png');
  }
  const field = pick(rng, ['width', 'height', 'both', 'depth/type/interlace', 'chunk length'] as const);
  const dimension = () => (rng() < 0.25 ? int(rng, 1, 5_000) : pick(rng, PNG_DIMENSIONS));
  let what: string;
  if (field === 'chunk length') {
    const chunk = pick(rng, chunks);
    const length = rng() < 0.5 ? int(rng, 0, out.length) : int(rng, 0, 0xffff_ffff);
    out.writeUInt32BE(length, chunk);
    return { bytes: out, what: `png-chunk-length@${chunk}=${length}` };
  }
  if (field === 'depth/type/interlace') {
    const at = ihdr + 8 + int(rng, 8, 12);
    out[at] = int(rng, 0, 255);
    what = `png-ihdr[${at - ihdr - 8}]=${out[at]}`;
  } else {
    const width = field === 'height' ? out.readUInt32BE(ihdr + 8) : dimension();
    const height = field === 'width' ? out.readUInt32BE(ihdr + 12) : dimension();
    out.writeUInt32BE(width, ihdr + 8);
    out.writeUInt32BE(height, ihdr + 12);
    what = `png-ihdr ${width}x${height}`;
  }
  // Usually keep the CRC valid, so libpng gets past it and reads the lie.
  if (rng() < 0.75) out.writeUInt32BE(crc32(out.subarray(ihdr + 4, ihdr + 8 + 13)), ihdr + 8 + 13);
  else what += ' (stale crc)';
  return { bytes: out, what };
}

const JPEG_DIMENSIONS = [0, 1, SIDE - 1, SIDE + 1, 4_096, 9_999, 10_001, 65_535];

function corruptJpegHeader(rng: Rng, input: Buffer): Mutated {
  const out = Buffer.from(input);
  const segments = jpegSegmentOffsets(out);
  const sof = segments.find((at) => out[at + 1] === 0xc0 || out[at + 1] === 0xc2);
  const field = pick(rng, ['sof size', 'sof size', 'sof byte', 'segment length'] as const);
  if (sof === undefined || field === 'segment length') {
    const segment = segments.length > 0 ? pick(rng, segments) : undefined;
    if (segment === undefined) return flipInHeaders(rng, input, 'jpeg');
    const length = int(rng, 0, 0xffff);
    out.writeUInt16BE(length, segment + 2);
    return { bytes: out, what: `jpeg-segment-length@${segment}=${length}` };
  }
  if (field === 'sof byte') {
    // Precision, component count, sampling factors, quantisation table ids.
    const at = sof + 4 + pick(rng, [0, 5, 6, 7, 8, 9, 10]);
    out[at] = int(rng, 0, 255);
    return { bytes: out, what: `jpeg-sof[${at - sof}]=${out[at]}` };
  }
  const dimension = () => (rng() < 0.25 ? int(rng, 1, 3_000) : pick(rng, JPEG_DIMENSIONS));
  const height = dimension();
  const width = dimension();
  out.writeUInt16BE(height, sof + 5);
  out.writeUInt16BE(width, sof + 7);
  return { bytes: out, what: `jpeg-sof ${width}x${height}` };
}

function pngChunkOffsets(bytes: Buffer): number[] {
  const offsets: number[] = [];
  for (let at = 8; at + 12 <= bytes.length; at += 12 + bytes.readUInt32BE(at)) offsets.push(at);
  return offsets;
}

/** Offsets of the marker segments before the first scan. */
function jpegSegmentOffsets(bytes: Buffer): number[] {
  const offsets: number[] = [];
  let at = 2;
  while (at + 4 <= bytes.length && bytes[at] === 0xff) {
    offsets.push(at);
    if (bytes[at + 1] === 0xda) break;
    at += 2 + bytes.readUInt16BE(at + 2);
  }
  return offsets;
}
