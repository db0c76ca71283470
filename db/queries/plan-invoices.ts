import type { Db, TransactionSql } from '../sql.ts';

/**
 * The invoices of plan subscriptions and what each did: a paid invoice names its credit transfer
 * (and, with rollover off, the transfer that removed the previous period's unused credit); a
 * failed one keeps Stripe's reason for the portal. Callers hold the subscription's row lock.
 */

export type InvoiceStatus = 'paid' | 'failed' | 'mismatch' | 'ended';

export type PlanInvoice = {
  invoiceId: string;
  subscriptionId: string;
  status: InvoiceStatus;
  amountPaidCents: bigint | null;
  creditTransferId: bigint | null;
  creditNanos: bigint;
  unusedNanos: bigint;
  failureReason: string | null;
  createdAt: Date;
  updatedAt: Date;
};

type InvoiceRow = {
  invoice_id: string;
  subscription_id: string;
  status: InvoiceStatus;
  amount_paid_cents: bigint | null;
  credit_transfer_id: bigint | null;
  credit_nanos: bigint;
  unused_nanos: bigint;
  failure_reason: string | null;
  created_at: Date;
  updated_at: Date;
};

function invoiceFromRow(row: InvoiceRow): PlanInvoice {
  return {
    invoiceId: row.invoice_id,
    subscriptionId: row.subscription_id,
    status: row.status,
    amountPaidCents: row.amount_paid_cents,
    creditTransferId: row.credit_transfer_id,
    creditNanos: row.credit_nanos,
    unusedNanos: row.unused_nanos,
    failureReason: row.failure_reason,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function findPlanInvoice(db: Db, invoiceId: string): Promise<PlanInvoice | undefined> {
  const [row] = await db<InvoiceRow[]>`select * from plan_invoices where invoice_id = ${invoiceId}`;
  return row ? invoiceFromRow(row) : undefined;
}

/** The subscription's last credited invoice: the period whose unused credit a renewal may remove. */
export async function lastCreditedInvoice(
  tx: TransactionSql,
  subscriptionId: string,
): Promise<PlanInvoice | undefined> {
  const [row] = await tx<InvoiceRow[]>`
    select * from plan_invoices where subscription_id = ${subscriptionId}::uuid and status = 'paid'
    order by credit_transfer_id desc limit 1`;
  return row ? invoiceFromRow(row) : undefined;
}

type Unpaid = {
  invoiceId: string;
  subscriptionId: string;
  status: Exclude<InvoiceStatus, 'paid'>;
  amountPaidCents: bigint | null;
  reason: string;
};

/** Records an invoice that credited nothing; an invoice already paid stays paid. */
export async function recordUnpaidInvoice(tx: TransactionSql, input: Unpaid): Promise<void> {
  await tx`
    insert into plan_invoices (invoice_id, subscription_id, status, amount_paid_cents, failure_reason)
    values (${input.invoiceId}, ${input.subscriptionId}::uuid, ${input.status}, ${input.amountPaidCents?.toString() ?? null}::int8, ${input.reason})
    on conflict (invoice_id) do update set status = excluded.status, amount_paid_cents = excluded.amount_paid_cents,
      failure_reason = excluded.failure_reason, updated_at = now()
    where plan_invoices.status <> 'paid'`;
}

type Paid = {
  invoiceId: string;
  subscriptionId: string;
  amountPaidCents: bigint;
  creditTransferId: bigint;
  creditNanos: bigint;
  unusedTransferId: bigint | null;
  unusedNanos: bigint;
};

export async function recordPaidInvoice(tx: TransactionSql, input: Paid): Promise<void> {
  await tx`
    insert into plan_invoices (invoice_id, subscription_id, status, amount_paid_cents, credit_transfer_id, credit_nanos, unused_transfer_id, unused_nanos)
    values (${input.invoiceId}, ${input.subscriptionId}::uuid, 'paid', ${input.amountPaidCents.toString()}::int8, ${input.creditTransferId.toString()}::int8,
            ${input.creditNanos.toString()}::int8, ${input.unusedTransferId?.toString() ?? null}::int8, ${input.unusedNanos.toString()}::int8)
    on conflict (invoice_id) do update set status = 'paid', amount_paid_cents = excluded.amount_paid_cents, credit_transfer_id = excluded.credit_transfer_id,
      credit_nanos = excluded.credit_nanos, unused_transfer_id = excluded.unused_transfer_id, unused_nanos = excluded.unused_nanos,
      failure_reason = null, updated_at = now()`;
}

/** Newest first, at most `limit`. */
export async function listPlanInvoices(db: Db, subscriptionId: string, limit: number): Promise<PlanInvoice[]> {
  const rows = await db<
    InvoiceRow[]
  >`select * from plan_invoices where subscription_id = ${subscriptionId}::uuid order by created_at desc, invoice_id limit ${limit}`;
  return rows.map(invoiceFromRow);
}

/**
 * What the wallet spent on usage after a transfer: plan credit is spent first (it is the credit
 * that can expire), so this much of the period's plan credit is gone.
 */
export async function usageSince(tx: TransactionSql, walletId: bigint, afterTransferId: bigint): Promise<bigint> {
  const [row] = await tx<{ spent: string }[]>`
    select coalesce(-sum(e.amount_nanos), 0)::text as spent from entries e join transfers t on t.id = e.transfer_id
    where e.wallet_id = ${walletId.toString()}::int8 and e.transfer_id > ${afterTransferId.toString()}::int8 and t.kind = 'usage'`;
  return BigInt(row?.spent ?? '0');
}
