import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError, errors } from '../errors.js';
import { detectImageFormat } from '../images/detect.js';

export const AVATAR_FIELD = 'avatar';

export const multipartLimits = (maxFileBytes: number) => ({
  fieldNameSize: 100,
  fieldSize: 1024,
  fields: 10,
  fileSize: maxFileBytes,
  files: 1,
  parts: 11,
  headerPairs: 20,
});

const notMultipart = () =>
  errors.validation(`The request must be multipart/form-data with the image in the "${AVATAR_FIELD}" field.`);
const notAnImage = () => errors.validation('The avatar must be a JPEG or PNG image.');

/**
 * Reads the one file of the multipart body into memory, enforcing the contract's
 * order: a wrong type is a 400 even when the file is also too large, so the
 * first bytes are sniffed as they arrive, before the size is known. We iterate
 * the stream ourselves rather than calling `toBuffer()` for that reason, and
 * because `toBuffer()` was seen to return a silently truncated buffer under load
 * (see ENVIRONMENT.md): the byte count here is ours, and `truncated` is checked too.
 */
export async function readAvatarFile(
  request: FastifyRequest,
  reply: FastifyReply,
  maxBytes: number,
): Promise<Buffer> {
  if (!request.isMultipart()) throw notMultipart();
  // The client waits for this before sending the body (see checkContinue in app.ts).
  if (request.headers.expect?.toLowerCase() === '100-continue') reply.raw.writeContinue();
  let file: Buffer | undefined;
  try {
    for await (const part of request.parts()) {
      if (part.type === 'field') continue; // small extra fields are harmless; limits bound them
      if (part.fieldname !== AVATAR_FIELD) {
        throw errors.validation(`The image must be sent in the "${AVATAR_FIELD}" field.`);
      }
      if (file) throw onlyOneFile();
      file = await collect(part.file, maxBytes);
    }
  } catch (err) {
    throw toUploadError(err, maxBytes);
  }
  if (!file) throw errors.validation(`No file was sent: put the image in the "${AVATAR_FIELD}" field.`);
  return file;
}

async function collect(
  stream: AsyncIterable<Buffer> & { truncated?: boolean },
  maxBytes: number,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  let sniffed = false;
  for await (const chunk of stream) {
    size += chunk.length;
    if (size > maxBytes) throw errors.payloadTooLarge(maxBytes);
    chunks.push(chunk);
    if (!sniffed && size >= 8) {
      if (!detectImageFormat(Buffer.concat(chunks))) throw notAnImage();
      sniffed = true;
    }
  }
  if (stream.truncated) throw errors.payloadTooLarge(maxBytes);
  if (size === 0) throw errors.validation('The avatar file is empty.');
  if (!sniffed) throw notAnImage();
  return Buffer.concat(chunks, size);
}

const onlyOneFile = () => errors.validation(`Send exactly one file, in the "${AVATAR_FIELD}" field.`);

/** Multipart and busboy errors become the contract's 400/413; anything else reading the body is a malformed body. */
function toUploadError(err: unknown, maxBytes: number): AppError {
  if (err instanceof AppError) return err;
  const code = (err as { code?: string }).code;
  switch (code) {
    case 'FST_REQ_FILE_TOO_LARGE':
      return errors.payloadTooLarge(maxBytes);
    case 'FST_FILES_LIMIT':
      return onlyOneFile();
    case 'FST_PARTS_LIMIT':
    case 'FST_FIELDS_LIMIT':
      return errors.validation('The form has too many parts: send only the "avatar" file.');
    case 'FST_INVALID_MULTIPART_CONTENT_TYPE':
      return notMultipart();
    default:
      return errors.validation('The multipart body is malformed or incomplete.');
  }
}
