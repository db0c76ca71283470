import type { Db } from '../sql.ts';
import { tenantFromRow, type Tenant } from './tenants.ts';

/** A tenant's notice settings (sender, what e-mail verification gates, sign-up credit); defaults without a row. */

export type VerificationPolicy = 'off' | 'credit' | 'keys';
export type NoticeSettings = { sender: string | null; verification: VerificationPolicy; signupCreditNanos: bigint };

const DEFAULT_NOTICE_SETTINGS: NoticeSettings = { sender: null, verification: 'off', signupCreditNanos: 0n };

type SettingsRow = { sender: string | null; verification: VerificationPolicy; signup_credit_nanos: bigint };

const fromRow = (row: SettingsRow | undefined): NoticeSettings =>
  row
    ? { sender: row.sender, verification: row.verification, signupCreditNanos: row.signup_credit_nanos }
    : DEFAULT_NOTICE_SETTINGS;

export async function findNoticeSettings(db: Db, tenantId: string): Promise<NoticeSettings> {
  const [row] = await db<SettingsRow[]>`
    select sender, verification, signup_credit_nanos from tenant_notice_settings where tenant_id = ${tenantId}::uuid`;
  return fromRow(row);
}

export async function saveNoticeSettings(db: Db, tenantId: string, settings: NoticeSettings): Promise<NoticeSettings> {
  const [row] = await db<SettingsRow[]>`
    insert into tenant_notice_settings (tenant_id, sender, verification, signup_credit_nanos)
    values (${tenantId}::uuid, ${settings.sender}, ${settings.verification},
            ${settings.signupCreditNanos.toString()}::int8)
    on conflict (tenant_id) do update set sender = excluded.sender, verification = excluded.verification,
      signup_credit_nanos = excluded.signup_credit_nanos, updated_at = now()
    returning sender, verification, signup_credit_nanos`;
  return fromRow(row);
}

/** The tenant and its settings in one look-up: what rendering a tenant's e-mail needs. */
export async function findTenantForNotices(
  db: Db,
  tenantId: string,
): Promise<{ tenant: Tenant; settings: NoticeSettings } | undefined> {
  const [row] = await db<(Parameters<typeof tenantFromRow>[0] & Partial<SettingsRow> & { has_settings: boolean })[]>`
    select t.*, s.sender, s.verification, s.signup_credit_nanos, s.tenant_id is not null as has_settings
    from tenants t left join tenant_notice_settings s on s.tenant_id = t.id where t.id = ${tenantId}::uuid`;
  if (!row) return undefined;
  const settings = row.has_settings
    ? fromRow({
        sender: row.sender ?? null,
        verification: row.verification ?? 'off',
        signup_credit_nanos: row.signup_credit_nanos ?? 0n,
      })
    : DEFAULT_NOTICE_SETTINGS;
  return { tenant: tenantFromRow(row), settings };
}
