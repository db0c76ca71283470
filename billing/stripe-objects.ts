/**
 * Narrow, defensive readers for the Stripe objects Tollgate acts on. Event payloads are rendered in
 * the webhook endpoint's API version, which may differ from the SDK's, so only the few stable
 * fields we need are read, each checked for its type; anything else is ignored.
 */

export type Json = Record<string, unknown>;

/** Metadata keys Tollgate puts on every Checkout Session and PaymentIntent it creates. */
export const METADATA = {
  paymentId: 'tollgate_payment_id',
  accountId: 'tollgate_account_id',
  tenantId: 'tollgate_tenant_id',
  packId: 'tollgate_pack_id',
  subscriptionId: 'tollgate_subscription_id',
  planId: 'tollgate_plan_id',
} as const;

export function isJson(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function text(object: Json, key: string): string | null {
  const value = object[key];
  return typeof value === 'string' && value !== '' ? value : null;
}

export function integer(object: Json, key: string): bigint | null {
  const value = object[key];
  return typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : null;
}

/** An expandable field: the id whether Stripe sent the id or the expanded object. */
export function idOf(object: Json, key: string): string | null {
  const value = object[key];
  if (typeof value === 'string') return value;
  return isJson(value) ? text(value, 'id') : null;
}

function metadataPaymentId(object: Json): string | null {
  const metadata = object.metadata;
  return isJson(metadata) ? text(metadata, METADATA.paymentId) : null;
}

export type StripeEventView = { id: string; type: string; createdAt: Date; object: Json };

export function readEvent(value: unknown): StripeEventView | undefined {
  if (!isJson(value) || !isJson(value.data) || !isJson(value.data.object)) return undefined;
  const id = text(value, 'id');
  const type = text(value, 'type');
  const created = integer(value, 'created');
  if (!id || !type || created === null) return undefined;
  return { id, type, createdAt: new Date(Number(created) * 1000), object: value.data.object };
}

export type SessionView = {
  id: string;
  mode: string | null;
  paymentStatus: string | null;
  amountTotalCents: bigint | null;
  currency: string | null;
  paymentIntentId: string | null;
  paymentId: string | null;
};

export function readSession(object: Json): SessionView | undefined {
  const id = text(object, 'id');
  if (!id || text(object, 'object') !== 'checkout.session') return undefined;
  return {
    id,
    mode: text(object, 'mode'),
    paymentStatus: text(object, 'payment_status'),
    amountTotalCents: integer(object, 'amount_total'),
    currency: text(object, 'currency'),
    paymentIntentId: idOf(object, 'payment_intent'),
    paymentId: metadataPaymentId(object),
  };
}

type ChargeView = { id: string; amountCents: bigint; paymentIntentId: string | null; receiptUrl: string | null };

export function readCharge(object: Json): ChargeView | undefined {
  const id = text(object, 'id');
  const amountCents = integer(object, 'amount');
  if (!id || text(object, 'object') !== 'charge' || amountCents === null) return undefined;
  return { id, amountCents, paymentIntentId: idOf(object, 'payment_intent'), receiptUrl: text(object, 'receipt_url') };
}

export type RefundView = {
  id: string;
  amountCents: bigint;
  status: string | null;
  createdAt: number;
  chargeId: string | null;
  paymentIntentId: string | null;
};

export function readRefund(object: Json): RefundView | undefined {
  const id = text(object, 'id');
  const amountCents = integer(object, 'amount');
  if (!id || text(object, 'object') !== 'refund' || amountCents === null) return undefined;
  return {
    id,
    amountCents,
    status: text(object, 'status'),
    createdAt: Number(integer(object, 'created') ?? 0n),
    chargeId: idOf(object, 'charge'),
    paymentIntentId: idOf(object, 'payment_intent'),
  };
}

export type DisputeView = {
  id: string;
  amountCents: bigint;
  status: string | null;
  chargeId: string | null;
  paymentIntentId: string | null;
};

export function readDispute(object: Json): DisputeView | undefined {
  const id = text(object, 'id');
  const amountCents = integer(object, 'amount');
  if (!id || text(object, 'object') !== 'dispute' || amountCents === null) return undefined;
  return {
    id,
    amountCents,
    status: text(object, 'status'),
    chargeId: idOf(object, 'charge'),
    paymentIntentId: idOf(object, 'payment_intent'),
  };
}

export type IntentView = {
  id: string;
  status: string | null;
  amountReceivedCents: bigint | null;
  currency: string | null;
  paymentId: string | null;
  paymentMethodId: string | null;
  latestCharge: ChargeView | null;
  failureMessage: string | null;
};

export function readIntent(object: Json): IntentView | undefined {
  const id = text(object, 'id');
  if (!id || text(object, 'object') !== 'payment_intent') return undefined;
  const latest = object.latest_charge;
  const lastError = object.last_payment_error;
  return {
    id,
    status: text(object, 'status'),
    amountReceivedCents: integer(object, 'amount_received'),
    currency: text(object, 'currency'),
    paymentId: metadataPaymentId(object),
    paymentMethodId: idOf(object, 'payment_method'),
    latestCharge: isJson(latest) ? (readCharge(latest) ?? null) : null,
    failureMessage: isJson(lastError) ? text(lastError, 'message') : null,
  };
}

/** Reads an SDK result (typed by the SDK) through the same defensive readers as event payloads. */
export function asJson(value: unknown): Json {
  if (!isJson(value)) throw new Error('Stripe answered with something that is not an object');
  return value;
}
