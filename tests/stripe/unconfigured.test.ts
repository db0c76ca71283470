import { afterAll, beforeAll, expect, test } from 'bun:test';
import { startStripeHarness, type StripeHarness } from './harness.ts';

/** Without STRIPE_* the platform works; purchases say they are unavailable and the webhook answers 503. */

let h: StripeHarness;

beforeAll(async () => {
  h = await startStripeHarness({
    STRIPE_SECRET_KEY: '',
    STRIPE_WEBHOOK_SECRET: '',
    STRIPE_WEBHOOK_SECRET_PREVIOUS: '',
    STRIPE_API_BASE_URL: '',
  });
});
afterAll(() => h.close());

test('the webhook route answers 503 with an OpenAI-style error and records nothing', async () => {
  const answer = await h.deliver({
    id: 'evt_unconfigured',
    object: 'event',
    type: 'checkout.session.completed',
    created: 1,
    data: { object: {} },
  });
  expect(answer.status).toBe(503);
  expect(answer.body).toMatchObject({ error: { code: 'payments_not_configured', type: 'server_error' } });
  expect(await h.sql`select 1 from stripe_events`).toHaveLength(0);
});

test('purchase options say purchases are unavailable and still list the packs', async () => {
  const person = await h.person();
  const result = await h.gql<{
    purchaseOptions: { stripeAvailable: boolean; publishableKey: string | null; packs: { name: string }[] };
  }>('{ purchaseOptions { stripeAvailable publishableKey packs { name } } }', {}, person.token);
  expect(result.data?.purchaseOptions).toEqual({
    stripeAvailable: false,
    publishableKey: null,
    packs: [{ name: 'Starter' }, { name: 'Pro' }, { name: 'Enterprise' }],
  });
});

test('starting a checkout is a typed PAYMENTS_UNAVAILABLE error, and nothing reaches Stripe', async () => {
  const person = await h.person();
  const [pack] = await h.sql<
    { id: string }[]
  >`select id from credit_packs where tenant_id = ${h.root.id}::uuid and name = 'Pro'`;
  const result = await h.gql('mutation($p: ID!) { startCheckout(packId: $p) { url } }', { p: pack?.id }, person.token);
  expect(result.errors?.[0]?.extensions?.code).toBe('PAYMENTS_UNAVAILABLE');
  expect(h.fake.requests).toHaveLength(0);
  expect(await h.sql`select 1 from payments`).toHaveLength(0);
});

test('admins still manage packs, and the rest of the API works', async () => {
  const admin = await h.person('admin');
  const packs = await h.gql<{ creditPacks: { name: string }[] }>(
    '{ creditPacks(includeInactive: true) { name } }',
    {},
    admin.token,
  );
  expect(packs.data?.creditPacks).toHaveLength(3);
  const viewer = await h.gql<{ viewer: { kind: string } }>('{ viewer { kind } }', {}, admin.token);
  expect(viewer.data?.viewer.kind).toBe('ACCOUNT');
});
