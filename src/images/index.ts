export { detectImageFormat } from './detect.js';
export { defaultImageOptions, type ImageOptions } from './options.js';
export { createImageProcessor } from './processor.js';
export type { ImageFormat, ImageProcessor, ProcessedImage } from './types.js';
