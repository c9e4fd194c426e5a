import { createHash, randomInt, timingSafeEqual } from 'node:crypto';

export const API_KEY_PREFIX = 'bd_key_';
const BODY_LENGTH = 40; // > 32 required: 40 base62 chars ≈ 238 bits of entropy
const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
// Bounded so a huge header cannot make us hash megabytes.
const KEY_PATTERN = /^bd_key_[A-Za-z0-9]{32,128}$/;
const DISPLAY_PREFIX_LENGTH = API_KEY_PREFIX.length + 4;

/** A new random key. `randomInt` draws without modulo bias. */
export function generateApiKey(): string {
  let body = '';
  for (let i = 0; i < BODY_LENGTH; i++) body += BASE62[randomInt(BASE62.length)];
  return API_KEY_PREFIX + body;
}

export function isWellFormedApiKey(key: string): boolean {
  return KEY_PATTERN.test(key);
}

/** Only this hash is stored; the key is shown once, at creation. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** The short, non-secret part kept for listings and logs, e.g. `bd_key_Ab3x`. */
export function displayPrefix(key: string): string {
  return key.slice(0, DISPLAY_PREFIX_LENGTH);
}

export function hashesMatch(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive, RFC 7235). */
export function bearerToken(header: string | undefined): string | undefined {
  const match = header?.match(/^Bearer +(\S+) *$/i);
  return match?.[1];
}
