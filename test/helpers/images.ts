import sharp from 'sharp';

/** A small real JPEG; `seed` changes the colour so two images differ. */
export async function jpeg(width = 64, height = 48, seed = 0): Promise<Buffer> {
  return sharp({
    create: { width, height, channels: 3, background: { r: (seed * 40) % 256, g: 120, b: 200 } },
  })
    .jpeg()
    .toBuffer();
}

export async function png(width = 64, height = 48): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 4, background: { r: 10, g: 200, b: 90, alpha: 0.5 } } })
    .png()
    .toBuffer();
}

/**
 * A valid JPEG of exactly `size` bytes: COM (comment) segments inserted after
 * SOI pad it out, which every decoder skips. Used for the 2 MB boundary.
 */
export async function jpegOfSize(size: number): Promise<Buffer> {
  const base = await jpeg(32, 32);
  const rest = base.subarray(2); // after SOI
  let padding = size - base.length;
  if (padding < 0) throw new Error(`cannot make a JPEG smaller than ${base.length} bytes`);
  const segments: Buffer[] = [];
  if (padding > 0 && padding < 4) throw new Error('padding must be 0 or at least 4 bytes');
  while (padding > 0) {
    // A segment is 4 header bytes plus at most 65,533 payload bytes; never leave
    // a remainder too small to hold the next header.
    let total = Math.min(padding, 65_537);
    if (padding - total > 0 && padding - total < 4) total -= 4;
    segments.push(comment(total - 4));
    padding -= total;
  }
  const out = Buffer.concat([Buffer.from([0xff, 0xd8]), ...segments, rest]);
  if (out.length !== size) throw new Error(`jpegOfSize: made ${out.length}, wanted ${size}`);
  return out;
}

function comment(payloadLength: number): Buffer {
  const segment = Buffer.alloc(payloadLength + 4, 0x41);
  segment[0] = 0xff;
  segment[1] = 0xfe;
  segment.writeUInt16BE(payloadLength + 2, 2);
  return segment;
}
