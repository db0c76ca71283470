import type { Db } from '../sql.ts';
import { apiKeyFromRow, keySpendColumn, type ApiKey } from './api-keys.ts';
import { keysetTail, positionColumn, withPosition, type KeysetPage, type Positioned } from './keyset.ts';

/** API keys as the management API sees them: always reached through their tenant, paged, edited in place. */

type KeyRow = Parameters<typeof apiKeyFromRow>[0];

/** A key whose account belongs to this tenant, or undefined for an unknown id or another tenant's key. */
export async function findTenantApiKey(db: Db, tenantId: string, keyId: string): Promise<ApiKey | undefined> {
  const [row] = await db<KeyRow[]>`
    select k.*, ${keySpendColumn(db, 'k')} from api_keys k join accounts a on a.id = k.account_id
    where k.id = ${keyId}::uuid and a.tenant_id = ${tenantId}::uuid`;
  return row ? apiKeyFromRow(row) : undefined;
}

export async function listAccountApiKeys(
  db: Db,
  accountId: string,
  includeRevoked: boolean,
  page: KeysetPage,
): Promise<Positioned<ApiKey>[]> {
  const rows = await db<(KeyRow & { position_at: string })[]>`
    select k.*, ${keySpendColumn(db, 'k')}, ${positionColumn(db, 'k')} from api_keys k
    where k.account_id = ${accountId}::uuid ${includeRevoked ? db`` : db`and k.revoked_at is null`}
    ${keysetTail(db, page, 'k', 'uuid')}`;
  return rows.map((row) => withPosition(row, apiKeyFromRow));
}

/** A change to a key's settings: a field left undefined keeps its value, null clears it. */
export type ApiKeySettings = {
  name?: string;
  expiresAt?: Date | null;
  creditCapNanos?: bigint | null;
  allowedModels?: string[] | null;
};

/**
 * A key given a cap after it has spent starts its cap counter from its spend in the usage log, so
 * the cap bounds everything the key spends and the key's spend reads the same before and after.
 * `spent_before_cap_nanos` keeps what no hold of the key recorded (db/migrations/00024); requests
 * settling at that very moment under no cap are not counted.
 */
export async function updateApiKeySettings(
  db: Db,
  keyId: string,
  settings: ApiKeySettings,
): Promise<ApiKey | undefined> {
  const keep = (value: unknown) => value === undefined;
  const capping = settings.creditCapNanos !== undefined && settings.creditCapNanos !== null;
  const [row] = await db<KeyRow[]>`
    with k as (update api_keys k set
      name = case when ${keep(settings.name)} then name else ${settings.name ?? ''} end,
      expires_at = case when ${keep(settings.expiresAt)} then expires_at else ${settings.expiresAt ?? null}::timestamptz end,
      credit_cap_nanos = case when ${keep(settings.creditCapNanos)} then credit_cap_nanos else ${settings.creditCapNanos?.toString() ?? null}::int8 end,
      allowed_models = case when ${keep(settings.allowedModels)} then allowed_models else ${settings.allowedModels ?? null}::text[] end,
      spent_nanos = case when ${capping} and k.credit_cap_nanos is null then u.charged else k.spent_nanos end,
      spent_before_cap_nanos = case when ${capping} and k.credit_cap_nanos is null
        then u.charged - k.spent_nanos + k.spent_before_cap_nanos else k.spent_before_cap_nanos end
      from (select coalesce(sum(r.charge_nanos), 0)::int8 as charged
            from requests r where r.api_key_id = ${keyId}::uuid) u
      where k.id = ${keyId}::uuid
      returning k.*)
    select k.*, ${keySpendColumn(db, 'k')} from k`;
  return row ? apiKeyFromRow(row) : undefined;
}
