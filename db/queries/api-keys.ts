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

/** A key row read with its spend (`keySpendColumn`), the form every ApiKey is made from. */
type SpentKeyRow = ApiKeyRow & { spend_nanos: bigint };

export function apiKeyFromRow(row: SpentKeyRow): ApiKey {
  return { ...principalKeyFromRow(row), spentNanos: row.spend_nanos, heldNanos: row.held_nanos };
}

/**
 * The key as authentication caches it: without its spend and holds, which change with every
 * request (read them fresh with `keySpend`).
 */
export type PrincipalKey = Omit<ApiKey, 'spentNanos' | 'heldNanos'>;

function principalKeyFromRow(row: ApiKeyRow): PrincipalKey {
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
    allowedModels: row.allowed_models,
  };
}

/**
 * A key's spend, the one figure every surface shows (`/v1/key`, GraphQL, the portal, the CLI),
 * as the column `spend_nanos` of the key row `alias`. A key with a credit cap keeps it as the
 * counter its cap is checked against (`spent_nanos`, moved by each settlement, started from the
 * usage log when the cap is set); any other key's is the sum of its charges in the usage log, so
 * no key-row update is on every request.
 */
export function keySpendColumn(db: Db, alias: string) {
  return db.unsafe(`case when ${alias}.credit_cap_nanos is null
      then (select coalesce(sum(r.charge_nanos), 0) from requests r where r.api_key_id = ${alias}.id)
      else ${alias}.spent_nanos end::int8 as spend_nanos`);
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
    const [row] = await db<SpentKeyRow[]>`
      insert into api_keys (account_id, public_id, hash, name, expires_at, credit_cap_nanos, allowed_models)
      values (${input.accountId}::uuid, ${publicId}, ${hashApiKey(key, pepper)}, ${input.name ?? ''}, ${input.expiresAt ?? null},
              ${input.creditCapNanos?.toString() ?? null}::int8, ${input.allowedModels ?? null}::text[])
      on conflict (public_id) do nothing
      returning *, 0::int8 as spend_nanos`;
    if (row) return { key, apiKey: apiKeyFromRow(row) };
  }
  throw new Error('could not allocate a unique key id');
}

export async function findApiKey(db: Db, idOrPublicId: string): Promise<ApiKey | undefined> {
  const [row] = isUuid(idOrPublicId)
    ? await db<SpentKeyRow[]>`select k.*, ${keySpendColumn(db, 'k')} from api_keys k where k.id = ${idOrPublicId}::uuid`
    : await db<
        SpentKeyRow[]
      >`select k.*, ${keySpendColumn(db, 'k')} from api_keys k where k.public_id = ${idOrPublicId}`;
  return row ? apiKeyFromRow(row) : undefined;
}

export async function listApiKeys(db: Db, accountId: string): Promise<ApiKey[]> {
  const rows = await db<SpentKeyRow[]>`
    select k.*, ${keySpendColumn(db, 'k')} from api_keys k
    where k.account_id = ${accountId}::uuid order by k.created_at desc`;
  return rows.map(apiKeyFromRow);
}

/** Revoking twice keeps the first revocation time. */
export async function revokeApiKey(db: Db, id: string): Promise<ApiKey | undefined> {
  const [row] = await db<SpentKeyRow[]>`
    with k as (update api_keys set revoked_at = coalesce(revoked_at, now()) where id = ${id}::uuid returning *)
    select k.*, ${keySpendColumn(db, 'k')} from k`;
  return row ? apiKeyFromRow(row) : undefined;
}

/** What the auth plugin needs to admit a request, in one indexed lookup by hash. */
export type KeyPrincipal = {
  key: PrincipalKey;
  accountStatus: 'active' | 'suspended';
  accountRole: string;
  tenantId: string;
  /** Suspended when the tenant or any tenant above it is (tenant_chain_status). */
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
    select k.*, a.status as account_status, a.role, a.tenant_id, tenant_chain_status(a.tenant_id) as tenant_status,
      w.id as wallet_id
    from api_keys k join accounts a on a.id = k.account_id join wallets w on w.account_id = a.id
    where k.hash = ${hash}`;
  if (!row) return undefined;
  return {
    key: principalKeyFromRow(row),
    accountStatus: row.account_status,
    accountRole: row.role,
    tenantId: row.tenant_id,
    tenantStatus: row.tenant_status,
    walletId: row.wallet_id,
  };
}

/** A key's cap, spend (`keySpendColumn`) and what its requests in flight reserve of the cap, read fresh. */
export type KeySpend = { creditCapNanos: bigint | null; spentNanos: bigint; heldNanos: bigint };

export async function keySpend(db: Db, apiKeyId: string): Promise<KeySpend | undefined> {
  const [row] = await db<{ credit_cap_nanos: bigint | null; held_nanos: bigint; spend_nanos: bigint }[]>`
    select k.credit_cap_nanos, k.held_nanos, ${keySpendColumn(db, 'k')} from api_keys k where k.id = ${apiKeyId}::uuid`;
  return row && { creditCapNanos: row.credit_cap_nanos, spentNanos: row.spend_nanos, heldNanos: row.held_nanos };
}

/** Batched so a busy key costs one write per flush, not one per request. */
export async function touchApiKeys(db: Db, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await db`update api_keys set last_used_at = now() where id = any(${ids}::uuid[])`;
}
