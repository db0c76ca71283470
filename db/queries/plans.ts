import { isUuid, type Db } from '../sql.ts';
import { packFromRow, type CreditPack, type PackFields, type PackRow } from './credit-packs.ts';

/**
 * Monthly plans: what a tenant sells by subscription, the Stripe Price of each plan version, and
 * the tenant's rollover setting. Every plan function is scoped by tenant, like credit packs.
 */

/** A plan has a pack's fields (price, credit, active, order), billed every month instead of once. */
export type Plan = CreditPack;

const planFromRow = packFromRow;
type PlanRow = PackRow;

export async function listPlans(db: Db, tenantId: string, includeArchived: boolean): Promise<Plan[]> {
  const rows = await db<PlanRow[]>`
    select * from plans where tenant_id = ${tenantId}::uuid ${includeArchived ? db`` : db`and active`}
    order by sort_order, price_nanos, name`;
  return rows.map(planFromRow);
}

/** A plan of this tenant, or undefined for an unknown id or another tenant's plan. */
export async function findPlan(db: Db, tenantId: string, planId: string): Promise<Plan | undefined> {
  if (!isUuid(planId)) return undefined;
  const [row] = await db<PlanRow[]>`select * from plans where id = ${planId}::uuid and tenant_id = ${tenantId}::uuid`;
  return row ? planFromRow(row) : undefined;
}

export async function createPlan(db: Db, tenantId: string, fields: PackFields): Promise<Plan> {
  const [row] = await db<PlanRow[]>`
    insert into plans (tenant_id, name, price_nanos, credit_nanos, active, sort_order)
    values (${tenantId}::uuid, ${fields.name}, ${fields.priceNanos.toString()}::int8, ${fields.creditNanos.toString()}::int8, ${fields.active}, ${fields.sortOrder})
    returning *`;
  if (!row) throw new Error('plan insert returned nothing');
  return planFromRow(row);
}

/** Changes a plan for new subscriptions and plan changes; current subscribers keep the Stripe Price they pay. */
export async function updatePlan(
  db: Db,
  tenantId: string,
  planId: string,
  fields: PackFields,
): Promise<Plan | undefined> {
  const [row] = await db<PlanRow[]>`
    update plans set name = ${fields.name}, price_nanos = ${fields.priceNanos.toString()}::int8,
      credit_nanos = ${fields.creditNanos.toString()}::int8, active = ${fields.active}, sort_order = ${fields.sortOrder}, updated_at = now()
    where id = ${planId}::uuid and tenant_id = ${tenantId}::uuid
    returning *`;
  return row ? planFromRow(row) : undefined;
}

export type PlanPrice = { stripePriceId: string; planId: string; priceNanos: bigint; creditNanos: bigint };

type PriceRow = { stripe_price_id: string; plan_id: string; price_nanos: bigint; credit_nanos: bigint };

const priceFromRow = (row: PriceRow): PlanPrice => ({
  stripePriceId: row.stripe_price_id,
  planId: row.plan_id,
  priceNanos: row.price_nanos,
  creditNanos: row.credit_nanos,
});

/** The Stripe Price already made for this plan version, if any. */
export async function findPlanPrice(db: Db, plan: Plan): Promise<PlanPrice | undefined> {
  const [row] = await db<PriceRow[]>`
    select stripe_price_id, plan_id, price_nanos, credit_nanos from plan_prices
    where plan_id = ${plan.id}::uuid and price_nanos = ${plan.priceNanos.toString()}::int8 and credit_nanos = ${plan.creditNanos.toString()}::int8`;
  return row ? priceFromRow(row) : undefined;
}

/** Keeps the first price recorded for a plan version (concurrent creators got the same one from Stripe's idempotency key). */
export async function savePlanPrice(db: Db, price: PlanPrice): Promise<void> {
  await db`
    insert into plan_prices (stripe_price_id, plan_id, price_nanos, credit_nanos)
    values (${price.stripePriceId}, ${price.planId}::uuid, ${price.priceNanos.toString()}::int8, ${price.creditNanos.toString()}::int8)
    on conflict do nothing`;
}

/** The plan versions behind these Stripe Price ids (those Tollgate made). */
export async function planPricesByIds(db: Db, stripePriceIds: readonly string[]): Promise<PlanPrice[]> {
  if (stripePriceIds.length === 0) return [];
  const rows = await db<PriceRow[]>`
    select stripe_price_id, plan_id, price_nanos, credit_nanos from plan_prices where stripe_price_id = any(${[...stripePriceIds]}::text[])`;
  return rows.map(priceFromRow);
}

/** Whether unused plan credit carries over to the next period (the default) or is removed at renewal. */
export async function planCreditRollover(db: Db, tenantId: string): Promise<boolean> {
  const [row] = await db<
    { credit_rollover: boolean }[]
  >`select credit_rollover from plan_settings where tenant_id = ${tenantId}::uuid`;
  return row?.credit_rollover ?? true;
}

export async function setPlanCreditRollover(db: Db, tenantId: string, rollover: boolean): Promise<void> {
  await db`
    insert into plan_settings (tenant_id, credit_rollover) values (${tenantId}::uuid, ${rollover})
    on conflict (tenant_id) do update set credit_rollover = excluded.credit_rollover, updated_at = now()`;
}
