import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readdir, readFile } from 'node:fs/promises';
import { loadConfig } from '../../app/config.ts';
import { createLogger } from '../../app/log.ts';
import { enqueueOutbox, finishOutboxAttempt, leaseDueOutbox } from '../../db/queries/outbox.ts';
import { ensureRootTenant, type Tenant } from '../../db/queries/tenants.ts';
import type { Sql } from '../../db/sql.ts';
import { createMailer } from '../../notify/mailer.ts';
import {
  DEFAULT_OUTBOX_TIMING,
  retryDelayMs,
  startOutboxWorker,
  type Deliverer,
  type OutboxWorker,
} from '../../outbox/worker.ts';
import { eventually } from '../gateway/harness.ts';
import { testDatabase, testDataDir } from '../helpers.ts';

/** The outbox worker against a real database, with deliverers that stand for the SMTP server or a receiver. */

let sql: Sql;
let root: Tenant;
const workers: OutboxWorker[] = [];
const log = createLogger('error');
const FAST = {
  pollIntervalMs: 20,
  firstRetryDelayMs: 100,
  maxRetryDelayMs: 400,
  deliveryTimeoutMs: 2_000,
  batchSize: 5,
};

beforeAll(async () => {
  ({ sql } = await testDatabase());
  root = await ensureRootTenant(sql, 2000);
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
});

function start(deliver: Deliverer): OutboxWorker {
  const worker = startOutboxWorker({ sql, log, deliverers: { email: deliver, webhook: deliver }, timing: FAST });
  workers.push(worker);
  return worker;
}

async function enqueue(key: string, giveUpAfterSeconds = 60): Promise<void> {
  await enqueueOutbox(sql, {
    tenantId: root.id,
    accountId: null,
    channel: 'email',
    topic: 'password_changed',
    dedupeKey: key,
    recipient: 'someone@example.com',
    payload: { key },
    giveUpAfterSeconds,
  });
}

const rowsLike = (prefix: string) =>
  sql<{ dedupe_key: string; status: string; attempts: number; last_error: string | null; late: boolean }[]>`
    select dedupe_key, status, attempts, last_error, finished_at > give_up_at + interval '1 second' as late
    from outbox where dedupe_key like ${`${prefix}%`} order by id`;

describe('leasing', () => {
  test('two workers deliver forty rows, each exactly once', async () => {
    const delivered: string[] = [];
    // One slow worker and one fast one: the fast one comes back for more while the slow one still sends.
    const deliver =
      (ms: number): Deliverer =>
      async (row) => {
        delivered.push(String(row.payload.key));
        await Bun.sleep(ms);
        return { ok: true };
      };
    for (let i = 0; i < 40; i++) await enqueue(`pair-${i}`);
    await enqueue('pair-0');
    const pair = [start(deliver(300)), start(deliver(5))];
    const rows = await eventually(
      () => rowsLike('pair-'),
      (list) => list.every((r) => r.status === 'sent'),
    );
    await Promise.all(pair.map((w) => w.stop()));
    expect(rows).toHaveLength(40);
    expect(delivered.toSorted()).toEqual(rows.map((r) => r.dedupe_key).toSorted());
  });

  test('a row leased by a worker that died is delivered once its lease runs out, and the dead lease changes nothing', async () => {
    await enqueue('orphan');
    const [orphan] = await leaseDueOutbox(sql, 1, 1);
    expect(orphan?.payload.key).toBe('orphan');
    const seen: number[] = [];
    const worker = start(async (row) => {
      seen.push(row.attempts);
      return { ok: true };
    });
    await Bun.sleep(500);
    expect(seen).toEqual([]);
    const [row] = await eventually(
      () => rowsLike('orphan'),
      (list) => list[0]?.status === 'sent',
    );
    await worker.stop();
    expect(row?.attempts).toBe(2);
    expect(seen).toEqual([2]);
    if (!orphan) throw new Error('nothing leased');
    const stale = await sql.begin((tx) =>
      finishOutboxAttempt(
        tx,
        orphan,
        { startedAt: new Date(), durationMs: 1, ok: false, statusCode: null, error: 'late' },
        { kind: 'failed' },
      ),
    );
    expect(stale).toBe(false);
    expect((await rowsLike('orphan'))[0]?.status).toBe('sent');
  });
});

describe('retries', () => {
  test('a failing row is retried with growing delays, then given up at its give-up time, every attempt logged', async () => {
    const times: number[] = [];
    await enqueue('doomed', 2);
    const worker = start(async (row) => {
      if (row.payload.key === 'doomed') times.push(Date.now());
      return { ok: false, permanent: false, error: 'connection refused' };
    });
    const [row] = await eventually(
      () => rowsLike('doomed'),
      (list) => list[0]?.status === 'failed',
      10_000,
    );
    await worker.stop();
    expect(row).toMatchObject({ status: 'failed', last_error: 'connection refused', late: false });
    expect(row?.attempts).toBeGreaterThanOrEqual(3);
    const gaps = times.slice(1).map((t, i) => t - (times[i] ?? t));
    expect(gaps[0]).toBeGreaterThanOrEqual(70);
    expect(gaps.at(-1) ?? 0).toBeGreaterThan(gaps[0] ?? 0);
    const [logged] = await sql<{ count: number }[]>`
      select count(*)::int as count from outbox_attempts a join outbox o on o.id = a.outbox_id where o.dedupe_key = 'doomed'`;
    expect(logged?.count).toBe(row?.attempts);
  });

  test('a permanent failure is not retried', async () => {
    await enqueue('refused');
    const worker = start(async () => ({ ok: false, permanent: true, error: '550 no such mailbox' }));
    const [row] = await eventually(
      () => rowsLike('refused'),
      (list) => list[0]?.status === 'failed',
    );
    await worker.stop();
    expect(row).toMatchObject({ attempts: 1, last_error: '550 no such mailbox' });
  });

  test('the back-off doubles from the first delay and never passes the cap (plus jitter)', () => {
    const timing = DEFAULT_OUTBOX_TIMING;
    expect(retryDelayMs(timing, 1, () => 0.5)).toBe(timing.firstRetryDelayMs);
    expect(retryDelayMs(timing, 3, () => 0.5)).toBe(timing.firstRetryDelayMs * 4);
    expect(retryDelayMs(timing, 1_000, () => 1)).toBe(Math.round(timing.maxRetryDelayMs * 1.2));
  });
});

test('without SMTP_URL, e-mails are written as .eml files under the data directory, and the folder is logged', async () => {
  const dataDir = testDataDir();
  const lines: string[] = [];
  const mailer = createMailer(
    loadConfig({ TOLLGATE_DATA_DIR: dataDir }),
    createLogger('info', (line) => lines.push(line)),
  );
  const result = await mailer.send(
    {
      from: { name: 'Acme', address: 'no-reply@acme.test' },
      to: 'ann@example.com',
      subject: 'Hello Ann',
      text: 'Plain text',
      html: '<p>HTML</p>',
      reference: 'tg-42',
    },
    AbortSignal.timeout(5_000),
  );
  expect(result).toEqual({ ok: true });
  const files = await readdir(`${dataDir}/mail`);
  expect(files).toHaveLength(1);
  expect(files[0]).toEndWith('-tg-42.eml');
  const eml = await readFile(`${dataDir}/mail/${files[0]}`, 'utf8');
  expect(eml).toContain('Subject: Hello Ann');
  expect(eml).toContain('To: ann@example.com');
  expect(lines.join('\n')).toContain(`${dataDir}/mail`);
});
