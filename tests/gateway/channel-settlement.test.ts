import { afterAll, beforeAll, expect, test } from 'bun:test';
import type { StreamStart } from '../../db/queries/stream-starts.ts';
import { reconcile } from '../../ledger/reconcile.ts';
import { crashSettlement } from '../../ledger/sweeper.ts';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream.ts';
import { addChannel, changeChannel } from './channels-harness.ts';
import { eventually, startHarness, type Harness } from './harness.ts';

/**
 * Generation lookups follow the channel that served: the debit of an abandoned stream, the
 * sweeper settling a stream whose replica died, and `reconcile` all ask that channel, with its
 * key, and never the default upstream.
 */

const BACKUP_KEY = 'sk-chan-backup-settle-0123456789abcd';
let h: Harness;
let backup: FakeUpstream;
let backupId: string;

beforeAll(async () => {
  process.env.TG_TEST_BACKUP_SETTLE_KEY = BACKUP_KEY;
  h = await startHarness();
  backup = await startFakeUpstream({ apiKey: BACKUP_KEY });
  backupId = await addChannel(h.sql, [h.gateway], 'backup', {
    baseUrl: backup.baseUrl,
    keyVariable: 'TG_TEST_BACKUP_SETTLE_KEY',
    priority: 10,
  });
});
afterAll(async () => {
  await h.close();
  await backup.close();
});

const generationLookups = (fake: FakeUpstream) => fake.requests.filter((r) => r.path.includes('/generation?id='));

test("an abandoned stream is settled from the serving channel's generation record, asked with that channel's key", async () => {
  const { key, account } = await h.customer('1.00');
  const controller = new AbortController();
  const stream = await h.client(key).chat.completions.create(
    {
      model: 'fake/gpt-small',
      messages: [{ role: 'user', content: 'long [[fake:chunks=50,delay_ms=40]]' }],
      stream: true,
    },
    { signal: controller.signal },
  );
  let received = 0;
  try {
    for await (const chunk of stream) {
      if (chunk.choices[0]?.delta.content) received += 1;
      if (received === 3) controller.abort();
    }
  } catch {
    // The SDK throws an abort error: that is the point.
  }
  const [row] = await eventually(
    () =>
      h.sql<{ outcome: string; estimated: boolean; channel_id: string }[]>`
        select outcome, estimated, channel_id from requests where account_id = ${account.id}::uuid`,
    (rows) => rows.length === 1,
  );
  expect(row).toEqual({ outcome: 'aborted', estimated: false, channel_id: backupId });
  expect(generationLookups(backup).length).toBeGreaterThan(0);
  expect(generationLookups(backup).every((r) => r.headers.authorization === `Bearer ${BACKUP_KEY}`)).toBe(true);
  expect(generationLookups(h.upstream)).toEqual([]);
});

/** A generation the backup channel served directly: the record a lost replica's stream would have. */
async function backupGeneration(): Promise<string> {
  const direct = await fetch(`${backup.baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${BACKUP_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'fake/gpt-small', messages: [{ role: 'user', content: 'x [[fake:chunks=7]]' }] }),
  });
  return ((await direct.json()) as { id: string }).id;
}

/** The note a replica would have written for a chat stream on the backup channel, before it was lost. */
function lostStream(
  generationId: string,
  customer: { account: { id: string; walletId: bigint }; keyId: string },
): StreamStart {
  return {
    requestId: `lost-${crypto.randomUUID()}`,
    generationId,
    tenantId: h.rootTenantId,
    accountId: customer.account.id,
    apiKeyId: customer.keyId,
    walletId: customer.account.walletId,
    route: '/v1/chat/completions',
    protocol: 'chat',
    model: 'fake/gpt-small',
    markupsBps: [2000],
    priceNanos: [1_000_000_000n, 2_000_000_000n, 0n, 0n],
    promptTokensEstimate: 1,
    promptTokensBound: 100,
    mediaItems: 0,
    holdNanos: 1_000_000n,
    channelId: backupId,
    startedAt: new Date(),
  };
}

test("the sweeper settles a lost replica's stream from the generation record of the channel that served it", async () => {
  const generationId = await backupGeneration();
  const start = lostStream(generationId, await h.customer('1.00'));
  const job = await crashSettlement(h.gateway.services, start);
  expect(job.request.estimated).toBe(false);
  expect(job.request.completionTokens).toBe(7);
  expect(job.request.channelId).toBe(backupId);
  expect(job.request.protocol).toBe('chat');
  expect(generationLookups(backup).some((r) => r.path.includes(generationId))).toBe(true);
  expect(generationLookups(h.upstream)).toEqual([]);
});

test("the sweeper distrusts an absurd generation record of a lost replica's stream and settles by the estimate", async () => {
  const generationId = await backupGeneration();
  const record = backup.generations.get(generationId);
  if (!record) throw new Error('the fake upstream lost its generation record');
  record.totalCostUsd = '999999';
  const job = await crashSettlement(h.gateway.services, lostStream(generationId, await h.customer('0.05')));
  expect(job.request.usageDistrusted).toBe(true);
  expect(job.request.estimated).toBe(true);
  // One prompt token and one completion token at $1 and $2 per million, not $999,999.
  expect(job.request.costNanos).toBe(3_000n);
});

test('reconcile compares each request with the generation record of the channel that served it', async () => {
  await changeChannel(h.sql, [h.gateway], 'default', { state: 'disabled' });
  const since = new Date(Date.now() - 10);
  const { key, account } = await h.customer('1.00');
  await h.client(key).chat.completions.create({ model: 'fake/gpt-small', messages: [{ role: 'user', content: 'a' }] });
  const [row] = await eventually(
    () => h.sql<{ id: string; generation_id: string }[]>`
      select id, generation_id from requests where account_id = ${account.id}::uuid`,
    (rows) => rows.length === 1,
  );
  const record = backup.generations.get(row?.generation_id ?? '');
  if (!record) throw new Error('the backup channel has no record of the request');
  record.totalCostUsd = '0.001234567';
  const report = await reconcile({
    sql: h.sql,
    channels: h.gateway.services.channels,
    since,
    until: new Date(Date.now() + 1_000),
    fix: false,
  });
  expect(report.differences.map((d) => [d.requestId, d.upstreamCostNanos])).toEqual([[row?.id ?? '', 1_234_567n]]);
  expect(generationLookups(h.upstream)).toEqual([]);
});
