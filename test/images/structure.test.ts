import { describe, expect, it } from 'vitest';
import { jpegHasEndMarker, pngHasCompleteEnd } from '../../src/images/structure.js';
import { noise, png, withJpegComment } from './fixtures.js';

// Noise makes every fixture different, so each property is checked on many.
const manyJpegs = (progressive = false) =>
  Promise.all(Array.from({ length: 40 }, () => noise(64, 48).jpeg({ progressive }).toBuffer()));

describe('pngHasCompleteEnd', () => {
  it('accepts a whole PNG, also with bytes after IEND', async () => {
    const bytes = await png();
    expect(pngHasCompleteEnd(bytes)).toBe(true);
    expect(pngHasCompleteEnd(Buffer.concat([bytes, Buffer.from('trailing')]))).toBe(true);
  });

  it('refuses a PNG missing any of its last bytes', async () => {
    const bytes = await png();
    for (let cut = 1; cut <= 16; cut++) {
      expect(pngHasCompleteEnd(bytes.subarray(0, bytes.length - cut)), `cut ${cut}`).toBe(false);
    }
  });

  it('refuses a chunk length that runs past the end', async () => {
    const bytes = Buffer.from(await png());
    bytes.writeUInt32BE(0xffffffff, 8); // IHDR length
    expect(pngHasCompleteEnd(bytes)).toBe(false);
  });
});

describe('jpegHasEndMarker', () => {
  it.each([false, true])(
    'accepts whole JPEGs (progressive: %s), also with bytes after EOI',
    async (progressive) => {
      for (const bytes of await manyJpegs(progressive)) {
        expect(jpegHasEndMarker(bytes)).toBe(true);
        expect(jpegHasEndMarker(Buffer.concat([bytes, Buffer.from('ftypmp42 appended video')]))).toBe(true);
      }
    },
  );

  it.each([false, true])(
    'refuses JPEGs missing any of their last bytes (progressive: %s)',
    async (progressive) => {
      for (const bytes of await manyJpegs(progressive)) {
        for (const cut of [1, 2, 3, 10, 100]) expect(jpegHasEndMarker(bytes.subarray(0, -cut))).toBe(false);
      }
    },
  );

  it('is not fooled by an EOI inside a segment, such as an EXIF thumbnail', async () => {
    const bytes = withJpegComment(await noise(64, 48).jpeg().toBuffer(), 'thumbnail \xff\xd9 ends here');
    expect(jpegHasEndMarker(bytes)).toBe(true);
    expect(jpegHasEndMarker(bytes.subarray(0, -2))).toBe(false);
  });

  it('refuses garbage where a marker should be', async () => {
    const bytes = Buffer.from(await noise(16, 16).jpeg().toBuffer());
    bytes[2] = 0x00;
    expect(jpegHasEndMarker(bytes)).toBe(false);
  });
});
