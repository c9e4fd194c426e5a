import type { LightMyRequestResponse } from 'fastify';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, useTestServices } from '../helpers/app.js';
import { jpeg, jpegOfSize, png } from '../helpers/images.js';
import { avatarForm, multipart } from '../helpers/multipart.js';
import { adminTarget, postAvatar, type SeededOrg, seedOrg } from '../helpers/seed.js';

const services = useTestServices();
let seed: SeededOrg;
beforeAll(async () => {
  seed = await seedOrg(services.db);
});

async function post(
  payload: Buffer | string,
  headers: Record<string, string>,
  env: Record<string, string> = {},
) {
  const { app } = await buildTestApp(services, { env });
  return postAvatar(app, adminTarget(seed), { payload, headers });
}

/** The side effect that must not happen on any 400/413: no row change, no object. */
async function expectNothingStored() {
  const user = await services.db.user.findUniqueOrThrow({ where: { id: seed.embedded.id } });
  expect(user.avatarUrl).toBeNull();
  expect(await services.bucket.listKeys(`embedded-users/${seed.embedded.id}/`)).toEqual([]);
}

function expectError(res: LightMyRequestResponse, status: number, title: string, detail?: RegExp) {
  expect(res.statusCode).toBe(status);
  const body = res.json();
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['detail', 'title']);
  expect(body.error.title).toBe(title);
  expect(typeof body.error.detail).toBe('string');
  if (detail) expect(body.error.detail).toMatch(detail);
}

describe('400: the body is not one JPEG or PNG in the "avatar" field', () => {
  const cases: Array<
    [string, () => Promise<{ payload: Buffer | string; headers: Record<string, string> }>, RegExp]
  > = [
    [
      'a JSON body',
      async () => ({ payload: '{"avatar":"x"}', headers: { 'content-type': 'application/json' } }),
      /multipart/,
    ],
    [
      'a raw image body',
      async () => ({ payload: await jpeg(), headers: { 'content-type': 'image/jpeg' } }),
      /multipart/,
    ],
    ['no body at all', async () => ({ payload: '', headers: {} }), /multipart/],
    [
      'multipart without a boundary',
      async () => ({ payload: 'abc', headers: { 'content-type': 'multipart/form-data' } }),
      /malformed|multipart/,
    ],
    [
      'a truncated multipart body',
      async () => {
        const form = avatarForm(await jpeg());
        return { payload: form.payload.subarray(0, form.payload.length - 60), headers: form.headers };
      },
      /malformed|incomplete/,
    ],
    ['an empty form', async () => multipart([]), /No file/],
    ['only a text field', async () => multipart([{ name: 'avatar', data: 'not a file' }]), /No file/],
    [
      'the file in the wrong field',
      async () =>
        multipart([{ name: 'image', filename: 'a.jpg', contentType: 'image/jpeg', data: await jpeg() }]),
      /"avatar" field/,
    ],
    [
      'two files',
      async () =>
        multipart([
          { name: 'avatar', filename: 'a.jpg', contentType: 'image/jpeg', data: await jpeg() },
          { name: 'avatar', filename: 'b.jpg', contentType: 'image/jpeg', data: await jpeg() },
        ]),
      /exactly one file/,
    ],
    ['a zero-byte file', async () => avatarForm(Buffer.alloc(0)), /empty/],
    [
      'a GIF named .jpg',
      async () =>
        avatarForm(
          await sharp({ create: { width: 4, height: 4, channels: 3, background: '#f00' } })
            .gif()
            .toBuffer(),
        ),
      /JPEG or PNG/,
    ],
    [
      'a WebP sent as image/png',
      async () =>
        avatarForm(
          await sharp({ create: { width: 4, height: 4, channels: 3, background: '#f00' } })
            .webp()
            .toBuffer(),
          'a.png',
          'image/png',
        ),
      /JPEG or PNG/,
    ],
    [
      'an SVG sent as image/jpeg',
      async () =>
        avatarForm(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')),
      /JPEG or PNG/,
    ],
    ['text that is shorter than any image header', async () => avatarForm(Buffer.from('hi')), /JPEG or PNG/],
    [
      'a truncated JPEG',
      async () => {
        const file = await jpeg(200, 200);
        return avatarForm(file.subarray(0, Math.floor(file.length / 2)));
      },
      /decod|corrupt|incomplete|truncat/i,
    ],
    [
      'a truncated PNG',
      async () => {
        const file = await png(200, 200);
        return avatarForm(file.subarray(0, Math.floor(file.length / 2)), 'a.png', 'image/png');
      },
      /decod|corrupt|incomplete|truncat/i,
    ],
  ];

  for (const [name, make, detail] of cases) {
    it(`rejects ${name}`, async () => {
      const { payload, headers } = await make();
      const res = await post(payload, headers);
      expectError(res, 400, 'ValidationError', detail);
      await expectNothingStored();
    });
  }

  it('decides the type by content: a real JPEG named .gif with type text/plain is accepted', async () => {
    const { app } = await buildTestApp(services);
    const other = await seedOrg(services.db);
    const form = avatarForm(await jpeg(), 'photo.gif', 'text/plain');
    const res = await postAvatar(app, adminTarget(other), form);
    expect(res.statusCode).toBe(200);
  });
});

describe('413: the file is larger than 2,097,152 bytes', () => {
  it('rejects 2,097,153 bytes with PayloadTooLarge and stores nothing', async () => {
    const form = avatarForm(await jpegOfSize(2_097_153));
    const res = await post(form.payload, form.headers, { AVATAR_PROCESSING: 'passthrough' });
    expectError(res, 413, 'PayloadTooLarge', /2097152 bytes/);
    await expectNothingStored();
  });

  it('rejects a much larger file the same way', async () => {
    const form = avatarForm(await jpegOfSize(5_000_000));
    const res = await post(form.payload, form.headers);
    expectError(res, 413, 'PayloadTooLarge');
    await expectNothingStored();
  });

  it('answers 400, not 413, for an oversized file that is not an image (type is checked first)', async () => {
    const form = avatarForm(Buffer.alloc(3_000_000, 0x47));
    const res = await post(form.payload, form.headers);
    expectError(res, 400, 'ValidationError', /JPEG or PNG/);
    await expectNothingStored();
  });
});
