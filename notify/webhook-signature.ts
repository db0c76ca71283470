import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Webhook secrets and signatures. A delivery carries `Tollgate-Signature: t=<unix seconds>,v1=<hex>`
 * where v1 is HMAC-SHA-256 over `<t>.<raw body>` with the endpoint's secret, as Stripe signs its
 * webhooks; a receiver recomputes it and rejects timestamps outside its tolerance (replays).
 * Secrets are kept sealed with AES-256-GCM under a key derived from the instance's key pepper.
 */

export const SIGNATURE_HEADER = 'Tollgate-Signature';
const SECRET_PREFIX = 'tgwh_';
const SECRET_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SEALED_VERSION = 'v1';
/** What the docs recommend receivers accept, and what verifySignature defaults to. */
const DEFAULT_TOLERANCE_SECONDS = 300;

export function generateWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64url')}`;
}

function sealingKey(pepper: string): Buffer {
  return createHash('sha256').update(`tollgate webhook secrets\0${pepper}`).digest();
}

export function sealSecret(secret: string, pepper: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', sealingKey(pepper), iv);
  const sealed = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return `${SEALED_VERSION}.${iv.toString('base64url')}.${sealed.toString('base64url')}`;
}

export function openSecret(sealed: string, pepper: string): string {
  const [version, iv, body] = sealed.split('.');
  if (version !== SEALED_VERSION || !iv || !body) throw new Error('not a sealed webhook secret');
  const bytes = Buffer.from(body, 'base64url');
  const decipher = createDecipheriv('aes-256-gcm', sealingKey(pepper), Buffer.from(iv, 'base64url'));
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
  return Buffer.concat([decipher.update(bytes.subarray(0, bytes.length - TAG_BYTES)), decipher.final()]).toString(
    'utf8',
  );
}

function hmac(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

export function signatureHeader(secret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): string {
  return `t=${timestamp},v1=${hmac(secret, timestamp, body)}`;
}

/**
 * The receiver's side, as docs/webhooks.md describes it: true when one v1 signature matches and
 * the timestamp is within the tolerance of now.
 */
export function verifySignature(
  header: string,
  body: string,
  secret: string,
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
  nowSeconds = Math.floor(Date.now() / 1000),
): boolean {
  const parts = header.split(',').map((part) => part.trim().split('=', 2) as [string, string | undefined]);
  const timestamp = Number(parts.find(([key]) => key === 't')?.[1]);
  if (!Number.isInteger(timestamp) || Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(hmac(secret, timestamp, body), 'hex');
  return parts.some(([key, value]) => {
    if (key !== 'v1' || !value || !/^[0-9a-f]{64}$/.test(value)) return false;
    return timingSafeEqual(expected, Buffer.from(value, 'hex'));
  });
}
