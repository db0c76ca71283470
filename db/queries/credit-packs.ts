import { isUuid, type Db } from '../sql.ts';

/**
 * Credit packs: what a tenant sells through Stripe Checkout. The price is what the customer pays
 * (whole cents), the credit what they receive; a credit above the price is a bonus. Every function
 * is scoped by tenant, so one tenant can never see or change another's packs.
 */

export type CreditPack = {
  id: string;
  tenantId: string;
  name: string;
  priceNanos: bigint;
  creditNanos: bigint;
  active: boolean;
  sortOrder: number;
  createdAt: Date;
};

/** The row shape of credit_packs, which monthly plans share. */
export type PackRow = {
  id: string;
  tenant_id: string;
  name: string;
  price_nanos: bigint;
  credit_nanos: bigint;
  active: boolean;
  sort_order: number;
  created_at: Date;
};

export function packFromRow(row: PackRow): CreditPack {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    priceNanos: row.price_nanos,
    creditNanos: row.credit_nanos,
    active: row.active,
    sortOrder: row.sort_order,
    createdAt: row.created_at,
  };
}

export async function listCreditPacks(db: Db, tenantId: string, includeInactive: boolean): Promise<CreditPack[]> {
  const rows = await db<PackRow[]>`
    select * from credit_packs where tenant_id = ${tenantId}::uuid ${includeInactive ? db`` : db`and active`}
    order by sort_order, price_nanos, name`;
  return rows.map(packFromRow);
}

/** A pack of this tenant, or undefined for an unknown id or another tenant's pack. */
export async function findCreditPack(db: Db, tenantId: string, packId: string): Promise<CreditPack | undefined> {
  if (!isUuid(packId)) return undefined;
  const [row] = await db<
    PackRow[]
  >`select * from credit_packs where id = ${packId}::uuid and tenant_id = ${tenantId}::uuid`;
  return row ? packFromRow(row) : undefined;
}

export type PackFields = { name: string; priceNanos: bigint; creditNanos: bigint; active: boolean; sortOrder: number };

export async function createCreditPack(db: Db, tenantId: string, fields: PackFields): Promise<CreditPack> {
  const [row] = await db<PackRow[]>`
    insert into credit_packs (tenant_id, name, price_nanos, credit_nanos, active, sort_order)
    values (${tenantId}::uuid, ${fields.name}, ${fields.priceNanos.toString()}::int8, ${fields.creditNanos.toString()}::int8, ${fields.active}, ${fields.sortOrder})
    returning *`;
  if (!row) throw new Error('credit pack insert returned nothing');
  return packFromRow(row);
}

/** Changes a pack; payments keep the price and credit they were made at, so past purchases are unaffected. */
export async function updateCreditPack(
  db: Db,
  tenantId: string,
  packId: string,
  fields: PackFields,
): Promise<CreditPack | undefined> {
  const [row] = await db<PackRow[]>`
    update credit_packs set name = ${fields.name}, price_nanos = ${fields.priceNanos.toString()}::int8,
      credit_nanos = ${fields.creditNanos.toString()}::int8, active = ${fields.active}, sort_order = ${fields.sortOrder}, updated_at = now()
    where id = ${packId}::uuid and tenant_id = ${tenantId}::uuid
    returning *`;
  return row ? packFromRow(row) : undefined;
}

export type CustomAmountRange = { minimumNanos: bigint; maximumNanos: bigint };

/** The tenant's custom-amount range, or undefined when it sells packs only. */
export async function customAmountRange(db: Db, tenantId: string): Promise<CustomAmountRange | undefined> {
  const [row] = await db<{ minimum_nanos: bigint; maximum_nanos: bigint }[]>`
    select minimum_nanos, maximum_nanos from custom_amount_ranges where tenant_id = ${tenantId}::uuid`;
  return row ? { minimumNanos: row.minimum_nanos, maximumNanos: row.maximum_nanos } : undefined;
}

/** Sets the range, or with null turns custom amounts off. */
export async function setCustomAmountRange(db: Db, tenantId: string, range: CustomAmountRange | null): Promise<void> {
  if (range === null) {
    await db`delete from custom_amount_ranges where tenant_id = ${tenantId}::uuid`;
    return;
  }
  await db`
    insert into custom_amount_ranges (tenant_id, minimum_nanos, maximum_nanos)
    values (${tenantId}::uuid, ${range.minimumNanos.toString()}::int8, ${range.maximumNanos.toString()}::int8)
    on conflict (tenant_id) do update set minimum_nanos = excluded.minimum_nanos, maximum_nanos = excluded.maximum_nanos, updated_at = now()`;
}
