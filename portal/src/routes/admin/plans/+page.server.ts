import { gql } from '$lib/server/api';
import { failure, fields, invalid } from '$lib/server/forms';
import { PACK_FIELDS, packInput } from '$lib/server/pack-input';
import type { Money } from '$lib/types';
import type { Actions, PageServerLoad } from './$types';

/** Monthly plans in the console: create, change, archive or sell again, and the rollover rule. */

export type AdminPlan = {
  id: string;
  name: string;
  price: Money;
  credit: Money;
  bonus: Money;
  active: boolean;
  sortOrder: number;
};

const MONEY = '{ nanos usd }';

export const load: PageServerLoad = async (event) => {
  const data = await gql<{
    plans: AdminPlan[];
    planCreditRollover: boolean;
    purchaseOptions: { stripeAvailable: boolean };
  }>(
    event,
    `query AdminPlans { plans(includeArchived: true) { id name active sortOrder price ${MONEY} credit ${MONEY} bonus ${MONEY} } planCreditRollover purchaseOptions { stripeAvailable } }`,
  );
  return {
    plans: data.plans,
    rollover: data.planCreditRollover,
    stripeAvailable: data.purchaseOptions.stripeAvailable,
  };
};

export const actions: Actions = {
  create: async (event) => {
    const values = await fields(event.request, PACK_FIELDS);
    const parsed = packInput(values, 'plan');
    if ('field' in parsed) return invalid(parsed.field, parsed.message, values, 'create');
    try {
      await gql(event, 'mutation CreatePlan($input: PlanInput!) { createPlan(input: $input) { id } }', {
        input: parsed.input,
      });
      return {
        action: 'create',
        done: `Plan “${values.name}” created: customers can subscribe on their billing page.`,
      };
    } catch (error) {
      return failure(error, values, 'create');
    }
  },
  update: async (event) => {
    const values = await fields(event.request, ['id', ...PACK_FIELDS] as const);
    const parsed = packInput(values, 'plan');
    const action = `update:${values.id}`;
    if ('field' in parsed) return invalid(parsed.field, parsed.message, values, action);
    try {
      await gql(
        event,
        'mutation UpdatePlan($id: ID!, $input: PlanInput!) { updatePlan(id: $id, input: $input) { id } }',
        { id: values.id, input: parsed.input },
      );
      return {
        action,
        done: `Plan “${values.name}” saved${values.active === 'on' ? '' : ' and no longer sold; its subscribers keep it'}.`,
      };
    } catch (error) {
      return failure(error, values, action);
    }
  },
  rollover: async (event) => {
    const { rollover } = await fields(event.request, ['rollover'] as const);
    try {
      await gql(event, 'mutation Rollover($r: Boolean!) { setPlanCreditRollover(rollover: $r) }', {
        r: rollover === 'on',
      });
      return {
        action: 'rollover',
        done:
          rollover === 'on' ? 'Unused plan credit now carries over.' : 'Unused plan credit now ends with its month.',
      };
    } catch (error) {
      return failure(error, {}, 'rollover');
    }
  },
};
