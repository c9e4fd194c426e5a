import { errors } from '../errors.js';
import type { ImageOptions } from './options.js';

// Every refusal of an upload is a 400 with a sentence written for the person
// who chose the file. sharp's own messages ("VipsJpeg: premature end of JPEG
// image") are never shown: they are not for users and would leak library details.

const count = (n: number) => n.toLocaleString('en-US');

const limits = (options: ImageOptions) =>
  `at most ${count(options.maxInputPixels)} pixels in total and ${count(options.maxInputSide)} pixels on the longest side`;

export const rejection = {
  unsupported: () => errors.validation('The avatar must be a JPEG or PNG image.'),

  undecodable: () =>
    errors.validation(
      'The avatar could not be decoded: the file is corrupt, truncated or not a valid image.',
    ),

  tooLarge: (options: ImageOptions, size?: { width: number; height: number }) =>
    errors.validation(
      size
        ? `The avatar is ${count(size.width)} x ${count(size.height)} pixels; images may have ${limits(options)}.`
        : `The avatar is too large; images may have ${limits(options)}.`,
    ),

  tooSlow: (options: ImageOptions) =>
    errors.validation(
      `The avatar took longer than ${Math.ceil(options.timeoutMs / 1000)} seconds to process; please upload a smaller or simpler image.`,
    ),

  /**
   * Maps a sharp failure to a rejection. The two messages matched here are
   * sharp's own limits firing; if a sharp release rewords them the upload is
   * still refused, only with the generic "could not be decoded" detail.
   */
  fromSharp(error: unknown, options: ImageOptions) {
    const message = error instanceof Error ? error.message : '';
    if (message.includes('exceeds pixel limit')) return rejection.tooLarge(options);
    if (message.startsWith('timeout')) return rejection.tooSlow(options);
    return rejection.undecodable();
  },
};
