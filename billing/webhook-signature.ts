import Stripe from 'stripe';

/**
 * Verifies a webhook delivery's `Stripe-Signature` over the raw body with each configured secret
 * (the current one and, while rotating, the previous one). Failures are named, never explained
 * with the secret, the expected signature or the body.
 */

/** Stripe's own default: a signed delivery older than this is refused as a possible replay. */
const SIGNATURE_TOLERANCE_SECONDS = 300;

export type SignatureFailure = 'missing_signature' | 'invalid_signature' | 'stale_signature' | 'invalid_payload';
export type Verified = { ok: true; event: unknown } | { ok: false; failure: SignatureFailure };

const STALE = /tolerance/i;

export async function verifyStripeSignature(
  payload: Uint8Array,
  header: string | null,
  secrets: readonly string[],
): Promise<Verified> {
  if (!header || header.trim() === '') return { ok: false, failure: 'missing_signature' };
  if (payload.byteLength === 0) return { ok: false, failure: 'invalid_payload' };
  let stale = false;
  for (const secret of secrets) {
    try {
      const event: unknown = await Stripe.webhooks.constructEventAsync(
        payload,
        header,
        secret,
        SIGNATURE_TOLERANCE_SECONDS,
      );
      return { ok: true, event };
    } catch (error) {
      // The signature matched this secret but the timestamp is too old: a replay, not a wrong secret.
      if (error instanceof Stripe.errors.StripeSignatureVerificationError && STALE.test(error.message)) stale = true;
      else if (error instanceof SyntaxError) return { ok: false, failure: 'invalid_payload' };
    }
  }
  return { ok: false, failure: stale ? 'stale_signature' : 'invalid_signature' };
}
