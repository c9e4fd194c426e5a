import { describe, expect, it } from 'vitest';
import { detectImageFormat } from '../../src/images/index.js';
import { jpeg, png } from './fixtures.js';

describe('detectImageFormat', () => {
  it('recognises JPEG and PNG by their leading bytes', async () => {
    expect(detectImageFormat(await jpeg())).toBe('jpeg');
    expect(detectImageFormat(await png())).toBe('png');
  });

  it('needs only the signature itself', () => {
    expect(detectImageFormat(Buffer.from([0xff, 0xd8, 0xff]))).toBe('jpeg');
    expect(detectImageFormat(Buffer.from('89504e470d0a1a0a', 'hex'))).toBe('png');
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['two JPEG bytes', Buffer.from([0xff, 0xd8])],
    ['PNG signature cut short', Buffer.from('89504e470d0a1a', 'hex')],
    ['PNG signature with a wrong byte', Buffer.from('89504e470d0a1a0b', 'hex')],
    ['GIF', Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1')],
    ['SVG', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>')],
    ['WebP', Buffer.from('RIFF\x10\x00\x00\x00WEBPVP8 ', 'latin1')],
    ['JPEG signature not at the start', Buffer.from([0x00, 0xff, 0xd8, 0xff])],
  ])('returns undefined for %s', (_name, bytes) => {
    expect(detectImageFormat(bytes)).toBeUndefined();
  });
});
