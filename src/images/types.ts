export type ImageFormat = 'jpeg' | 'png';

/** An image that passed validation, ready to be stored. */
export interface ProcessedImage {
  format: ImageFormat;
  contentType: 'image/jpeg' | 'image/png';
  width: number;
  height: number;
  bytes: Buffer;
}

/**
 * Turns untrusted upload bytes into a storable image. Rejects anything that is
 * not a decodable JPEG or PNG within the limits by throwing `errors.validation(...)`
 * from src/errors.ts (a 400 with a human detail).
 */
export interface ImageProcessor {
  process(bytes: Buffer, signal?: AbortSignal): Promise<ProcessedImage>;
}
