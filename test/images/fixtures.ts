// Tiny images built in memory, so each test states exactly what it feeds in.
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';

export type Rgb = readonly [number, number, number];

export const RED: Rgb = [255, 0, 0];
export const GREEN: Rgb = [0, 255, 0];
export const BLUE: Rgb = [0, 0, 255];
export const WHITE: Rgb = [255, 255, 255];

export function solid(width: number, height: number, colour: Rgb | string = '#3366cc') {
  const background = typeof colour === 'string' ? colour : { r: colour[0], g: colour[1], b: colour[2] };
  return sharp({ create: { width, height, channels: 3, background } });
}

/** Noise compresses badly, so small dimensions still give a realistic number of bytes. */
export function noise(width: number, height: number) {
  return sharp({
    create: {
      width,
      height,
      channels: 3,
      background: '#000',
      noise: { type: 'gaussian', mean: 128, sigma: 40 },
    },
  });
}

export const jpeg = (width = 64, height = 48) => noise(width, height).jpeg().toBuffer();
export const png = (width = 64, height = 48) => noise(width, height).png().toBuffer();

// ---- PNG chunk surgery -------------------------------------------------------

export function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

export interface Chunk {
  type: string;
  data: Buffer;
}

export function pngChunks(bytes: Buffer): Chunk[] {
  const chunks: Chunk[] = [];
  let offset = 8;
  while (offset + 12 <= bytes.length) {
    const length = bytes.readUInt32BE(offset);
    chunks.push({
      type: bytes.toString('latin1', offset + 4, offset + 8),
      data: bytes.subarray(offset + 8, offset + 8 + length),
    });
    offset += 12 + length;
  }
  return chunks;
}

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function buildPng(chunks: Buffer[]): Buffer {
  return Buffer.concat([PNG_SIGNATURE, ...chunks]);
}

/** Inserts chunks right after IHDR, where ancillary chunks are allowed. */
export function insertAfterIhdr(bytes: Buffer, ...chunks: Buffer[]): Buffer {
  const ihdrEnd = 8 + 12 + 13;
  return Buffer.concat([bytes.subarray(0, ihdrEnd), ...chunks, bytes.subarray(ihdrEnd)]);
}

export function ihdr(width: number, height: number, bitDepth = 8, colourType = 2): Buffer {
  const data = Buffer.alloc(13);
  data.writeUInt32BE(width, 0);
  data.writeUInt32BE(height, 4);
  data.writeUInt8(bitDepth, 8);
  data.writeUInt8(colourType, 9); // 2 = truecolour
  return pngChunk('IHDR', data);
}

/** A complete, well-formed PNG of a few hundred bytes whose header declares width x height. */
export function pngDeclaring(width: number, height: number): Buffer {
  // One filtered row's worth of zeros: enough for a header parser, nowhere near the declared size.
  const idat = pngChunk('IDAT', deflateSync(Buffer.alloc(1 + 3 * Math.min(width, 64))));
  return buildPng([ihdr(width, height), idat, pngChunk('IEND', Buffer.alloc(0))]);
}

/**
 * A two-frame APNG: the default image (frame 0, red) in IDAT, frame 1 (blue)
 * in fdAT. Decoders without APNG support show the IDAT image.
 */
export async function apng(width = 16, height = 16): Promise<Buffer> {
  const frame = async (colour: Rgb) => pngChunks(await solid(width, height, colour).png().toBuffer());
  const first = await frame(RED);
  const second = await frame(BLUE);
  const header = first.find((c) => c.type === 'IHDR');
  if (!header) throw new Error('sharp produced a PNG without IHDR');
  const u32 = (...values: number[]) => {
    const b = Buffer.alloc(values.length * 4);
    for (const [i, v] of values.entries()) b.writeUInt32BE(v, i * 4);
    return b;
  };
  const fctl = (sequence: number) =>
    pngChunk('fcTL', Buffer.concat([u32(sequence, width, height, 0, 0), Buffer.from([0, 1, 0, 10, 0, 0])]));
  const idats = first.filter((c) => c.type === 'IDAT').map((c) => pngChunk('IDAT', c.data));
  let sequence = 2;
  const fdats = second
    .filter((c) => c.type === 'IDAT')
    .map((c) => pngChunk('fdAT', Buffer.concat([u32(sequence++), c.data])));
  return buildPng([
    pngChunk('IHDR', header.data),
    pngChunk('acTL', u32(2, 0)),
    fctl(0),
    ...idats,
    fctl(1),
    ...fdats,
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

// ---- JPEG segment surgery ----------------------------------------------------

/** Inserts a COM (comment) segment right after SOI. */
export function withJpegComment(bytes: Buffer, comment: string): Buffer {
  const text = Buffer.from(comment, 'latin1');
  const header = Buffer.from([0xff, 0xfe, 0, 0]);
  header.writeUInt16BE(text.length + 2, 2);
  return Buffer.concat([bytes.subarray(0, 2), header, text, bytes.subarray(2)]);
}

/** Rewrites the frame header (SOF0/SOF2) so the JPEG declares width x height. */
export function jpegDeclaring(bytes: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(bytes);
  let offset = 2;
  while (offset + 4 <= out.length) {
    if (out[offset] !== 0xff) throw new Error('lost JPEG marker sync');
    const marker = out[offset + 1] ?? 0;
    const length = out.readUInt16BE(offset + 2);
    if (marker === 0xc0 || marker === 0xc2) {
      out.writeUInt16BE(height, offset + 5);
      out.writeUInt16BE(width, offset + 7);
      return out;
    }
    offset += 2 + length;
  }
  throw new Error('no SOF segment found');
}

// ---- Reading results back ----------------------------------------------------

export async function pixelAt(bytes: Buffer, x: number, y: number): Promise<Rgb> {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const i = (y * info.width + x) * info.channels;
  return [data[i] ?? -1, data[i + 1] ?? -1, data[i + 2] ?? -1];
}

export function near(actual: Rgb, expected: Rgb, tolerance = 40): boolean {
  return actual.every((v, i) => Math.abs(v - (expected[i] ?? 0)) <= tolerance);
}
