import { gql } from '$lib/server/api';
import { failure, fields, invalid } from '$lib/server/forms';
import { percentToBps } from '$lib/server/percent';
import type { ModelPrices } from '$lib/types';
import type { Actions, PageServerLoad } from './$types';

type Rule = { id: string; pattern: string; markupBps: number; priority: number; createdAt: string };
type PricedModel = { id: string; name: string; markupBps: number; price: ModelPrices; wholesalePrice: ModelPrices };

const PRICES = 'promptPerMillionTokens { nanos usd } completionPerMillionTokens { nanos usd } perRequest { nanos usd } perImage { nanos usd }';

export const load: PageServerLoad = async (event) => {
  const data = await gql<{ pricingRules: Rule[]; models: PricedModel[] }>(
    event,
    `query Pricing { pricingRules { id pattern markupBps priority createdAt } models { id name markupBps price { ${PRICES} } wholesalePrice { ${PRICES} } } }`,
  );
  return data;
};

export const actions: Actions = {
  markup: async (event) => {
    const { markup } = await fields(event.request, ['markup'] as const);
    const bps = percentToBps(markup);
    if (bps === null) return invalid('markup', 'Enter a percentage, like 20 or 12.5.', { markup }, 'markup');
    try {
      await gql(event, 'mutation Markup($bps: Int!) { updateTenant(markupBps: $bps) { id } }', { bps });
      return { action: 'markup', done: `Default markup set to ${markup.replace(/%$/, '')}%.` };
    } catch (error) {
      return failure(error, { markup }, 'markup');
    }
  },
  rule: async (event) => {
    const values = await fields(event.request, ['pattern', 'markup', 'priority'] as const);
    const bps = percentToBps(values.markup);
    if (!values.pattern) return invalid('pattern', 'Enter a model id or a pattern like openai/*.', values, 'rule');
    if (bps === null) return invalid('markup', 'Enter a percentage, like 20 or 12.5.', values, 'rule');
    const priority = values.priority ? Number(values.priority) : 0;
    if (!Number.isInteger(priority)) return invalid('priority', 'The priority is a whole number.', values, 'rule');
    try {
      await gql(event, 'mutation Rule($pattern: String!, $bps: Int!, $priority: Int) { setPricingRule(pattern: $pattern, markupBps: $bps, priority: $priority) { id } }', {
        pattern: values.pattern,
        bps,
        priority,
      });
      return { action: 'rule', done: `Rule for ${values.pattern} saved.` };
    } catch (error) {
      return failure(error, values, 'rule');
    }
  },
  deleteRule: async (event) => {
    const { id } = await fields(event.request, ['id'] as const);
    try {
      await gql(event, 'mutation DeleteRule($id: ID!) { deletePricingRule(id: $id) }', { id });
      return { action: 'deleteRule', done: 'Rule deleted.' };
    } catch (error) {
      return failure(error, {}, 'deleteRule');
    }
  },
};
