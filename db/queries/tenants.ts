import { inTransaction, isUuid, type Db, type TransactionSql } from '../sql.ts';

export type Tenant = {
  id: string;
  parentId: string | null;
  slug: string;
  name: string;
  markupBps: number;
  customDomain: string | null;
  branding: Record<string, unknown>;
  status: 'active' | 'suspended';
  createdAt: Date;
};

type TenantRow = {
  id: string;
  parent_id: string | null;
  slug: string;
  name: string;
  markup_bps: number;
  custom_domain: string | null;
  branding: Record<string, unknown>;
  status: 'active' | 'suspended';
  created_at: Date;
};

export const ROOT_TENANT_SLUG = 'root';

export function tenantFromRow(row: TenantRow): Tenant {
  return {
    id: row.id,
    parentId: row.parent_id,
    slug: row.slug,
    name: row.name,
    markupBps: row.markup_bps,
    customDomain: row.custom_domain,
    branding: row.branding,
    status: row.status,
    createdAt: row.created_at,
  };
}

/**
 * The books every tenant keeps (uncollected: what a settlement wrote off, db/functions/post_settlements.sql);
 * a reseller also has its prepaid wallet at its parent, the root the upstream book.
 */
async function createTenantWallets(tx: TransactionSql, tenantId: string, isRoot: boolean): Promise<void> {
  const kinds = ['revenue', 'clearing', 'promotion', 'adjustment', 'uncollected', isRoot ? 'upstream' : 'reseller'];
  await tx`insert into wallets (kind, tenant_id) select k, ${tenantId}::uuid from unnest(${kinds}::text[]) as k`;
}

export type NewTenant = {
  slug: string;
  name: string;
  markupBps: number;
  parentId: string | null;
  customDomain?: string | null;
};

export async function createTenant(db: Db, input: NewTenant): Promise<Tenant> {
  return inTransaction(db, async (tx) => {
    const [row] = await tx<TenantRow[]>`
      insert into tenants (slug, name, markup_bps, parent_id, custom_domain)
      values (${input.slug}, ${input.name}, ${input.markupBps}, ${input.parentId}, ${input.customDomain ?? null})
      returning *`;
    if (!row) throw new Error('tenant insert returned nothing');
    await createTenantWallets(tx, row.id, input.parentId === null);
    return tenantFromRow(row);
  });
}

/** The operator's root tenant, created on first start with the configured default markup. */
export async function ensureRootTenant(db: Db, defaultMarkupBps: number): Promise<Tenant> {
  const existing = await findRootTenant(db);
  if (existing) return existing;
  return inTransaction(db, async (tx) => {
    await tx`lock table tenants in share row exclusive mode`;
    const raced = await findRootTenant(tx);
    if (raced) return raced;
    return createTenant(tx, { slug: ROOT_TENANT_SLUG, name: 'Tollgate', markupBps: defaultMarkupBps, parentId: null });
  });
}

export async function findRootTenant(db: Db): Promise<Tenant | undefined> {
  const [row] = await db<TenantRow[]>`select * from tenants where parent_id is null`;
  return row ? tenantFromRow(row) : undefined;
}

export async function findTenant(db: Db, idOrSlug: string): Promise<Tenant | undefined> {
  const [row] = isUuid(idOrSlug)
    ? await db<TenantRow[]>`select * from tenants where id = ${idOrSlug}::uuid`
    : await db<TenantRow[]>`select * from tenants where slug = ${idOrSlug}`;
  return row ? tenantFromRow(row) : undefined;
}

/**
 * A tenant with the status that counts for using it: suspended when it or any tenant above it is
 * suspended (tenant_chain_status), so suspending a reseller stops its sub-resellers too.
 */
export async function findTenantInChain(
  db: Db,
  tenantId: string,
): Promise<{ tenant: Tenant; chainStatus: 'active' | 'suspended' } | undefined> {
  const [row] = await db<(TenantRow & { chain_status: 'active' | 'suspended' })[]>`
    select t.*, tenant_chain_status(t.id) as chain_status from tenants t where t.id = ${tenantId}::uuid`;
  return row ? { tenant: tenantFromRow(row), chainStatus: row.chain_status } : undefined;
}

export async function findTenantByDomain(db: Db, domain: string): Promise<Tenant | undefined> {
  const [row] = await db<TenantRow[]>`select * from tenants where custom_domain = ${domain.toLowerCase()}`;
  return row ? tenantFromRow(row) : undefined;
}

export async function listTenants(db: Db): Promise<Tenant[]> {
  const rows = await db<TenantRow[]>`select * from tenants order by created_at, slug`;
  return rows.map(tenantFromRow);
}

/** The tenant and its ancestors, root first: the order in which markups apply. */
export async function tenantChain(db: Db, tenantId: string): Promise<Tenant[]> {
  const rows = await db<(TenantRow & { depth: number })[]>`
    with recursive chain as (
      select t.*, 0 as depth from tenants t where t.id = ${tenantId}::uuid
      union all
      select p.*, c.depth + 1 from tenants p join chain c on p.id = c.parent_id where c.depth < 32
    )
    select * from chain order by depth desc`;
  return rows.map(tenantFromRow);
}

export type TenantBook = 'revenue' | 'clearing' | 'promotion' | 'adjustment' | 'uncollected' | 'upstream' | 'reseller';

export async function tenantWalletId(db: Db, tenantId: string, kind: TenantBook): Promise<bigint> {
  const [row] = await db<
    { id: bigint }[]
  >`select id from wallets where tenant_id = ${tenantId}::uuid and kind = ${kind}`;
  if (!row) throw new Error(`tenant ${tenantId} has no ${kind} wallet`);
  return row.id;
}
