import type { Db, TransactionSql } from '../sql.ts';
import { createPayment, type Payment } from './payments.ts';

/**
 * Auto top-up: an account that opts in is charged off-session for a chosen pack when its credit
 * falls below a threshold, at most once per period. The claim runs under the settings' row lock,
 * so replicas nudging the same account at once make one attempt, never two.
 */

export type AutoTopUpSettings = {
  accountId: string;
  enabled: boolean;
  thresholdNanos: bigint;
  packId: string;
  periodSeconds: number;
  updatedAt: Date;
};

type SettingsRow = {
  account_id: string;
  enabled: boolean;
  threshold_nanos: bigint;
  pack_id: string;
  period_seconds: number;
  updated_at: Date;
};

function settingsFromRow(row: SettingsRow): AutoTopUpSettings {
  return {
    accountId: row.account_id,
    enabled: row.enabled,
    thresholdNanos: row.threshold_nanos,
    packId: row.pack_id,
    periodSeconds: row.period_seconds,
    updatedAt: row.updated_at,
  };
}

export async function findAutoTopUp(db: Db, accountId: string): Promise<AutoTopUpSettings | undefined> {
  const [row] = await db<SettingsRow[]>`select * from auto_top_up_settings where account_id = ${accountId}::uuid`;
  return row ? settingsFromRow(row) : undefined;
}

export async function saveAutoTopUp(
  db: Db,
  settings: Omit<AutoTopUpSettings, 'updatedAt'>,
): Promise<AutoTopUpSettings> {
  const [row] = await db<SettingsRow[]>`
    insert into auto_top_up_settings (account_id, enabled, threshold_nanos, pack_id, period_seconds)
    values (${settings.accountId}::uuid, ${settings.enabled}, ${settings.thresholdNanos.toString()}::int8, ${settings.packId}::uuid, ${settings.periodSeconds})
    on conflict (account_id) do update set enabled = excluded.enabled, threshold_nanos = excluded.threshold_nanos,
      pack_id = excluded.pack_id, period_seconds = excluded.period_seconds, updated_at = now()
    returning *`;
  if (!row) throw new Error('auto top-up upsert returned nothing');
  return settingsFromRow(row);
}

export async function lastAutoTopUpAt(db: Db, accountId: string): Promise<Date | null> {
  const [row] = await db<{ created_at: Date }[]>`
    select created_at from auto_top_up_attempts where account_id = ${accountId}::uuid order by created_at desc limit 1`;
  return row?.created_at ?? null;
}

/** The cheap check run after a settlement: enabled, below the threshold, and no attempt in the period. */
export async function dueForTopUp(db: Db, accountId: string): Promise<boolean> {
  const [row] = await db`
    select 1 from auto_top_up_settings s join wallets w on w.account_id = s.account_id
    where s.account_id = ${accountId}::uuid and s.enabled and w.paid_nanos + w.granted_nanos < s.threshold_nanos
      and not exists (select 1 from auto_top_up_attempts t
                      where t.account_id = s.account_id and t.created_at > now() - make_interval(secs => s.period_seconds))`;
  return row !== undefined;
}

type TopUpClaim = { payment: Payment; customerId: string; paymentMethodId: string } | { skipped: string };

type ClaimRow = {
  enabled: boolean;
  threshold_nanos: bigint;
  period_seconds: number;
  balance: bigint;
  tenant_id: string;
  account_status: string;
  customer_id: string | null;
  payment_method_id: string | null;
  pack_id: string;
  pack_name: string;
  price_nanos: bigint;
  credit_nanos: bigint;
  pack_active: boolean;
};

/** Decides, under the settings' row lock, whether to charge now; if so records the payment and the attempt. */
export async function claimAutoTopUp(tx: TransactionSql, accountId: string): Promise<TopUpClaim> {
  const [row] = await tx<ClaimRow[]>`
    select s.enabled, s.threshold_nanos, s.period_seconds, w.paid_nanos + w.granted_nanos as balance, a.tenant_id, a.status as account_status,
      c.customer_id, c.payment_method_id, p.id as pack_id, p.name as pack_name, p.price_nanos, p.credit_nanos, p.active as pack_active
    from auto_top_up_settings s
      join accounts a on a.id = s.account_id
      join wallets w on w.account_id = s.account_id
      join credit_packs p on p.id = s.pack_id
      left join stripe_customers c on c.account_id = s.account_id
    where s.account_id = ${accountId}::uuid
    for update of s`;
  if (!row?.enabled) return { skipped: 'auto top-up is off' };
  if (row.account_status !== 'active') return { skipped: 'the account is suspended' };
  if (row.balance >= row.threshold_nanos) return { skipped: 'the balance is above the threshold' };
  if (!row.pack_active) return { skipped: 'the chosen pack is no longer sold' };
  if (!row.customer_id || !row.payment_method_id) return { skipped: 'no saved card' };
  const [recent] = await tx`
    select 1 from auto_top_up_attempts where account_id = ${accountId}::uuid and created_at > now() - make_interval(secs => ${row.period_seconds})`;
  if (recent) return { skipped: 'already attempted in this period' };
  const payment = await createPayment(tx, {
    tenantId: row.tenant_id,
    accountId,
    kind: 'auto_top_up',
    packId: row.pack_id,
    description: row.pack_name,
    priceNanos: row.price_nanos,
    creditNanos: row.credit_nanos,
    savePaymentMethod: false,
  });
  await tx`insert into auto_top_up_attempts (account_id, payment_id, balance_nanos) values (${accountId}::uuid, ${payment.id}::uuid, ${row.balance.toString()}::int8)`;
  return { payment, customerId: row.customer_id, paymentMethodId: row.payment_method_id };
}
