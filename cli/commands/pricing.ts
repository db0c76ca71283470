import { listPricingRules, setPricingRule, type StoredPricingRule } from '../../db/queries/pricing.ts';
import { optionalString, requiredString } from '../args.ts';
import type { Command } from '../command.ts';
import { UsageError } from '../errors.ts';
import { fields, formatDate, formatPercent, table } from '../format.ts';
import { tenantOption } from '../resolve.ts';
import { integer, markupPercent } from '../values.ts';

const SET = 'pricing set';
const MAX_PATTERN_LENGTH = 200;
const MAX_PRIORITY = 1_000_000;

function ruleJson(rule: StoredPricingRule) {
  return {
    id: rule.id,
    tenantId: rule.tenantId,
    pattern: rule.pattern,
    markupBps: rule.markupBps,
    markupPercent: formatPercent(rule.markupBps),
    priority: rule.priority,
    createdAt: rule.createdAt,
  };
}

export const pricingSetCommand: Command = {
  name: SET,
  summary: "set a tenant's markup for the models matching a glob (setting the same pattern again replaces it)",
  options: {
    pattern: {
      type: 'string',
      value: 'GLOB',
      help: "model ids to match: * is any run of characters, ? one, e.g. 'openai/gpt-4*' (required)",
    },
    'markup-percent': {
      type: 'string',
      value: 'PCT',
      help: 'markup on what the tenant pays, e.g. 25 or 12.5 (required)',
    },
    priority: {
      type: 'string',
      value: 'N',
      help: 'the highest priority among matching rules wins, then the longest pattern (default: 0)',
    },
    tenant: { type: 'string', value: 'SLUG|ID', help: 'tenant whose prices these are (default: root)' },
  },
  prepare: (args) => {
    const pattern = requiredString(args, 'pattern');
    if (pattern.length > MAX_PATTERN_LENGTH)
      throw new UsageError(`${SET}: --pattern must be at most ${MAX_PATTERN_LENGTH} characters`);
    const markupBps = markupPercent(SET, 'markup-percent', requiredString(args, 'markup-percent'));
    const priorityText = optionalString(args, 'priority');
    const priority =
      priorityText === undefined ? 0 : integer(SET, 'priority', priorityText, -MAX_PRIORITY, MAX_PRIORITY);
    const tenantRef = optionalString(args, 'tenant');
    return async (session) => {
      const tenant = await tenantOption(session, SET, tenantRef);
      const rule = await setPricingRule(session.db.sql, tenant.id, { pattern, markupBps, priority });
      const text = fields([
        ['pricing rule', rule.pattern],
        ['tenant', tenant.slug],
        ['markup', `${formatPercent(rule.markupBps)}%`],
        ['priority', String(rule.priority)],
      ]);
      return { json: { ...ruleJson(rule), tenantSlug: tenant.slug }, text };
    };
  },
};

export const pricingListCommand: Command = {
  name: 'pricing list',
  summary: "list a tenant's pricing rules in the order they are tried, and its default markup",
  options: {
    tenant: { type: 'string', value: 'SLUG|ID', help: 'tenant (default: root)' },
  },
  prepare: (args) => {
    const tenantRef = optionalString(args, 'tenant');
    return async (session) => {
      const tenant = await tenantOption(session, 'pricing list', tenantRef);
      const rules = await listPricingRules(session.db.sql, [tenant.id]);
      const rows = rules.map((rule) => [
        rule.pattern,
        `${formatPercent(rule.markupBps)}%`,
        String(rule.priority),
        formatDate(rule.createdAt),
      ]);
      const defaultLine = `default markup for ${tenant.slug} (no rule matches): ${formatPercent(tenant.markupBps)}%`;
      return {
        json: {
          tenantId: tenant.id,
          tenantSlug: tenant.slug,
          defaultMarkupBps: tenant.markupBps,
          defaultMarkupPercent: formatPercent(tenant.markupBps),
          rules: rules.map(ruleJson),
        },
        text: `${table(['PATTERN', 'MARKUP', 'PRIORITY', 'CREATED'], rows, `no pricing rules for ${tenant.slug}`)}\n${defaultLine}`,
      };
    };
  },
};
