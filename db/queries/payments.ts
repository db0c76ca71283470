import { isUuid, type Db, type TransactionSql } from '../sql.ts';
import { keysetTail, positionColumn, withPosition, type KeysetPage, type Positioned } from './keyset.ts';

/**
 * Payments: one row per attempt to buy credit, made before Stripe is called so that every Checkout
 * Session and PaymentIntent Tollgate creates names an existing row in its metadata. The row keeps
 * the price and credit of the moment of purchase; the ledger side lives in payment-ledger.ts.
 */

export type PaymentKind = 'checkout' | 'auto_top_up';
export type PaymentStatus = 'open' | 'processing' | 'paid' | 'failed' | 'expired' | 'mismatch';

export type Payment = {
  id: string;
  tenantId: string;
  accountId: string;
  kind: PaymentKind;
  packId: string | null;
  description: string;
  priceNanos: bigint;
  creditNanos: bigint;
  status: PaymentStatus;
  checkoutSessionId: string | null;
  paymentIntentId: string | null;
  chargeId: string | null;
  amountPaidCents: bigint | null;
  receiptUrl: string | null;
  savePaymentMethod: boolean;
  failureReason: string | null;
  createdAt: Date;
  paidAt: Date | null;
};

type PaymentRow = {
  id: string;
  tenant_id: string;
  account_id: string;
  kind: PaymentKind;
  pack_id: string | null;
  description: string;
  price_nanos: bigint;
  credit_nanos: bigint;
  status: PaymentStatus;
  checkout_session_id: string | null;
  payment_intent_id: string | null;
  charge_id: string | null;
  amount_paid_cents: bigint | null;
  receipt_url: string | null;
  save_payment_method: boolean;
  failure_reason: string | null;
  created_at: Date;
  paid_at: Date | null;
};

function paymentFromRow(row: PaymentRow): Payment {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    accountId: row.account_id,
    kind: row.kind,
    packId: row.pack_id,
    description: row.description,
    priceNanos: row.price_nanos,
    creditNanos: row.credit_nanos,
    status: row.status,
    checkoutSessionId: row.checkout_session_id,
    paymentIntentId: row.payment_intent_id,
    chargeId: row.charge_id,
    amountPaidCents: row.amount_paid_cents,
    receiptUrl: row.receipt_url,
    savePaymentMethod: row.save_payment_method,
    failureReason: row.failure_reason,
    createdAt: row.created_at,
    paidAt: row.paid_at,
  };
}

type NewPayment = {
  tenantId: string;
  accountId: string;
  kind: PaymentKind;
  packId: string | null;
  description: string;
  priceNanos: bigint;
  creditNanos: bigint;
  savePaymentMethod: boolean;
};

export async function createPayment(db: Db, input: NewPayment): Promise<Payment> {
  const [row] = await db<PaymentRow[]>`
    insert into payments (tenant_id, account_id, kind, pack_id, description, price_nanos, credit_nanos, save_payment_method)
    values (${input.tenantId}::uuid, ${input.accountId}::uuid, ${input.kind}, ${input.packId}::uuid, ${input.description},
            ${input.priceNanos.toString()}::int8, ${input.creditNanos.toString()}::int8, ${input.savePaymentMethod})
    returning *`;
  if (!row) throw new Error('payment insert returned nothing');
  return paymentFromRow(row);
}

type Key = { id: string } | { checkoutSessionId: string } | { paymentIntentId: string };

function keyCondition(db: Db, key: Key) {
  if ('id' in key) return db`id = ${key.id}::uuid`;
  if ('checkoutSessionId' in key) return db`checkout_session_id = ${key.checkoutSessionId}`;
  return db`payment_intent_id = ${key.paymentIntentId}`;
}

export async function findPayment(db: Db, key: Key): Promise<Payment | undefined> {
  if ('id' in key && !isUuid(key.id)) return undefined;
  const [row] = await db<PaymentRow[]>`select * from payments where ${keyCondition(db, key)}`;
  return row ? paymentFromRow(row) : undefined;
}

/** The payment, row-locked until the transaction ends: every change of its money is serialized. */
export async function lockPayment(tx: TransactionSql, paymentId: string): Promise<Payment | undefined> {
  const [row] = await tx<PaymentRow[]>`select * from payments where id = ${paymentId}::uuid for update`;
  return row ? paymentFromRow(row) : undefined;
}

export async function attachCheckoutSession(db: Db, paymentId: string, sessionId: string): Promise<void> {
  await db`update payments set checkout_session_id = ${sessionId}, updated_at = now() where id = ${paymentId}::uuid and checkout_session_id is null`;
}

export async function attachPaymentIntent(db: Db, paymentId: string, intentId: string): Promise<void> {
  await db`update payments set payment_intent_id = ${intentId}, updated_at = now() where id = ${paymentId}::uuid and payment_intent_id is null`;
}

/** Moves a payment that is not paid to another unpaid state; a paid payment stays paid. */
export async function setPaymentStatus(
  db: Db,
  paymentId: string,
  status: Exclude<PaymentStatus, 'paid'>,
  failureReason: string | null,
): Promise<boolean> {
  const updated = await db`
    update payments set status = ${status}, failure_reason = ${failureReason}, updated_at = now()
    where id = ${paymentId}::uuid and status <> 'paid'`;
  return updated.count > 0;
}

export async function markPaymentPaid(
  tx: TransactionSql,
  paymentId: string,
  amountPaidCents: bigint,
  paymentIntentId: string | null,
): Promise<void> {
  await tx`
    update payments set status = 'paid', paid_at = now(), failure_reason = null, amount_paid_cents = ${amountPaidCents.toString()}::int8,
      payment_intent_id = coalesce(payment_intent_id, ${paymentIntentId}), updated_at = now()
    where id = ${paymentId}::uuid`;
}

export async function recordReceipt(
  db: Db,
  paymentId: string,
  chargeId: string,
  receiptUrl: string | null,
): Promise<void> {
  await db`
    update payments set charge_id = coalesce(charge_id, ${chargeId}), receipt_url = coalesce(${receiptUrl}, receipt_url), updated_at = now()
    where id = ${paymentId}::uuid`;
}

type PaymentFilter = { tenantId: string; accountId: string | null };

export async function listPayments(db: Db, filter: PaymentFilter, page: KeysetPage): Promise<Positioned<Payment>[]> {
  const rows = await db<(PaymentRow & { position_at: string })[]>`
    select p.*, ${positionColumn(db, 'p')} from payments p
    where p.tenant_id = ${filter.tenantId}::uuid ${filter.accountId ? db`and p.account_id = ${filter.accountId}::uuid` : db``}
    ${keysetTail(db, page, 'p', 'uuid')}`;
  return rows.map((row) => withPosition(row, paymentFromRow));
}

export type PaymentChangeKind = 'purchase' | 'refund' | 'dispute' | 'dispute_won';
export type PaymentChange = {
  transferId: bigint;
  paymentId: string;
  kind: PaymentChangeKind;
  stripeObjectId: string;
  paidNanos: bigint;
  grantedNanos: bigint;
  createdAt: Date;
};

/** The ledger transfers of these payments (credit, refunds, disputes), oldest first. */
export async function listPaymentChanges(db: Db, paymentIds: readonly string[]): Promise<PaymentChange[]> {
  if (paymentIds.length === 0) return [];
  const rows = await db<
    {
      transfer_id: bigint;
      payment_id: string;
      kind: PaymentChangeKind;
      stripe_object_id: string;
      paid_nanos: bigint;
      granted_nanos: bigint;
      created_at: Date;
    }[]
  >`
    select transfer_id, payment_id, kind, stripe_object_id, paid_nanos, granted_nanos, created_at
    from payment_transfers where payment_id = any(${[...paymentIds]}::uuid[]) order by transfer_id`;
  return rows.map((row) => ({
    transferId: row.transfer_id,
    paymentId: row.payment_id,
    kind: row.kind,
    stripeObjectId: row.stripe_object_id,
    paidNanos: row.paid_nanos,
    grantedNanos: row.granted_nanos,
    createdAt: row.created_at,
  }));
}
