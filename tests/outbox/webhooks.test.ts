import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { verifySignature } from '../../notify/webhook-signature.ts';
import { eventually } from '../gateway/harness.ts';
import type { Person } from '../stripe/harness.ts';
import { settle, startOutboxHarness, type OutboxHarness } from './harness.ts';
import { startReceiver, type Receiver } from './receiver.ts';

/** Signed webhooks delivered to a real receiver on loopback (private targets allowed, as an operator may). */

let o: OutboxHarness;
let receiver: Receiver;
beforeAll(async () => {
  o = await startOutboxHarness({ TOLLGATE_OUTBOUND_ALLOW_PRIVATE: 'on' });
  receiver = startReceiver();
});
afterAll(async () => {
  await o.close();
  await receiver.close();
});

const CREATE = `mutation($u: String!, $e: [String!]!, $w: Boolean) {
  createWebhookEndpoint(url: $u, events: $e, tenantWide: $w) { secret endpoint { id url events accountId } }
}`;
type Created = { createWebhookEndpoint: { secret: string; endpoint: { id: string; accountId: string | null } } };

async function endpoint(person: Person, path: string, events: string[]): Promise<Created['createWebhookEndpoint']> {
  const result = await o.h.gql<Created>(CREATE, { u: `${receiver.url}${path}`, e: events }, person.token);
  if (!result.data) throw new Error(`endpoint not created: ${JSON.stringify(result.errors)}`);
  return result.data.createWebhookEndpoint;
}

const at = (path: string) => () => Promise.resolve(receiver.received.filter((r) => r.path === path));

describe('deliveries', () => {
  test('an endpoint receives payment.succeeded with a valid Tollgate-Signature', async () => {
    const buyer = await o.h.person();
    const { secret } = await endpoint(buyer, '/paid', ['payment.succeeded']);
    expect(secret).toStartWith('tgwh_');
    await o.h.deliver(o.h.fake.pay(await o.h.checkout(buyer, 'Starter')));
    const [delivery] = await eventually(at('/paid'), (list) => list.length === 1);
    const header = delivery?.headers.get('tollgate-signature') ?? '';
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifySignature(header, delivery?.body ?? '', secret)).toBe(true);
    expect(verifySignature(header, delivery?.body ?? '', 'tgwh_someoneElsesSecret')).toBe(false);
    expect(verifySignature(header, `${delivery?.body} `, secret)).toBe(false);
    const body = JSON.parse(delivery?.body ?? '{}');
    expect(body).toMatchObject({
      type: 'payment.succeeded',
      data: { accountId: buyer.account.id, amount: { usd: '10.00' }, credit: { usd: '10.00' }, kind: 'checkout' },
    });
    expect(body.id).toBe(delivery?.headers.get('tollgate-event-id'));
    expect(delivery?.headers.get('tollgate-event-type')).toBe('payment.succeeded');
  });

  test('a receiver answering 500 gets retries, then success, and the event id only once after that', async () => {
    const owner = await o.h.person();
    const { endpoint: hook } = await endpoint(owner, '/flaky', ['key.created', 'key.revoked']);
    receiver.answers.push(500, 500);
    await o.h.gql('mutation { createApiKey(input: { name: "retry me" }) { key } }', {}, owner.token);
    const deliveries = await eventually(at('/flaky'), (list) => list.length >= 3);
    await settle();
    expect(receiver.received.filter((r) => r.path === '/flaky')).toHaveLength(3);
    const ids = new Set(deliveries.map((d) => d.headers.get('tollgate-event-id')));
    expect(ids.size).toBe(1);
    const result = await o.h.gql<{
      webhookEndpoints: {
        id: string;
        deliveries: { status: string; attempts: number; log: { statusCode: number }[] }[];
      }[];
    }>('{ webhookEndpoints { id deliveries { status attempts log { statusCode } } } }', {}, owner.token);
    const log = result.data?.webhookEndpoints.find((e) => e.id === hook.id)?.deliveries;
    expect(log).toEqual([
      { status: 'SENT', attempts: 3, log: [{ statusCode: 500 }, { statusCode: 500 }, { statusCode: 200 }] },
    ]);
  });

  test('an endpoint gets only the events it asked for, and a tenant-wide endpoint gets every account’s', async () => {
    const admin = await o.h.person('admin');
    const customer = await o.h.person();
    await endpoint(customer, '/own-revoked', ['key.revoked']);
    const wide = await o.h.gql<Created>(
      CREATE,
      { u: `${receiver.url}/wide`, e: ['key.created'], w: true },
      admin.token,
    );
    expect(wide.data?.createWebhookEndpoint.endpoint.accountId).toBeNull();
    const created = await o.h.gql<{ createApiKey: { apiKey: { id: string } } }>(
      'mutation { createApiKey { apiKey { id } } }',
      {},
      customer.token,
    );
    await o.h.gql(
      'mutation($id: ID!) { revokeApiKey(id: $id) { id } }',
      { id: created.data?.createApiKey.apiKey.id },
      customer.token,
    );
    const [revoked] = await eventually(at('/own-revoked'), (list) => list.length === 1);
    const wideDeliveries = await eventually(at('/wide'), (list) => list.length >= 1);
    await settle();
    expect(JSON.parse(revoked?.body ?? '{}').type).toBe('key.revoked');
    const wideTypes = receiver.received.filter((r) => r.path === '/wide').map((r) => JSON.parse(r.body).type);
    expect(wideTypes.length).toBeGreaterThanOrEqual(1);
    expect(new Set(wideTypes)).toEqual(new Set(['key.created']));
    expect(wideDeliveries.some((d) => JSON.parse(d.body).data.accountId === customer.account.id)).toBe(true);
  });

  test('"send test event" delivers a signed test.ping to that endpoint', async () => {
    const person = await o.h.person();
    const { secret, endpoint: hook } = await endpoint(person, '/ping', ['payment.failed']);
    const sent = await o.h.gql<{ sendTestWebhookEvent: string }>(
      'mutation($id: ID!) { sendTestWebhookEvent(id: $id) }',
      { id: hook.id },
      person.token,
    );
    const [ping] = await eventually(at('/ping'), (list) => list.length === 1);
    expect(ping?.headers.get('tollgate-event-id')).toBe(sent.data?.sendTestWebhookEvent ?? 'missing');
    expect(JSON.parse(ping?.body ?? '{}').type).toBe('test.ping');
    expect(verifySignature(ping?.headers.get('tollgate-signature') ?? '', ping?.body ?? '', secret)).toBe(true);
  });

  test('another account cannot see, test or remove an endpoint', async () => {
    const owner = await o.h.person();
    const stranger = await o.h.person();
    const { endpoint: hook } = await endpoint(owner, '/private', ['key.created']);
    const listed = await o.h.gql<{ webhookEndpoints: { id: string }[] }>(
      '{ webhookEndpoints { id } }',
      {},
      stranger.token,
    );
    expect(listed.data?.webhookEndpoints.map((e) => e.id)).not.toContain(hook.id);
    const removal = await o.h.gql(
      'mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }',
      { id: hook.id },
      stranger.token,
    );
    expect(removal.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});
