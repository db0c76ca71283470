import { gql } from '$lib/server/api';
import { failure, fields, invalid } from '$lib/server/forms';
import { PACK_FIELDS, packInput, usdCents } from '$lib/server/pack-input';
import type { Money } from '$lib/types';
import type { Actions, PageServerLoad } from './$types';

type Pack = { id: string; name: string; price: Money; credit: Money; bonus: Money; active: boolean; sortOrder: number };

const MONEY = '{ nanos usd }';

export const load: PageServerLoad = async (event) => {
  const data = await gql<{ creditPacks: Pack[]; purchaseOptions: { stripeAvailable: boolean; customAmount: { minimum: Money; maximum: Money } | null } }>(
    event,
    `query AdminPacks { creditPacks(includeInactive: true) { id name active sortOrder price ${MONEY} credit ${MONEY} bonus ${MONEY} } purchaseOptions { stripeAvailable customAmount { minimum ${MONEY} maximum ${MONEY} } } }`,
  );
  return { packs: data.creditPacks, stripeAvailable: data.purchaseOptions.stripeAvailable, customAmount: data.purchaseOptions.customAmount };
};

export const actions: Actions = {
  create: async (event) => {
    const values = await fields(event.request, PACK_FIELDS);
    const parsed = packInput(values, 'pack');
    if ('field' in parsed) return invalid(parsed.field, parsed.message, values, 'create');
    try {
      await gql(event, 'mutation CreatePack($input: CreditPackInput!) { createCreditPack(input: $input) { id } }', { input: parsed.input });
      return { action: 'create', done: `Pack “${values.name}” created.` };
    } catch (error) {
      return failure(error, values, 'create');
    }
  },
  update: async (event) => {
    const values = await fields(event.request, ['id', ...PACK_FIELDS] as const);
    const parsed = packInput(values, 'pack');
    const action = `update:${values.id}`;
    if ('field' in parsed) return invalid(parsed.field, parsed.message, values, action);
    try {
      await gql(event, 'mutation UpdatePack($id: ID!, $input: CreditPackInput!) { updateCreditPack(id: $id, input: $input) { id } }', { id: values.id, input: parsed.input });
      return { action, done: `Pack “${values.name}” saved.` };
    } catch (error) {
      return failure(error, values, action);
    }
  },
  range: async (event) => {
    const values = await fields(event.request, ['minimum', 'maximum'] as const);
    const minimum = values.minimum.replace(/^\$/, '');
    const maximum = values.maximum.replace(/^\$/, '');
    const off = !minimum && !maximum;
    if (!off && (!usdCents(minimum) || !usdCents(maximum))) return invalid('minimum', 'Enter both amounts in dollars, or leave both empty to turn custom amounts off.', values, 'range');
    try {
      await gql(event, 'mutation Range($min: AmountInput, $max: AmountInput) { setCustomAmountRange(minimum: $min, maximum: $max) { minimum { usd } } }', {
        min: off ? null : { usd: minimum },
        max: off ? null : { usd: maximum },
      });
      return { action: 'range', done: off ? 'Custom amounts are off.' : `Customers can buy from $${minimum} to $${maximum}.` };
    } catch (error) {
      return failure(error, values, 'range');
    }
  },
};
