import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { insertAfterIhdr, near, noise, pixelAt, pngChunk, solid, withJpegComment } from './fixtures.js';
import { passthrough, sanitizer } from './helpers.js';

// Marker strings planted in each metadata container; none may survive sanitizing.
const MARK = {
  exif: 'MARKER-EXIF-DESCRIPTION',
  gps: 'MARKER-GPS-METHOD',
  xmp: 'MARKER-XMP-CREATOR',
  comment: 'MARKER-JPEG-COMMENT',
  text: 'MARKER-PNG-TEXT',
  itext: 'MARKER-PNG-ITXT',
  trailer: 'MARKER-AFTER-END',
};

const xmp = `<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>${MARK.xmp}</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>`;

const exif = {
  IFD0: { ImageDescription: MARK.exif, Copyright: MARK.exif },
  // IFD3 is the GPS directory.
  IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 0/1', GPSMapDatum: MARK.gps },
};

const withEverything = (format: 'jpeg' | 'png') =>
  noise(48, 32).withExif(exif).withXmp(xmp).withIccProfile('p3').toFormat(format).toBuffer();

const includes = (bytes: Buffer, marker: string) => bytes.includes(Buffer.from(marker, 'latin1'));

async function expectNoMetadata(bytes: Buffer) {
  const meta = await sharp(bytes).metadata();
  expect(meta.exif).toBeUndefined();
  expect(meta.xmp).toBeUndefined();
  expect(meta.iptc).toBeUndefined();
  expect(meta.icc).toBeUndefined();
  expect(meta.hasProfile).toBe(false);
  expect(meta.comments ?? []).toEqual([]);
  for (const marker of Object.values(MARK)) expect(includes(bytes, marker), marker).toBe(false);
  for (const container of [
    'Exif\0',
    'ICC_PROFILE',
    'http://ns.adobe.com/xap/',
    'eXIf',
    'iCCP',
    'tEXt',
    'iTXt',
    'zTXt',
  ]) {
    expect(includes(bytes, container), container).toBe(false);
  }
}

describe('sanitize strips metadata', () => {
  it('JPEG: EXIF (with GPS), XMP, ICC and COM segments are gone', async () => {
    const input = withJpegComment(await withEverything('jpeg'), MARK.comment);
    const inputMeta = await sharp(input).metadata();
    // The fixture really carries every payload.
    expect(inputMeta.exif).toBeDefined();
    expect(includes(input, MARK.gps)).toBe(true);
    expect(inputMeta.xmpAsString).toContain(MARK.xmp);
    expect(inputMeta.hasProfile).toBe(true);
    expect(includes(input, MARK.comment)).toBe(true);

    const out = await sanitizer.process(input);
    expect(out.format).toBe('jpeg');
    await expectNoMetadata(out.bytes);
  });

  it('PNG: eXIf, XMP, iCCP, tEXt and iTXt chunks are gone', async () => {
    const text = pngChunk('tEXt', Buffer.from(`Comment\0${MARK.text}`, 'latin1'));
    const itext = pngChunk('iTXt', Buffer.from(`Description\0\0\0\0\0${MARK.itext}`, 'latin1'));
    const input = insertAfterIhdr(await withEverything('png'), text, itext);
    const inputMeta = await sharp(input).metadata();
    expect(inputMeta.exif).toBeDefined();
    expect(includes(input, MARK.gps)).toBe(true);
    expect(inputMeta.hasProfile).toBe(true);
    expect(inputMeta.xmpAsString).toContain(MARK.xmp);
    expect(JSON.stringify(inputMeta.comments)).toContain(MARK.text);

    const out = await sanitizer.process(input);
    expect(out.format).toBe('png');
    await expectNoMetadata(out.bytes);
  });

  it('converts an embedded-profile (Display P3) image to sRGB rather than just dropping the profile', async () => {
    // sRGB green (0, 200, 0) is stored as roughly (90, 197, 58) in P3 terms.
    // Dropping the profile without converting would show those stored values.
    const input = await solid(16, 16, [0, 200, 0]).withIccProfile('p3').png().toBuffer();
    const stored = await pixelAt(await sharp(input, { ignoreIcc: true }).png().toBuffer(), 8, 8);
    expect(near(stored, [0, 200, 0], 40)).toBe(false);

    const out = await sanitizer.process(input);
    expect(near(await pixelAt(out.bytes, 8, 8), [0, 200, 0], 4)).toBe(true);
  });

  it.each(['jpeg', 'png'] as const)('drops a payload appended after the %s end marker', async (format) => {
    const clean = await noise(40, 30).toFormat(format).toBuffer();
    const input = Buffer.concat([clean, Buffer.from(MARK.trailer, 'latin1')]);

    const out = await sanitizer.process(input);
    expect(includes(out.bytes, MARK.trailer)).toBe(false);
    expect([out.width, out.height]).toEqual([40, 30]);

    // Passthrough stores the upload as is, by definition.
    expect((await passthrough.process(input)).bytes.equals(input)).toBe(true);
  });
});
