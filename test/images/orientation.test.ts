import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { BLUE, GREEN, near, pixelAt, RED, type Rgb, WHITE } from './fixtures.js';
import { passthrough, sanitizer } from './helpers.js';

// The upright picture: 64 x 32, four 32 x 16 quadrants.
const W = 64;
const H = 32;
const QUADRANTS: Record<'topLeft' | 'topRight' | 'bottomLeft' | 'bottomRight', Rgb> = {
  topLeft: RED,
  topRight: GREEN,
  bottomLeft: BLUE,
  bottomRight: WHITE,
};

function uprightColour(x: number, y: number): Rgb {
  if (y < H / 2) return x < W / 2 ? QUADRANTS.topLeft : QUADRANTS.topRight;
  return x < W / 2 ? QUADRANTS.bottomLeft : QUADRANTS.bottomRight;
}

/**
 * Where the displayed pixel (x, y) is stored for each EXIF orientation, from the
 * tag's definition (which stored row/column is the visual top/left). For 5-8
 * the stored image is H x W.
 */
const STORED: Record<number, (x: number, y: number) => [number, number]> = {
  1: (x, y) => [x, y],
  2: (x, y) => [W - 1 - x, y],
  3: (x, y) => [W - 1 - x, H - 1 - y],
  4: (x, y) => [x, H - 1 - y],
  5: (x, y) => [y, x],
  6: (x, y) => [y, W - 1 - x],
  7: (x, y) => [H - 1 - y, W - 1 - x],
  8: (x, y) => [H - 1 - y, x],
};

/** A JPEG whose stored pixels, once the orientation tag is applied, show the upright picture. */
async function orientedJpeg(orientation: number): Promise<Buffer> {
  const swapped = orientation >= 5;
  const storedWidth = swapped ? H : W;
  const storedHeight = swapped ? W : H;
  const pixels = Buffer.alloc(storedWidth * storedHeight * 3);
  const toStored = STORED[orientation];
  if (!toStored) throw new Error(`no mapping for orientation ${orientation}`);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const [sx, sy] = toStored(x, y);
      pixels.set(uprightColour(x, y), (sy * storedWidth + sx) * 3);
    }
  }
  return sharp(pixels, { raw: { width: storedWidth, height: storedHeight, channels: 3 } })
    .withMetadata({ orientation })
    .jpeg({ quality: 95, chromaSubsampling: '4:4:4' })
    .toBuffer();
}

describe('EXIF orientation', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])(
    'orientation %i comes out upright with no orientation tag',
    async (orientation) => {
      const input = await orientedJpeg(orientation);
      expect((await sharp(input).metadata()).orientation).toBe(orientation);

      const out = await sanitizer.process(input);

      expect([out.width, out.height]).toEqual([W, H]);
      const meta = await sharp(out.bytes).metadata();
      expect([meta.width, meta.height]).toEqual([W, H]);
      expect(meta.orientation).toBeUndefined();
      // Sample the middle of each quadrant, away from compression fringes at the edges.
      const samples: Array<[number, number, Rgb]> = [
        [W / 4, H / 4, QUADRANTS.topLeft],
        [(3 * W) / 4, H / 4, QUADRANTS.topRight],
        [W / 4, (3 * H) / 4, QUADRANTS.bottomLeft],
        [(3 * W) / 4, (3 * H) / 4, QUADRANTS.bottomRight],
      ];
      for (const [x, y, expected] of samples) {
        const actual = await pixelAt(out.bytes, x, y);
        expect(near(actual, expected), `(${x},${y}) is ${actual}, expected ${expected}`).toBe(true);
      }
    },
  );

  it.each([1, 6])('passthrough reports the displayed size for orientation %i', async (orientation) => {
    const input = await orientedJpeg(orientation);
    const out = await passthrough.process(input);
    expect([out.width, out.height]).toEqual([W, H]);
    expect(out.bytes.equals(input)).toBe(true);
  });
});
