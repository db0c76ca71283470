import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { RefusedTarget } from '../../notify/ssrf.ts';
import { sealSecret } from '../../notify/webhook-signature.ts';
import { postWebhook } from '../../notify/webhook-send.ts';
import { eventually, PEPPER } from '../gateway/harness.ts';
import { startApi, type ApiHarness } from '../schema/harness.ts';
import { startOutboxHarness, type OutboxHarness } from './harness.ts';
import { startReceiver, type Receiver } from './receiver.ts';

/** Webhook targets: loopback, private, link-local and metadata addresses are refused unless the operator allows them. */

let o: OutboxHarness;
let allowing: ApiHarness;
let receiver: Receiver;
beforeAll(async () => {
  o = await startOutboxHarness();
  allowing = await startApi({ TOLLGATE_OUTBOUND_ALLOW_PRIVATE: 'on' });
  receiver = startReceiver();
});
afterAll(async () => {
  await o.close();
  await allowing.close();
  await receiver.close();
});

const CREATE = 'mutation($u: String!) { createWebhookEndpoint(url: $u, events: ["key.created"]) { endpoint { id } } }';

describe('registering an endpoint', () => {
  const refused = [
    'http://127.0.0.1:8080/hook',
    'http://localhost/hook',
    'http://10.1.2.3/hook',
    'http://192.168.0.10/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]/hook',
    'http://[::ffff:127.0.0.1]/hook',
    'http://[fd00:ec2::254]/hook',
    'http://0x7f.1/hook',
    'ftp://example.com/hook',
    'https://user:secret@example.com/hook',
  ];
  for (const url of refused) {
    test(`refuses ${url} by default`, async () => {
      const person = await o.h.person();
      const result = await o.h.gql(CREATE, { u: url }, person.token);
      expect(result.errors?.[0]?.extensions).toEqual({ code: 'INVALID_INPUT', field: 'url' });
    });
  }

  test('accepts a loopback URL when the operator allows private targets', async () => {
    const person = await allowing.person(allowing.root);
    const result = await allowing.ok<{ createWebhookEndpoint: { endpoint: { id: string } } }>(
      CREATE,
      { u: `${receiver.url}/ok` },
      { token: person.token },
    );
    expect(result.createWebhookEndpoint.endpoint.id).toBeString();
  });
});

describe('delivering', () => {
  test('a delivery to a loopback endpoint fails at once, unsent, when private targets are not allowed', async () => {
    const person = await o.h.person();
    // As if registered while the setting was on: the check at sending time is what stops it.
    await o.h.sql`insert into webhook_endpoints (tenant_id, account_id, url, events, secret_sealed)
      values (${o.h.root.id}::uuid, ${person.account.id}::uuid, ${`${receiver.url}/late`}, '{key.created}',
              ${sealSecret('tgwh_secret', PEPPER)})`;
    await o.h.gql('mutation { createApiKey { key } }', {}, person.token);
    const [row] = await eventually(
      () =>
        o.h.sql<{ status: string; attempts: number; last_error: string }[]>`
        select status, attempts, last_error from outbox where channel = 'webhook' and account_id = ${person.account.id}::uuid`,
      (rows) => rows[0]?.status === 'failed',
    );
    expect(row).toMatchObject({ status: 'failed', attempts: 1 });
    expect(row?.last_error).toContain('webhooks may not reach');
    expect(receiver.received.filter((r) => r.path === '/late')).toEqual([]);
  });

  const onlyLoopbackV4 = (address: string) => address === '127.0.0.1';

  test('a redirect is followed by hand and the new target checked again', async () => {
    receiver.answers.push({ redirect: '/final' });
    const answer = await postWebhook(
      `${receiver.url}/first`,
      '{"a":1}',
      {},
      onlyLoopbackV4,
      AbortSignal.timeout(5_000),
    );
    expect(answer.status).toBe(200);
    expect(receiver.received.filter((r) => r.path === '/final').map((r) => r.body)).toEqual(['{"a":1}']);
  });

  for (const target of ['http://169.254.169.254/latest/meta-data/', 'http://10.0.0.1/x', 'http://[::1]/x']) {
    test(`a redirect to ${target} is refused`, async () => {
      receiver.answers.push({ redirect: target });
      const sending = postWebhook(`${receiver.url}/bounce`, '{}', {}, onlyLoopbackV4, AbortSignal.timeout(5_000));
      await expect(sending).rejects.toBeInstanceOf(RefusedTarget);
    });
  }

  test('a name is checked on the addresses it resolves to, at connection time', async () => {
    const port = new URL(receiver.url).port;
    const before = receiver.received.length;
    const sending = postWebhook(`http://localhost:${port}/by-name`, '{}', {}, () => false, AbortSignal.timeout(5_000));
    await expect(sending).rejects.toBeInstanceOf(RefusedTarget);
    expect(receiver.received.length).toBe(before);
  });
});
