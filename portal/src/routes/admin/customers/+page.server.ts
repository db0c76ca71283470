import { gql, pageQuery } from '$lib/server/api';
import { failure, fields, invalid } from '$lib/server/forms';
import type { Balance, Connection, Role, Status } from '$lib/types';
import type { Actions, PageServerLoad } from './$types';

const PAGE_SIZE = 25;
const SIGNED_USD = /^-?\d{1,9}(\.\d{1,9})?$/;

export type Customer = { id: string; email: string; displayName: string | null; role: Role; status: Status; createdAt: string; balance: Balance };

const LIST = `query Customers($search: String, $status: Status, $first: Int, $last: Int, $after: String, $before: String) {
  customers(search: $search, status: $status, first: $first, last: $last, after: $after, before: $before) {
    edges { node { id email displayName role status createdAt balance { available { nanos usd } held { nanos usd } paid { nanos usd } granted { nanos usd } } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

export const load: PageServerLoad = async (event) => {
  const search = (event.url.searchParams.get('q') ?? '').trim().slice(0, 200);
  const statusParam = event.url.searchParams.get('status');
  const status = statusParam === 'ACTIVE' || statusParam === 'SUSPENDED' ? statusParam : null;
  const before = event.url.searchParams.get('before');
  const page = before ? { last: PAGE_SIZE, before } : { first: PAGE_SIZE, after: event.url.searchParams.get('after') };
  const { customers } = await pageQuery<{ customers: Connection<Customer> }>(event, LIST, { search: search || null, status, ...page });
  return { customers: customers.edges.map((e) => e.node), pageInfo: customers.pageInfo, search, status, adjustmentKey: crypto.randomUUID() };
};

export const actions: Actions = {
  status: async (event) => {
    const { id, status } = await fields(event.request, ['id', 'status'] as const);
    try {
      const { setCustomerStatus } = await gql<{ setCustomerStatus: { email: string; status: Status } }>(
        event,
        'mutation SetStatus($id: ID!, $status: Status!) { setCustomerStatus(id: $id, status: $status) { email status } }',
        { id, status: status === 'SUSPENDED' ? 'SUSPENDED' : 'ACTIVE' },
      );
      return { action: `status:${id}`, done: `${setCustomerStatus.email} is ${setCustomerStatus.status === 'SUSPENDED' ? 'suspended' : 'active again'}.` };
    } catch (error) {
      return failure(error, {}, `status:${id}`);
    }
  },
  adjust: async (event) => {
    const values = await fields(event.request, ['id', 'amount', 'reason', 'funding', 'idempotencyKey'] as const);
    const action = `adjust:${values.id}`;
    const amount = values.amount.replace(/^\$/, '').replace(/^(-?)\$/, '$1');
    if (!SIGNED_USD.test(amount) || /^-?0*(\.0*)?$/.test(amount)) return invalid('amount', 'Enter an amount in dollars, like 10 or -2.50 to take credit back.', values, action);
    if (!values.reason) return invalid('reason', 'Say why: the reason is recorded in the ledger and shown to the customer.', values, action);
    try {
      const { adjustCredit } = await gql<{ adjustCredit: { applied: boolean } }>(
        event,
        'mutation Adjust($id: ID!, $input: AdjustmentInput!) { adjustCredit(accountId: $id, input: $input) { applied balance { available { usd } } } }',
        { id: values.id, input: { amount: { usd: amount }, reason: values.reason, funding: values.funding === 'PAID' ? 'PAID' : 'GRANTED', idempotencyKey: values.idempotencyKey } },
      );
      return { action, done: adjustCredit.applied ? `Credit adjusted by $${amount}.` : 'This adjustment had already been applied; nothing changed.' };
    } catch (error) {
      return failure(error, values, action);
    }
  },
  create: async (event) => {
    const values = await fields(event.request, ['email', 'displayName', 'password', 'role'] as const);
    if (!values.email) return invalid('email', 'Enter the customer’s e-mail.', values, 'create');
    try {
      await gql(event, 'mutation CreateCustomer($email: String!, $displayName: String, $password: String, $role: Role) { createCustomer(email: $email, displayName: $displayName, password: $password, role: $role) { id } }', {
        email: values.email,
        displayName: values.displayName || null,
        password: values.password || null,
        role: values.role === 'ADMIN' ? 'ADMIN' : 'CUSTOMER',
      });
      return { action: 'create', done: `Created ${values.email}.` };
    } catch (error) {
      return failure(error, { email: values.email, displayName: values.displayName }, 'create');
    }
  },
};
