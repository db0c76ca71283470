import type { TransactionSql } from '../sql.ts';
import type { Payment, PaymentChangeKind } from './payments.ts';
import { tenantWalletId } from './tenants.ts';
import { recordTransfer, type TransferEntry } from './transfers.ts';

/**
 * The ledger side of payments. A purchase credits the customer's wallet against the tenant's
 * clearing book (paid credit) and promotion book (bonus credit); refunds and disputes are negative
 * transfers of their own kind, tied to the purchase in their memo and in payment_transfers; a won
 * dispute restores exactly what its dispute took. Callers hold the payment's row lock, so what a
 * payment still has on the wallet cannot change between reading it and writing a reversal.
 */

type PaymentTransferInput = {
  payment: Payment;
  kind: PaymentChangeKind;
  /** The Stripe object behind the transfer: the session or intent, a refund, a dispute. */
  stripeObjectId: string;
  /** Signed changes of the customer's paid and granted credit. */
  paidNanos: bigint;
  grantedNanos: bigint;
  memo: Record<string, unknown>;
};

type PaymentTransferResult = { applied: boolean; transferId: bigint };

export async function customerWalletId(tx: TransactionSql, accountId: string): Promise<bigint> {
  const [row] = await tx<{ id: bigint }[]>`select id from wallets where account_id = ${accountId}::uuid`;
  if (!row) throw new Error(`account ${accountId} has no wallet`);
  return row.id;
}

/**
 * Records one transfer of a payment, once: its cause is the Stripe object id, unique per kind, so
 * a replayed or concurrent delivery finds it already there and changes nothing.
 */
export async function recordPaymentTransfer(
  tx: TransactionSql,
  input: PaymentTransferInput,
): Promise<PaymentTransferResult> {
  const { payment, paidNanos, grantedNanos } = input;
  const [customer, clearing, promotion] = await Promise.all([
    customerWalletId(tx, payment.accountId),
    tenantWalletId(tx, payment.tenantId, 'clearing'),
    tenantWalletId(tx, payment.tenantId, 'promotion'),
  ]);
  const entries: TransferEntry[] = [
    { walletId: customer, funding: 'paid', amountNanos: paidNanos },
    { walletId: clearing, funding: 'paid', amountNanos: -paidNanos },
    { walletId: customer, funding: 'granted', amountNanos: grantedNanos },
    { walletId: promotion, funding: 'granted', amountNanos: -grantedNanos },
  ];
  const memo = { ...input.memo, paymentId: payment.id, stripeObjectId: input.stripeObjectId };
  const result = await recordTransfer(tx, { kind: input.kind, cause: input.stripeObjectId, memo, entries });
  if (result.applied) {
    await tx`
      insert into payment_transfers (transfer_id, payment_id, kind, stripe_object_id, paid_nanos, granted_nanos)
      values (${result.transferId.toString()}::int8, ${payment.id}::uuid, ${input.kind}, ${input.stripeObjectId},
              ${paidNanos.toString()}::int8, ${grantedNanos.toString()}::int8)`;
  }
  return result;
}

export type PaymentPosition = {
  /** What the payment still has on the customer's wallet: its credit minus reversals plus restorations. */
  paidNanos: bigint;
  grantedNanos: bigint;
  /** `kind:stripeObjectId` of every transfer already recorded. */
  recorded: Set<string>;
  purchaseTransferId: bigint | null;
};

export async function paymentPosition(tx: TransactionSql, paymentId: string): Promise<PaymentPosition> {
  const rows = await tx<
    {
      transfer_id: bigint;
      kind: PaymentChangeKind;
      stripe_object_id: string;
      paid_nanos: bigint;
      granted_nanos: bigint;
    }[]
  >`
    select transfer_id, kind, stripe_object_id, paid_nanos, granted_nanos from payment_transfers where payment_id = ${paymentId}::uuid`;
  const position: PaymentPosition = { paidNanos: 0n, grantedNanos: 0n, recorded: new Set(), purchaseTransferId: null };
  for (const row of rows) {
    position.paidNanos += row.paid_nanos;
    position.grantedNanos += row.granted_nanos;
    position.recorded.add(`${row.kind}:${row.stripe_object_id}`);
    if (row.kind === 'purchase') position.purchaseTransferId = row.transfer_id;
  }
  return position;
}

/** What a dispute took, to be given back exactly when it is won. */
export async function disputeTaken(
  tx: TransactionSql,
  disputeId: string,
): Promise<{ paidNanos: bigint; grantedNanos: bigint } | undefined> {
  const [row] = await tx<{ paid_nanos: bigint; granted_nanos: bigint }[]>`
    select paid_nanos, granted_nanos from payment_transfers where kind = 'dispute' and stripe_object_id = ${disputeId}`;
  return row ? { paidNanos: -row.paid_nanos, grantedNanos: -row.granted_nanos } : undefined;
}
