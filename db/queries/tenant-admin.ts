import type { Db } from '../sql.ts';
import { keysetTail, positionColumn, withPosition, type KeysetPage, type Positioned } from './keyset.ts';
import { tenantFromRow, type Tenant } from './tenants.ts';

/** Tenant settings a tenant's own admin changes, and the children a parent tenant manages. */

type TenantRow = Parameters<typeof tenantFromRow>[0];

export type TenantSettings = { name?: string; markupBps?: number };

export async function updateTenantSettings(
  db: Db,
  tenantId: string,
  settings: TenantSettings,
): Promise<Tenant | undefined> {
  const [row] = await db<TenantRow[]>`
    update tenants set name = coalesce(${settings.name ?? null}, name), markup_bps = coalesce(${settings.markupBps ?? null}::int4, markup_bps)
    where id = ${tenantId}::uuid returning *`;
  return row ? tenantFromRow(row) : undefined;
}

/** Replaces the branding document as a whole: the API validates its shape, the database keeps it. */
export async function setBranding(
  db: Db,
  tenantId: string,
  branding: Record<string, string | null>,
): Promise<Tenant | undefined> {
  const [row] = await db<TenantRow[]>`
    update tenants set branding = ${db.json(branding)} where id = ${tenantId}::uuid returning *`;
  return row ? tenantFromRow(row) : undefined;
}

/** Fails with a unique violation (23505) when another tenant already uses the domain. */
export async function setCustomDomain(db: Db, tenantId: string, domain: string | null): Promise<Tenant | undefined> {
  const [row] = await db<TenantRow[]>`
    update tenants set custom_domain = ${domain?.toLowerCase() ?? null} where id = ${tenantId}::uuid returning *`;
  return row ? tenantFromRow(row) : undefined;
}

/** A direct child of the parent, or undefined for an unknown id or any tenant elsewhere in the tree. */
export async function findChildTenant(db: Db, parentId: string, childId: string): Promise<Tenant | undefined> {
  const [row] = await db<
    TenantRow[]
  >`select * from tenants where id = ${childId}::uuid and parent_id = ${parentId}::uuid`;
  return row ? tenantFromRow(row) : undefined;
}

export async function listChildTenants(db: Db, parentId: string, page: KeysetPage): Promise<Positioned<Tenant>[]> {
  const rows = await db<(TenantRow & { position_at: string })[]>`
    select t.*, ${positionColumn(db, 't')} from tenants t where t.parent_id = ${parentId}::uuid ${keysetTail(db, page, 't', 'uuid')}`;
  return rows.map((row) => withPosition(row, tenantFromRow));
}

export async function setChildTenantStatus(
  db: Db,
  parentId: string,
  childId: string,
  status: 'active' | 'suspended',
): Promise<Tenant | undefined> {
  const [row] = await db<TenantRow[]>`
    update tenants set status = ${status} where id = ${childId}::uuid and parent_id = ${parentId}::uuid returning *`;
  return row ? tenantFromRow(row) : undefined;
}
