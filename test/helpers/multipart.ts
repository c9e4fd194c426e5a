import { randomBytes } from 'node:crypto';

export interface Part {
  name: string;
  /** Present = a file part. */
  filename?: string;
  contentType?: string;
  data: Buffer | string;
}

/**
 * Builds a multipart/form-data body by hand, so tests control every byte
 * (wrong fields, two files, truncated bodies) in a way FormData cannot.
 */
export function multipart(parts: Part[], boundary = `----avatar-test-${randomBytes(8).toString('hex')}`) {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`;
    if (part.filename !== undefined) head += `; filename="${part.filename}"`;
    head += '\r\n';
    if (part.contentType) head += `Content-Type: ${part.contentType}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`), Buffer.from(part.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  const payload = Buffer.concat(chunks);
  return { payload, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } };
}

/** The common case: one file in the `avatar` field. */
export function avatarForm(data: Buffer, filename = 'avatar.jpg', contentType = 'image/jpeg') {
  return multipart([{ name: 'avatar', filename, contentType, data }]);
}
