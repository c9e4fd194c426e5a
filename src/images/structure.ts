// Decoders stop as soon as they have the pixels they need: libpng never reads
// past the last IDAT, and libjpeg (as libvips drives it) often finishes without
// looking for EOI. A file cut short by a byte or two at the end therefore still
// decodes, and uploads truncated by exactly that much are a real failure mode
// of the multipart layer (ENVIRONMENT.md). These walks insist on a complete end
// marker before any decoder runs. They follow chunk/segment lengths and scan
// JPEG entropy data with Buffer#indexOf, so a 2 MB file costs well under a
// millisecond. Bytes after the end marker (e.g. a Motion Photo's video) are
// allowed here; sanitize drops them.

const PNG_SIGNATURE_LENGTH = 8;
const PNG_CHUNK_OVERHEAD = 12; // length (4) + type (4) + CRC (4)

/** True when the chunks after the PNG signature run, intact, up to a complete IEND. */
export function pngHasCompleteEnd(bytes: Buffer): boolean {
  let offset = PNG_SIGNATURE_LENGTH;
  while (offset + PNG_CHUNK_OVERHEAD <= bytes.length) {
    const next = offset + PNG_CHUNK_OVERHEAD + bytes.readUInt32BE(offset);
    if (next > bytes.length) return false;
    if (bytes.toString('latin1', offset + 4, offset + 8) === 'IEND') return true;
    offset = next;
  }
  return false;
}

const EOI = 0xd9;
const SOS = 0xda;
const isRestart = (marker: number) => marker >= 0xd0 && marker <= 0xd7;

/**
 * True when the JPEG's segments, and the entropy-coded data after each SOS,
 * lead to an EOI marker. An EOI inside a segment (an EXIF thumbnail's) does not count.
 */
export function jpegHasEndMarker(bytes: Buffer): boolean {
  let offset = 2; // after SOI
  while (offset + 1 < bytes.length) {
    if (bytes[offset] !== 0xff) return false;
    const marker = bytes[offset + 1] ?? 0;
    if (marker === 0xff) {
      offset++; // fill byte before a marker
      continue;
    }
    if (marker === EOI) return true;
    if (isRestart(marker) || marker === 0x01) {
      offset += 2; // standalone markers have no length
      continue;
    }
    if (offset + 4 > bytes.length) return false;
    const length = bytes.readUInt16BE(offset + 2);
    if (length < 2) return false;
    offset += 2 + length;
    if (offset > bytes.length) return false;
    if (marker === SOS) {
      const nextMarker = endOfEntropyData(bytes, offset);
      if (nextMarker < 0) return false;
      offset = nextMarker;
    }
  }
  return false;
}

// Inside entropy-coded data 0xFF is followed by 0x00 (a stuffed byte), a
// restart marker or more fill; anything else is the next real marker.
function endOfEntropyData(bytes: Buffer, from: number): number {
  let i = from;
  for (;;) {
    i = bytes.indexOf(0xff, i);
    if (i < 0 || i + 1 >= bytes.length) return -1;
    const following = bytes[i + 1] ?? 0;
    if (following === 0x00 || isRestart(following)) i += 2;
    else if (following === 0xff) i += 1;
    else return i;
  }
}
