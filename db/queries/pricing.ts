import type { PricingRule } from '../../core/pricing.ts';
import type { Db } from '../sql.ts';

export type StoredPricingRule = PricingRule & { id: string; tenantId: string; createdAt: Date };

type RuleRow = {
  id: string;
  tenant_id: string;
  pattern: string;
  markup_bps: number;
  priority: number;
  created_at: Date;
};

function ruleFromRow(row: RuleRow): StoredPricingRule {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    pattern: row.pattern,
    markupBps: row.markup_bps,
    priority: row.priority,
    createdAt: row.created_at,
  };
}

/** One rule per pattern and tenant: setting it again replaces its markup and priority. */
export async function setPricingRule(db: Db, tenantId: string, rule: PricingRule): Promise<StoredPricingRule> {
  const [row] = await db<RuleRow[]>`
    insert into pricing_rules (tenant_id, pattern, markup_bps, priority)
    values (${tenantId}::uuid, ${rule.pattern}, ${rule.markupBps}, ${rule.priority})
    on conflict (tenant_id, pattern) do update set markup_bps = excluded.markup_bps, priority = excluded.priority
    returning *`;
  if (!row) throw new Error('pricing rule upsert returned nothing');
  return ruleFromRow(row);
}

export async function deletePricingRule(db: Db, tenantId: string, id: string): Promise<boolean> {
  const result = await db`delete from pricing_rules where tenant_id = ${tenantId}::uuid and id = ${id}::uuid`;
  return result.count > 0;
}

export async function listPricingRules(db: Db, tenantIds: readonly string[]): Promise<StoredPricingRule[]> {
  const rows = await db<RuleRow[]>`
    select * from pricing_rules where tenant_id = any(${tenantIds}::uuid[]) order by priority desc, length(pattern) desc, pattern`;
  return rows.map(ruleFromRow);
}
