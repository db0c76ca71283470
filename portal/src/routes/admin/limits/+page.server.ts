import { gql } from '$lib/server/api';
import { accountEmails, keyLabels } from '$lib/server/names';
import { findSubject, subjectKind, suggestedEmails } from '$lib/server/subjects';
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

/** Names for the subjects of the policies: an account's e-mail, a key's name and its account's e-mail. */
async function subjectNames(event: Parameters<PageServerLoad>[0], policies: Policy[]): Promise<Record<string, string>> {
  const keys = await keyLabels(event, policies.filter((p) => p.subjectKind === 'API_KEY').map((p) => p.subjectId));
  const emails = await accountEmails(event, [...policies.filter((p) => p.subjectKind === 'ACCOUNT').map((p) => p.subjectId), ...Object.values(keys).map((k) => k.accountId)]);
  return Object.fromEntries(
    policies.map((p) => {
      const key = keys[p.subjectId];
      return [p.subjectId, p.subjectKind === 'API_KEY' ? (key ? `${key.label} of ${emails[key.accountId] ?? key.accountId}` : p.subjectId) : (emails[p.subjectId] ?? p.subjectId)];
    }),
  );
}

export const load: PageServerLoad = async (event) => {
  const data = await gql<{ rateLimitPolicies: Policy[] }>(
    event,
    'query Policies { rateLimitPolicies { id subjectKind subjectId requestsPerMinute requestsPerHour tokensPerMinute concurrentRequests spendPerDay { nanos usd } spendPerMonth { nanos usd } updatedAt } }',
  );
  // The form can arrive filled in: from a customer's page, or after "Show the keys of this customer".
  const kind = subjectKind(event.url.searchParams.get('kind'));
  const email = (event.url.searchParams.get('email') ?? '').trim();
  const [names, emails, subject] = await Promise.all([subjectNames(event, data.rateLimitPolicies), suggestedEmails(event), kind !== 'TENANT' && email ? findSubject(event, email) : null]);
  return {
    policies: data.rateLimitPolicies,
    names,
    emails,
    picked: { kind, email, key: event.url.searchParams.get('key') ?? '', subject, unknown: kind !== 'TENANT' && email !== '' && subject === null },
  };
};

export const actions: Actions = {
  set: async (event) => {
    const values = await fields(event.request, ['subjectKind', 'email', 'keyId', ...COUNTS, ...MONEY] as const);
    const kind = subjectKind(values.subjectKind);
    let subjectId: string | null = null;
    if (kind !== 'TENANT' && kind !== 'WHOLE_TENANT') {
      if (!values.email) return invalid('email', 'Enter the e-mail of the customer.', values, 'set');
      let subject: Awaited<ReturnType<typeof findSubject>>;
      try {
        subject = await findSubject(event, values.email);
      } catch (error) {
        return failure(error, values, 'set');
      }
      if (!subject) return invalid('email', `No account of yours has the e-mail ${values.email}.`, values, 'set');
      subjectId = subject.account.id;
      if (kind === 'API_KEY') {
        const key = subject.keys.find((k) => k.id === values.keyId);
        if (!key) return invalid('keyId', `Pick one of the keys of ${subject.account.email}.`, values, 'set');
        subjectId = key.id;
      }
    }
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
        id: subjectId,
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
