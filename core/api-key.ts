import { createHmac, randomBytes } from 'node:crypto';

/**
 * API key format: `tg-` + 22 base62 characters of randomness (≈131 bits) + 6 base62 characters of
 * CRC-32 checksum. The fixed prefix and checksum let secret scanners recognise a Tollgate key and
 * let us reject mistyped keys without a database lookup. Only an HMAC of the key is stored.
 */

export const API_KEY_PREFIX = 'tg-';
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const RANDOM_LENGTH = 22;
const CHECKSUM_LENGTH = 6;
const PUBLIC_ID_LENGTH = 8;
const KEY_PATTERN = new RegExp(`^${API_KEY_PREFIX}[0-9A-Za-z]{${RANDOM_LENGTH + CHECKSUM_LENGTH}}$`);

function toBase62(value: bigint, length: number): string {
  let text = '';
  let rest = value;
  for (let i = 0; i < length; i++) {
    text = BASE62[Number(rest % 62n)] + text;
    rest /= 62n;
  }
  return text;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(text: string): number {
  let crc = 0xffffffff;
  for (let i = 0; i < text.length; i++) crc = (CRC_TABLE[(crc ^ text.charCodeAt(i)) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function randomBase62(length: number): string {
  // Rejection sampling keeps every character uniform (256 is not a multiple of 62).
  let text = '';
  while (text.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && text.length < length) text += BASE62[byte % 62];
    }
  }
  return text;
}

export type NewApiKey = { key: string; publicId: string };

export function generateApiKey(): NewApiKey {
  const body = randomBase62(RANDOM_LENGTH);
  const key = `${API_KEY_PREFIX}${body}${toBase62(BigInt(crc32(body)), CHECKSUM_LENGTH)}`;
  return { key, publicId: publicIdOf(key) };
}

/** The short, non-secret id shown in lists and logs: `tg-` and the first characters of the body. */
export function publicIdOf(key: string): string {
  return key.slice(0, API_KEY_PREFIX.length + PUBLIC_ID_LENGTH);
}

/** Shape and checksum only; a well-formed key may still be unknown, revoked or expired. */
export function isWellFormedApiKey(key: string): boolean {
  if (!KEY_PATTERN.test(key)) return false;
  const body = key.slice(API_KEY_PREFIX.length, API_KEY_PREFIX.length + RANDOM_LENGTH);
  const checksum = key.slice(API_KEY_PREFIX.length + RANDOM_LENGTH);
  return toBase62(BigInt(crc32(body)), CHECKSUM_LENGTH) === checksum;
}

export function hashApiKey(key: string, pepper: string): Buffer {
  return createHmac('sha256', pepper).update(key).digest();
}
