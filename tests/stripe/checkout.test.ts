import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { field } from './fake-stripe-form.ts';
import { PORTAL_URL, startStripeHarness, type Person, type StripeHarness } from './harness.ts';

/** Checkout: the catalog sets the price and credit; what Stripe receives is ours, never the client's. */

let h: StripeHarness;
let buyer: Person;

beforeAll(async () => {
  h = await startStripeHarness();
  buyer = await h.person();
});
afterAll(() => h.close());

const START = `mutation($p: ID, $c: AmountInput, $s: Boolean) {
  startCheckout(packId: $p, customAmount: $c, saveCard: $s) { url sessionId payment { id status price { usd } credit { usd } description } }
}`;
type Started = {
  startCheckout: {
    url: string;
    sessionId: string;
    payment: { id: string; status: string; price: { usd: string }; credit: { usd: string }; description: string };
  };
};

async function packId(name: string, tenantId = h.root.id): Promise<string> {
  const [pack] = await h.sql<
    { id: string }[]
  >`select id from credit_packs where tenant_id = ${tenantId}::uuid and name = ${name}`;
  if (!pack) throw new Error(`no pack ${name}`);
  return pack.id;
}

function sessionRequests() {
  return h.fake.requests.filter((r) => r.method === 'POST' && r.path === '/v1/checkout/sessions');
}

describe('purchase options', () => {
  test('every tenant starts with the default packs, bonus shown, and purchases available', async () => {
    const result = await h.gql<{
      purchaseOptions: {
        stripeAvailable: boolean;
        packs: { name: string; price: { usd: string }; credit: { usd: string }; bonus: { usd: string } }[];
        customAmount: null;
      };
    }>(
      '{ purchaseOptions { stripeAvailable customAmount { minimum { usd } } packs { name price { usd } credit { usd } bonus { usd } } } }',
      {},
      buyer.token,
    );
    expect(result.data?.purchaseOptions).toEqual({
      stripeAvailable: true,
      customAmount: null,
      packs: [
        { name: 'Starter', price: { usd: '10.00' }, credit: { usd: '10.00' }, bonus: { usd: '0.00' } },
        { name: 'Pro', price: { usd: '45.00' }, credit: { usd: '50.00' }, bonus: { usd: '5.00' } },
        { name: 'Enterprise', price: { usd: '160.00' }, credit: { usd: '200.00' }, bonus: { usd: '40.00' } },
      ],
    });
  });
});

describe('startCheckout', () => {
  test("sends the pack's price, the account and pack in metadata, an idempotency key and the portal's return URLs", async () => {
    const pro = await packId('Pro');
    const result = await h.gql<Started>(START, { p: pro }, buyer.token);
    const started = result.data?.startCheckout;
    expect(started).toMatchObject({
      payment: { status: 'OPEN', price: { usd: '45.00' }, credit: { usd: '50.00' }, description: 'Pro' },
    });
    expect(started?.url).toStartWith('https://checkout.stripe.test/c/pay/cs_');
    const sent = sessionRequests().at(-1);
    const paymentId = started?.payment.id ?? '';
    expect(sent?.idempotencyKey).toBe(`tollgate-checkout-${paymentId}`);
    expect(field(sent?.params, 'mode')).toBe('payment');
    expect(field(sent?.params, 'line_items', 0, 'price_data', 'unit_amount')).toBe('4500');
    expect(field(sent?.params, 'line_items', 0, 'price_data', 'currency')).toBe('usd');
    expect(field(sent?.params, 'line_items', 0, 'quantity')).toBe('1');
    expect(field(sent?.params, 'client_reference_id')).toBe(paymentId);
    for (const where of ['metadata', 'payment_intent_data'] as const) {
      const metadata =
        where === 'metadata'
          ? sent?.params.metadata
          : (sent?.params.payment_intent_data as Record<string, unknown> | undefined)?.metadata;
      expect(metadata).toEqual({
        tollgate_payment_id: paymentId,
        tollgate_account_id: buyer.account.id,
        tollgate_tenant_id: h.root.id,
        tollgate_pack_id: pro,
      });
    }
    expect(field(sent?.params, 'success_url')).toBe(`${PORTAL_URL}/billing/return?session_id={CHECKOUT_SESSION_ID}`);
    expect(field(sent?.params, 'cancel_url')).toBe(`${PORTAL_URL}/billing/return?status=cancelled`);
    expect(field(sent?.params, 'payment_intent_data', 'setup_future_usage')).toBeUndefined();
    const [row] = await h.sql<
      { checkout_session_id: string }[]
    >`select checkout_session_id from payments where id = ${paymentId}::uuid`;
    expect(row?.checkout_session_id).toBe(started?.sessionId ?? 'missing');
  });

  test('makes one Stripe customer per account, and saveCard asks Stripe to keep the card for off-session use', async () => {
    const customer = await h.person();
    await h.gql<Started>(START, { p: await packId('Starter') }, customer.token);
    await h.gql<Started>(START, { p: await packId('Starter'), s: true }, customer.token);
    const created = h.fake.requests.filter(
      (r) => r.path === '/v1/customers' && field(r.params, 'metadata', 'tollgate_account_id') === customer.account.id,
    );
    expect(created).toHaveLength(1);
    expect(created[0]?.idempotencyKey).toBe(`tollgate-customer-${customer.account.id}`);
    expect(field(sessionRequests().at(-1)?.params, 'payment_intent_data', 'setup_future_usage')).toBe('off_session');
    expect(field(sessionRequests().at(-1)?.params, 'customer')).toStartWith('cus_');
  });

  test('has no way to name a price: an amount argument is refused by the schema and nothing reaches Stripe', async () => {
    const before = sessionRequests().length;
    const result = await h.gql(
      'mutation($p: ID!) { startCheckout(packId: $p, amount: 1) { url } }',
      { p: await packId('Pro') },
      buyer.token,
    );
    expect(result.errors?.[0]?.message).toContain('Unknown argument "amount"');
    expect(sessionRequests()).toHaveLength(before);
  });

  test('refuses inactive packs, packs of another tenant, malformed ids, both or neither of pack and amount', async () => {
    const before = sessionRequests().length;
    const other = await h.sql<
      { id: string }[]
    >`insert into tenants (slug, name, markup_bps, parent_id) values ('other', 'Other', 0, ${h.root.id}::uuid) returning id`;
    const foreign = await packId('Pro', other[0]?.id);
    await h.sql`update credit_packs set active = false where id = ${await packId('Enterprise')}::uuid`;
    const cases = [
      { p: foreign },
      { p: await packId('Enterprise') },
      { p: await packId('Pro'), c: { usd: '20' } },
      {},
      { p: 'not-a-uuid' },
      { p: '-'.repeat(36) },
    ];
    for (const variables of cases) {
      const result = await h.gql(START, variables, buyer.token);
      expect(result.errors?.[0]?.extensions?.code).toBe('INVALID_INPUT');
    }
    await h.sql`update credit_packs set active = true where id = ${await packId('Enterprise')}::uuid`;
    expect(sessionRequests()).toHaveLength(before);
  });

  test("a custom amount must lie in the tenant's range, whole cents, and is credited one for one", async () => {
    const admin = await h.person('admin');
    expect((await h.gql(START, { c: { usd: '25' } }, buyer.token)).errors?.[0]?.extensions?.code).toBe('INVALID_INPUT');
    const set = await h.gql(
      'mutation { setCustomAmountRange(minimum: { usd: "5" }, maximum: { usd: "500" }) { minimum { usd } maximum { usd } } }',
      {},
      admin.token,
    );
    expect(set.data).toEqual({ setCustomAmountRange: { minimum: { usd: '5.00' }, maximum: { usd: '500.00' } } });
    for (const usd of ['4.99', '500.01', '25.001'])
      expect((await h.gql(START, { c: { usd } }, buyer.token)).errors?.[0]?.extensions?.field).toBe('customAmount');
    const result = await h.gql<Started>(START, { c: { usd: '25.50' } }, buyer.token);
    expect(result.data?.startCheckout.payment).toMatchObject({ price: { usd: '25.50' }, credit: { usd: '25.50' } });
    expect(field(sessionRequests().at(-1)?.params, 'line_items', 0, 'price_data', 'unit_amount')).toBe('2550');
  });

  test('a customer cannot manage packs; an admin creates, renames and deactivates one', async () => {
    const admin = await h.person('admin');
    const CREATE =
      'mutation($i: CreditPackInput!) { createCreditPack(input: $i) { id name price { usd } credit { usd } bonus { usd } active } }';
    const input = { name: 'Mega', price: { usd: '100' }, credit: { usd: '125' } };
    expect((await h.gql(CREATE, { i: input }, buyer.token)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const created = await h.gql<{ createCreditPack: { id: string; bonus: { usd: string } } }>(
      CREATE,
      { i: input },
      admin.token,
    );
    expect(created.data?.createCreditPack.bonus.usd).toBe('25.00');
    expect((await h.gql(CREATE, { i: input }, admin.token)).errors?.[0]?.extensions?.field).toBe('name');
    expect(
      (await h.gql(CREATE, { i: { ...input, name: 'Odd', price: { usd: '10.005' } } }, admin.token)).errors?.[0]
        ?.extensions?.field,
    ).toBe('price');
    const UPDATE = 'mutation($id: ID!, $i: CreditPackInput!) { updateCreditPack(id: $id, input: $i) { name active } }';
    const updated = await h.gql(
      UPDATE,
      { id: created.data?.createCreditPack.id, i: { ...input, name: 'Mega+', active: false } },
      admin.token,
    );
    expect(updated.data).toEqual({ updateCreditPack: { name: 'Mega+', active: false } });
    const visible = await h.gql<{ creditPacks: { name: string }[] }>('{ creditPacks { name } }', {}, buyer.token);
    expect(visible.data?.creditPacks.map((p) => p.name)).not.toContain('Mega+');
  });
});
