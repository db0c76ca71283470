import type { Db } from '../sql.ts';

/** Integrators' webhook endpoints: per account, or for a whole tenant (accountId null). */

export type WebhookEndpoint = {
  id: string;
  tenantId: string;
  accountId: string | null;
  url: string;
  events: string[];
  description: string;
  createdAt: Date;
  disabledAt: Date | null;
};

type Row = {
  id: string;
  tenant_id: string;
  account_id: string | null;
  url: string;
  events: string[];
  description: string;
  created_at: Date;
  disabled_at: Date | null;
};

const COLUMNS = 'id, tenant_id, account_id, url, events, description, created_at, disabled_at';

function fromRow(row: Row): WebhookEndpoint {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    accountId: row.account_id,
    url: row.url,
    events: row.events,
    description: row.description,
    createdAt: row.created_at,
    disabledAt: row.disabled_at,
  };
}

export type NewWebhookEndpoint = {
  tenantId: string;
  accountId: string | null;
  url: string;
  events: string[];
  description: string;
  secretSealed: string;
};

export async function createWebhookEndpoint(db: Db, input: NewWebhookEndpoint): Promise<WebhookEndpoint> {
  const [row] = await db<Row[]>`
    insert into webhook_endpoints (tenant_id, account_id, url, events, description, secret_sealed)
    values (${input.tenantId}::uuid, ${input.accountId}::uuid, ${input.url}, ${input.events}::text[],
            ${input.description}, ${input.secretSealed})
    returning ${db.unsafe(COLUMNS)}`;
  if (!row) throw new Error('webhook endpoint insert returned nothing');
  return fromRow(row);
}

/** Live endpoints of a tenant, or only those of one account. */
export async function listWebhookEndpoints(
  db: Db,
  tenantId: string,
  accountId: string | null,
): Promise<WebhookEndpoint[]> {
  const rows = await db<Row[]>`
    select ${db.unsafe(COLUMNS)} from webhook_endpoints
    where tenant_id = ${tenantId}::uuid and disabled_at is null
      ${accountId ? db`and account_id = ${accountId}::uuid` : db``}
    order by created_at desc`;
  return rows.map(fromRow);
}

export async function countWebhookEndpoints(db: Db, tenantId: string, accountId: string | null): Promise<number> {
  const [row] = await db<{ count: number }[]>`
    select count(*)::int as count from webhook_endpoints
    where tenant_id = ${tenantId}::uuid and disabled_at is null
      and ${accountId ? db`account_id = ${accountId}::uuid` : db`account_id is null`}`;
  return row?.count ?? 0;
}

/** A live endpoint of the tenant, or undefined (unknown, another tenant's, or removed). */
export async function findWebhookEndpoint(db: Db, tenantId: string, id: string): Promise<WebhookEndpoint | undefined> {
  const [row] = await db<Row[]>`
    select ${db.unsafe(COLUMNS)} from webhook_endpoints
    where id = ${id}::uuid and tenant_id = ${tenantId}::uuid and disabled_at is null`;
  return row ? fromRow(row) : undefined;
}

/** What a delivery needs: the URL and the sealed secret, even for an endpoint removed since. */
export async function endpointForDelivery(
  db: Db,
  id: string,
): Promise<{ url: string; secretSealed: string; disabled: boolean } | undefined> {
  const [row] = await db<{ url: string; secret_sealed: string; disabled: boolean }[]>`
    select url, secret_sealed, disabled_at is not null as disabled from webhook_endpoints where id = ${id}::uuid`;
  return row ? { url: row.url, secretSealed: row.secret_sealed, disabled: row.disabled } : undefined;
}

export async function disableWebhookEndpoint(db: Db, id: string): Promise<void> {
  await db`update webhook_endpoints set disabled_at = coalesce(disabled_at, now()) where id = ${id}::uuid`;
}
