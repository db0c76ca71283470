import { gql } from '$lib/server/api';
import { failure, fields, invalid } from '$lib/server/forms';
import type { Money } from '$lib/types';
import type { Actions, PageServerLoad } from './$types';

type Policy = {
  id: string;
  subjectKind: 'TENANT' | 'WHOLE_TENANT' | 'ACCOUNT' | 'API_KEY';
  subjectId: string;
  requestsPerMinute: number | null;
  requestsPerHour: number | null;
  tokensPerMinute: number | null;
  concurrentRequests: number | null;
  spendPerDay: Money | null;
  spendPerMonth: Money | null;
  updatedAt: string;
};

const COUNTS = ['requestsPerMinute', 'requestsPerHour', 'tokensPerMinute', 'concurrentRequests'] as const;
const MONEY = ['spendPerDay', 'spendPerMonth'] as const;
const USD_AMOUNT = /^\d{1,9}(\.\d{1,9})?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const load: PageServerLoad = async (event) => {
  const data = await gql<{ rateLimitPolicies: Policy[] }>(
    event,
    'query Policies { rateLimitPolicies { id subjectKind subjectId requestsPerMinute requestsPerHour tokensPerMinute concurrentRequests spendPerDay { nanos usd } spendPerMonth { nanos usd } updatedAt } }',
  );
  return { policies: data.rateLimitPolicies };
};

export const actions: Actions = {
  set: async (event) => {
    const values = await fields(event.request, ['subjectKind', 'subjectId', ...COUNTS, ...MONEY] as const);
    const kind = ['ACCOUNT', 'API_KEY', 'WHOLE_TENANT'].includes(values.subjectKind) ? values.subjectKind : 'TENANT';
    const tenantWide = kind === 'TENANT' || kind === 'WHOLE_TENANT';
    if (!tenantWide && !UUID.test(values.subjectId)) return invalid('subjectId', 'Paste the id of the account or API key (from the customers page or the API).', values, 'set');
    const limits: Record<string, number | { usd: string } | null> = {};
    for (const name of COUNTS) {
      const raw = values[name];
      if (raw && !/^\d{1,9}$/.test(raw)) return invalid(name, 'Use a whole number, or leave it empty for no limit.', values, 'set');
      limits[name] = raw ? Number(raw) : null;
    }
    for (const name of MONEY) {
      const raw = values[name].replace(/^\$/, '');
      if (raw && !USD_AMOUNT.test(raw)) return invalid(name, 'Use an amount in dollars, or leave it empty for no limit.', values, 'set');
      limits[name] = raw ? { usd: raw } : null;
    }
    try {
      await gql(event, 'mutation SetPolicy($kind: PolicySubjectKind!, $id: ID, $limits: RateLimitInput!) { setRateLimitPolicy(subjectKind: $kind, subjectId: $id, limits: $limits) { id } }', {
        kind,
        id: tenantWide ? null : values.subjectId,
        limits,
      });
      return { action: 'set', done: 'Policy saved; gateways apply it within seconds.' };
    } catch (error) {
      return failure(error, values, 'set');
    }
  },
  delete: async (event) => {
    const { id } = await fields(event.request, ['id'] as const);
    try {
      await gql(event, 'mutation DeletePolicy($id: ID!) { deleteRateLimitPolicy(id: $id) }', { id });
      return { action: 'delete', done: 'Policy deleted.' };
    } catch (error) {
      return failure(error, {}, 'delete');
    }
  },
};
