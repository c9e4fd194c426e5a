import sharp, { type Metadata, type Sharp } from 'sharp';
import { detectImageFormat } from './detect.js';
import './loaders.js';
import { assertValidOptions, type ImageOptions } from './options.js';
import { rejection } from './rejections.js';
import { Semaphore } from './semaphore.js';
import { jpegHasEndMarker, pngHasCompleteEnd } from './structure.js';
import type { ImageFormat, ImageProcessor, ProcessedImage } from './types.js';

const CONTENT_TYPES = { jpeg: 'image/jpeg', png: 'image/png' } as const;

export function createImageProcessor(options: ImageOptions): ImageProcessor {
  assertValidOptions(options);
  const semaphore = new Semaphore(options.concurrency);
  const timeoutSeconds = Math.ceil(options.timeoutMs / 1000);

  // Every sharp instance gets the same guards. failOn 'warning' (sharp's
  // recommendation for untrusted input) also rejects JPEGs that libjpeg can
  // only "recover" from, e.g. garbage between segments; 'truncated' would let
  // those through and would still catch plain truncation.
  const open = (bytes: Buffer): Sharp =>
    sharp(bytes, { limitInputPixels: options.maxInputPixels, failOn: 'warning' }).timeout({
      seconds: timeoutSeconds,
    });

  return {
    async process(bytes: Buffer, signal?: AbortSignal): Promise<ProcessedImage> {
      const format = detectImageFormat(bytes);
      if (format === undefined) throw rejection.unsupported();
      const complete = format === 'png' ? pngHasCompleteEnd(bytes) : jpegHasEndMarker(bytes);
      if (!complete) throw rejection.undecodable();

      const release = await semaphore.acquire(signal);
      try {
        // The permit may be granted in the same tick the client gives up.
        signal?.throwIfAborted();
        const header = await readHeader(open(bytes), format, options);
        return options.mode === 'passthrough'
          ? await passthrough(open(bytes), bytes, format, header, options)
          : await sanitize(open(bytes), format, options);
      } finally {
        release();
      }
    },
  };
}

// Header only: sharp's metadata() parses the header without decoding pixels,
// so oversized declarations are refused before any pixel buffer is allocated.
async function readHeader(image: Sharp, format: ImageFormat, options: ImageOptions): Promise<Metadata> {
  let header: Metadata;
  try {
    header = await image.metadata();
  } catch (error) {
    throw rejection.fromSharp(error, options);
  }
  // Loaders other than JPEG/PNG are blocked, so a mismatch means the bytes
  // start like one format and parse as another: refuse rather than guess.
  if (header.format !== format) throw rejection.unsupported();
  const { width, height } = header;
  if (width * height > options.maxInputPixels || Math.max(width, height) > options.maxInputSide) {
    throw rejection.tooLarge(options, { width, height });
  }
  return header;
}

async function passthrough(
  image: Sharp,
  bytes: Buffer,
  format: ImageFormat,
  header: Metadata,
  options: ImageOptions,
): Promise<ProcessedImage> {
  // A header can be intact while the scan data is cut short, and only decoding
  // notices. A tiny thumbnail still runs libjpeg/zlib over every byte of image
  // data (shrink-on-load skips IDCT work, not entropy decoding) without
  // allocating a full-size pixel buffer.
  try {
    await image.resize(32, 32, { fit: 'inside' }).raw().toBuffer();
  } catch (error) {
    throw rejection.fromSharp(error, options);
  }
  // Viewers apply the EXIF orientation of the stored original, so report the
  // dimensions as displayed.
  const { width, height } = header.autoOrient;
  return { format, contentType: CONTENT_TYPES[format], width, height, bytes };
}

async function sanitize(image: Sharp, format: ImageFormat, options: ImageOptions): Promise<ProcessedImage> {
  // No withMetadata/keepMetadata: sharp's output then carries no EXIF, XMP,
  // IPTC, ICC, comments or PNG text. autoOrient bakes the orientation into the
  // pixels before the tag is dropped; toColourspace converts CMYK and
  // embedded-profile (e.g. Display P3) input to sRGB so colours survive losing
  // the profile. Only page 0 is read, so an APNG yields its default image.
  const pipeline = image
    .autoOrient()
    .resize({
      width: options.maxOutputSide,
      height: options.maxOutputSide,
      fit: 'inside',
      withoutEnlargement: true,
    })
    .toColourspace('srgb');
  const encoder =
    format === 'jpeg'
      ? pipeline.jpeg({ quality: options.jpegQuality, mozjpeg: options.mozjpeg })
      : pipeline.png();
  try {
    const { data, info } = await encoder.toBuffer({ resolveWithObject: true });
    return {
      format,
      contentType: CONTENT_TYPES[format],
      width: info.width,
      height: info.height,
      bytes: data,
    };
  } catch (error) {
    throw rejection.fromSharp(error, options);
  }
}
