import { gql } from '$lib/server/api';
import { failure, fields, invalid } from '$lib/server/forms';
import { percentToBps } from '$lib/server/percent';
import type { Balance, Connection, Money, Status } from '$lib/types';
import type { Actions, PageServerLoad } from './$types';

type Child = { id: string; name: string; slug: string; status: Status; markupBps: number; customDomain: string | null; createdAt: string; wholesaleBalance: Balance; wholesaleSpend: Money };

const PAGE_SIZE = 50;
const SIGNED_USD = /^-?\d{1,9}(\.\d{1,9})?$/;

export const load: PageServerLoad = async (event) => {
  const { childTenants } = await gql<{ childTenants: Connection<Child> }>(
    event,
    `query Children($first: Int!) { childTenants(first: $first) { edges { node { id name slug status markupBps customDomain createdAt wholesaleBalance { available { nanos usd } held { nanos usd } paid { nanos usd } granted { nanos usd } } wholesaleSpend { nanos usd } } } } }`,
    { first: PAGE_SIZE },
  );
  return { children: childTenants.edges.map((e) => e.node), adjustmentKey: crypto.randomUUID() };
};

export const actions: Actions = {
  create: async (event) => {
    const values = await fields(event.request, ['name', 'slug', 'markup', 'adminEmail', 'adminPassword', 'customDomain'] as const);
    const kept = { name: values.name, slug: values.slug, markup: values.markup, adminEmail: values.adminEmail, customDomain: values.customDomain };
    const bps = percentToBps(values.markup);
    if (!values.name) return invalid('name', 'Name the reseller.', kept, 'create');
    if (bps === null) return invalid('markupBps', 'Enter a percentage, like 20.', kept, 'create');
    try {
      await gql(event, 'mutation CreateChild($input: NewChildTenantInput!) { createChildTenant(input: $input) { tenant { id } } }', {
        input: { name: values.name, slug: values.slug.toLowerCase(), markupBps: bps, adminEmail: values.adminEmail, adminPassword: values.adminPassword, customDomain: values.customDomain || null },
      });
      const where = values.customDomain
        ? ` with ${values.customDomain.toLowerCase()} claimed (its administrator proves it on the branding page, then points its DNS here)`
        : '';
      return { action: 'create', done: `Created ${values.name}${where}; ${values.adminEmail} can sign in as its administrator.` };
    } catch (error) {
      return failure(error, kept, 'create');
    }
  },
  status: async (event) => {
    const { id, status } = await fields(event.request, ['id', 'status'] as const);
    try {
      await gql(event, 'mutation ChildStatus($id: ID!, $status: Status!) { setChildTenantStatus(id: $id, status: $status) { id } }', { id, status: status === 'SUSPENDED' ? 'SUSPENDED' : 'ACTIVE' });
      return { action: `status:${id}`, done: status === 'SUSPENDED' ? 'Reseller suspended.' : 'Reseller reactivated.' };
    } catch (error) {
      return failure(error, {}, `status:${id}`);
    }
  },
  adjust: async (event) => {
    const values = await fields(event.request, ['id', 'amount', 'reason', 'idempotencyKey'] as const);
    const action = `adjust:${values.id}`;
    const amount = values.amount.replace(/^\$/, '');
    if (!SIGNED_USD.test(amount)) return invalid('amount', 'Enter an amount in dollars, like 100 or -20.', values, action);
    if (!values.reason) return invalid('reason', 'Say why; the reason goes in the ledger.', values, action);
    try {
      await gql(event, 'mutation Wholesale($id: ID!, $input: AdjustmentInput!) { adjustWholesaleCredit(childTenantId: $id, input: $input) { applied } }', {
        id: values.id,
        input: { amount: { usd: amount }, reason: values.reason, funding: 'PAID', idempotencyKey: values.idempotencyKey },
      });
      return { action, done: `Wholesale credit adjusted by $${amount}.` };
    } catch (error) {
      return failure(error, values, action);
    }
  },
};
