import { expect } from 'vitest';
import { AppError } from '../../src/errors.js';
import { createImageProcessor, defaultImageOptions, type ImageOptions } from '../../src/images/index.js';

export const sanitizer = createImageProcessor(defaultImageOptions);
export const passthrough = createImageProcessor({ ...defaultImageOptions, mode: 'passthrough' });
export const bothModes = [
  ['sanitize', sanitizer],
  ['passthrough', passthrough],
] as const;

export const processorWith = (overrides: Partial<ImageOptions>) =>
  createImageProcessor({ ...defaultImageOptions, ...overrides });

/** Resolves to the AppError the promise rejected with, after asserting it is a 400. */
export async function rejection400(promise: Promise<unknown>): Promise<AppError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'expected the upload to be rejected').toBeDefined();
  if (!(err instanceof AppError)) throw new Error(`expected an AppError, got ${String(err)}`, { cause: err });
  expect(err.status).toBe(400);
  expect(err.title).toBe('ValidationError');
  // sharp/libvips wording must never reach the client.
  expect(err.detail).not.toMatch(/vips|sharp|libpng|libjpeg|jpeglib|Input buffer/i);
  return err;
}
