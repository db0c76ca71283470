import { generateApiKey, hashApiKey } from '../../core/api-key.ts';
import { isUuid, type Db } from '../sql.ts';

export type ApiKey = {
  id: string;
  accountId: string;
  publicId: string;
  name: string;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
  creditCapNanos: bigint | null;
  spentNanos: bigint;
  heldNanos: bigint;
  allowedModels: string[] | null;
};

type ApiKeyRow = {
  id: string;
  account_id: string;
  public_id: string;
  name: string;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  credit_cap_nanos: bigint | null;
  spent_nanos: bigint;
  held_nanos: bigint;
  allowed_models: string[] | null;
};

export function apiKeyFromRow(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    accountId: row.account_id,
    publicId: row.public_id,
    name: row.name,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
    creditCapNanos: row.credit_cap_nanos,
    spentNanos: row.spent_nanos,
    heldNanos: row.held_nanos,
    allowedModels: row.allowed_models,
  };
}

export type NewApiKey = {
  accountId: string;
  name?: string;
  expiresAt?: Date | null;
  creditCapNanos?: bigint | null;
  allowedModels?: string[] | null;
};
const PUBLIC_ID_ATTEMPTS = 5;

/** Creates a key and returns its secret, which is never stored and cannot be shown again. */
export async function createApiKey(db: Db, pepper: string, input: NewApiKey): Promise<{ key: string; apiKey: ApiKey }> {
  for (let attempt = 1; attempt <= PUBLIC_ID_ATTEMPTS; attempt++) {
    const { key, publicId } = generateApiKey();
    const [row] = await db<ApiKeyRow[]>`
      insert into api_keys (account_id, public_id, hash, name, expires_at, credit_cap_nanos, allowed_models)
      values (${input.accountId}::uuid, ${publicId}, ${hashApiKey(key, pepper)}, ${input.name ?? ''}, ${input.expiresAt ?? null},
              ${input.creditCapNanos?.toString() ?? null}::int8, ${input.allowedModels ?? null}::text[])
      on conflict (public_id) do nothing
      returning *`;
    if (row) return { key, apiKey: apiKeyFromRow(row) };
  }
  throw new Error('could not allocate a unique key id');
}

export async function findApiKey(db: Db, idOrPublicId: string): Promise<ApiKey | undefined> {
  const [row] = isUuid(idOrPublicId)
    ? await db<ApiKeyRow[]>`select * from api_keys where id = ${idOrPublicId}::uuid`
    : await db<ApiKeyRow[]>`select * from api_keys where public_id = ${idOrPublicId}`;
  return row ? apiKeyFromRow(row) : undefined;
}

export async function listApiKeys(db: Db, accountId: string): Promise<ApiKey[]> {
  const rows = await db<
    ApiKeyRow[]
  >`select * from api_keys where account_id = ${accountId}::uuid order by created_at desc`;
  return rows.map(apiKeyFromRow);
}

/** Revoking twice keeps the first revocation time. */
export async function revokeApiKey(db: Db, id: string): Promise<ApiKey | undefined> {
  const [row] = await db<ApiKeyRow[]>`
    update api_keys set revoked_at = coalesce(revoked_at, now()) where id = ${id}::uuid returning *`;
  return row ? apiKeyFromRow(row) : undefined;
}

/** What the auth plugin needs to admit a request, in one indexed lookup by hash. */
export type KeyPrincipal = {
  key: ApiKey;
  accountStatus: 'active' | 'suspended';
  accountRole: string;
  tenantId: string;
  tenantStatus: 'active' | 'suspended';
  walletId: bigint;
};

export async function findKeyPrincipal(db: Db, hash: Buffer): Promise<KeyPrincipal | undefined> {
  const [row] = await db<
    (ApiKeyRow & {
      account_status: 'active' | 'suspended';
      role: string;
      tenant_id: string;
      tenant_status: 'active' | 'suspended';
      wallet_id: bigint;
    })[]
  >`
    select k.*, a.status as account_status, a.role, a.tenant_id, t.status as tenant_status, w.id as wallet_id
    from api_keys k join accounts a on a.id = k.account_id join tenants t on t.id = a.tenant_id join wallets w on w.account_id = a.id
    where k.hash = ${hash}`;
  if (!row) return undefined;
  return {
    key: apiKeyFromRow(row),
    accountStatus: row.account_status,
    accountRole: row.role,
    tenantId: row.tenant_id,
    tenantStatus: row.tenant_status,
    walletId: row.wallet_id,
  };
}

/**
 * A key's spend, the one figure every surface shows (`/v1/key`, GraphQL, the portal, the CLI): a
 * key with a credit cap keeps it as the counter its cap is checked against (`spent_nanos`, moved
 * by each settlement); any other key's is the sum of its charges in the usage log, so no key-row
 * update is on every request. `held` is what its requests in flight reserve of its cap.
 */
export type KeySpend = { creditCapNanos: bigint | null; spentNanos: bigint; heldNanos: bigint };

export async function keySpend(db: Db, apiKeyId: string): Promise<KeySpend | undefined> {
  const [row] = await db<{ cap: bigint | null; spent: bigint; held: bigint }[]>`
    select k.credit_cap_nanos as cap, k.held_nanos as held,
      case when k.credit_cap_nanos is null
        then (select coalesce(sum(r.charge_nanos), 0) from requests r where r.api_key_id = k.id)
        else k.spent_nanos end::int8 as spent
    from api_keys k where k.id = ${apiKeyId}::uuid`;
  return row && { creditCapNanos: row.cap, spentNanos: row.spent, heldNanos: row.held };
}

/** Batched so a busy key costs one write per flush, not one per request. */
export async function touchApiKeys(db: Db, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await db`update api_keys set last_used_at = now() where id = any(${ids}::uuid[])`;
}
