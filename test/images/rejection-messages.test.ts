import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { defaultImageOptions } from '../../src/images/index.js';
import { rejection } from '../../src/images/rejections.js';

// sharp's messages for its own limits, as produced by sharp 0.35.6 / libvips 8.18.
const sharpErrors = {
  pixelLimit: new Error('Input image exceeds pixel limit'),
  timeout: new Error(
    'timeout: 27% complete\nVipsImage: killed for image "temp-72"\nvips2png: unable to write to target',
  ),
  truncated: new Error('VipsJpeg: premature end of JPEG image'),
};

describe('rejection.fromSharp', () => {
  it('turns every sharp failure into a 400 with a sentence of our own', () => {
    for (const error of [...Object.values(sharpErrors), 'not even an Error']) {
      const mapped = rejection.fromSharp(error, defaultImageOptions);
      expect(mapped).toBeInstanceOf(AppError);
      expect(mapped.status).toBe(400);
      expect(mapped.detail).not.toMatch(/vips|premature|exceeds pixel limit|%/i);
    }
  });

  it('names the limit that fired', () => {
    expect(rejection.fromSharp(sharpErrors.pixelLimit, defaultImageOptions).detail).toBe(
      'The avatar is too large; images may have at most 40,000,000 pixels in total and 10,000 pixels on the longest side.',
    );
    expect(
      rejection.fromSharp(sharpErrors.timeout, { ...defaultImageOptions, timeoutMs: 2500 }).detail,
    ).toMatch(/longer than 3 seconds/);
    expect(rejection.fromSharp(sharpErrors.truncated, defaultImageOptions).detail).toMatch(
      /could not be decoded/,
    );
  });
});
