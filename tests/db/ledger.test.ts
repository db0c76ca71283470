import { beforeAll, describe, expect, test } from 'bun:test';
import { createAccount, type Account } from '../../db/queries/accounts.ts';
import { placeHolds, releaseHolds, type HoldRequest } from '../../db/queries/holds.ts';
import { verifyLedger } from '../../db/queries/ledger-verify.ts';
import { postSettlements } from '../../db/queries/settlements.ts';
import { createTenant, ensureRootTenant, tenantWalletId, type Tenant } from '../../db/queries/tenants.ts';
import { recordTransfer, walletBalance } from '../../db/queries/transfers.ts';
import type { Sql } from '../../db/sql.ts';
import { loadConfig } from '../../app/config.ts';
import { createLogger } from '../../app/log.ts';
import { standaloneSweepServices, sweepOverdueHolds } from '../../ledger/sweeper.ts';
import { testDatabase } from '../helpers.ts';

let sql: Sql;
let root: Tenant;
let accounts = 0;

beforeAll(async () => {
  ({ sql } = await testDatabase());
  root = await ensureRootTenant(sql, 2000);
});

async function fundedAccount(nanos: bigint, tenant: Tenant = root): Promise<Account> {
  accounts += 1;
  const account = await createAccount(sql, { tenantId: tenant.id, email: `ledger${accounts}@example.com` });
  if (nanos > 0n) {
    await recordTransfer(sql, {
      kind: 'purchase',
      cause: `cs_test_${account.id}`,
      entries: [
        { walletId: account.walletId, funding: 'paid', amountNanos: nanos },
        { walletId: await tenantWalletId(sql, tenant.id, 'clearing'), funding: 'paid', amountNanos: -nanos },
      ],
    });
  }
  return account;
}

const hold = (requestId: string, walletId: bigint, nanos: bigint, ttlSeconds = 600): HoldRequest => ({
  requestId,
  legs: [{ walletId, desiredNanos: nanos, minimumNanos: nanos }],
  apiKeyId: null,
  ttlSeconds,
});

async function revenue(tenant: Tenant = root) {
  return {
    revenue: await tenantWalletId(sql, tenant.id, 'revenue'),
    upstream: await tenantWalletId(sql, root.id, 'upstream'),
  };
}

describe('holds', () => {
  test('200 concurrent holds on a balance covering exactly 100 succeed exactly 100 times, never below zero', async () => {
    const account = await fundedAccount(100n * 1_000n);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => placeHolds(sql, [hold(`concurrent-${i}`, account.walletId, 1_000n)])),
    );
    expect(results.flat().filter((r) => r.ok).length).toBe(100);
    const balance = await walletBalance(sql, account.walletId);
    expect(balance?.availableNanos).toBe(0n);
    expect(balance?.heldNanos).toBe(100_000n);
  });

  test('a batch allocates in order and grants a partial amount down to the minimum', async () => {
    const account = await fundedAccount(250n);
    const outcomes = await placeHolds(sql, [
      hold('batch-a', account.walletId, 100n),
      hold('batch-b', account.walletId, 100n),
      {
        requestId: 'batch-c',
        legs: [{ walletId: account.walletId, desiredNanos: 100n, minimumNanos: 10n }],
        apiKeyId: null,
        ttlSeconds: 60,
      },
      {
        requestId: 'batch-d',
        legs: [{ walletId: account.walletId, desiredNanos: 100n, minimumNanos: 10n }],
        apiKeyId: null,
        ttlSeconds: 60,
      },
    ]);
    expect(outcomes.map((o) => (o.ok ? o.grantedNanos[0] : o.reason))).toEqual([
      100n,
      100n,
      50n,
      'insufficient_credit',
    ]);
  });

  test('in one batch, a wallet that covers everything is held whole and one that does not is allocated in order', async () => {
    const rich = await fundedAccount(10_000n);
    const poor = await fundedAccount(150n);
    const outcomes = await placeHolds(sql, [
      hold('mixed-rich-1', rich.walletId, 4_000n),
      {
        requestId: 'mixed-poor-1',
        legs: [{ walletId: poor.walletId, desiredNanos: 100n, minimumNanos: 10n }],
        apiKeyId: null,
        ttlSeconds: 60,
      },
      hold('mixed-rich-2', rich.walletId, 6_000n),
      {
        requestId: 'mixed-poor-2',
        legs: [{ walletId: poor.walletId, desiredNanos: 100n, minimumNanos: 10n }],
        apiKeyId: null,
        ttlSeconds: 60,
      },
    ]);
    expect(outcomes.map((o) => (o.ok ? o.grantedNanos[0] : o.reason))).toEqual([4_000n, 100n, 6_000n, 50n]);
    expect((await walletBalance(sql, rich.walletId))?.availableNanos).toBe(0n);
    expect((await walletBalance(sql, poor.walletId))?.availableNanos).toBe(0n);
  });

  test('a request id already held is refused as a duplicate, alone or in a batch, and nothing more is held', async () => {
    const account = await fundedAccount(10_000n);
    const [first] = await placeHolds(sql, [hold('held-once', account.walletId, 1_000n)]);
    expect(first?.ok).toBe(true);
    const [again] = await placeHolds(sql, [hold('held-once', account.walletId, 1_000n)]);
    expect(again).toEqual({ ok: false, reason: 'duplicate_request', legIndex: 0 });
    const batch = await placeHolds(sql, [
      hold('held-once-new', account.walletId, 1_000n),
      hold('held-once', account.walletId, 1_000n),
    ]);
    expect(batch.map((o) => (o.ok ? 'ok' : o.reason))).toEqual(['ok', 'duplicate_request']);
    const twice = await placeHolds(sql, [
      hold('same-in-batch', account.walletId, 1_000n),
      hold('same-in-batch', account.walletId, 1_000n),
    ]);
    expect(twice.map((o) => (o.ok ? 'ok' : o.reason))).toEqual(['ok', 'duplicate_request']);
    expect((await walletBalance(sql, account.walletId))?.heldNanos).toBe(3_000n);
    const [rows] = await sql<
      { count: string }[]
    >`select count(*)::text from holds where request_id in ('held-once', 'held-once-new', 'same-in-batch')`;
    expect(rows?.count).toBe('3');
  });

  test('when the second statement of a batch fails, what the first one held is voided, not left open', async () => {
    const account = await fundedAccount(10_000n);
    // A key id that is not a uuid fails place_holds after place_whole_holds has held the first request.
    const batch = placeHolds(sql, [
      hold('first-of-failed-batch', account.walletId, 1_000n),
      { ...hold('second-of-failed-batch', account.walletId, 1_000n), apiKeyId: 'not-a-uuid' },
    ]);
    await expect(batch).rejects.toThrow();
    expect((await walletBalance(sql, account.walletId))?.heldNanos).toBe(0n);
    const [row] = await sql<
      { outcome: string | null }[]
    >`select outcome from holds where request_id = 'first-of-failed-batch'`;
    expect(row?.outcome).toBe('voided');
  });

  test('a reseller customer holds on both wallets or on neither', async () => {
    const reseller = await createTenant(sql, {
      slug: `reseller-${Date.now()}`,
      name: 'Reseller',
      markupBps: 1000,
      parentId: root.id,
    });
    const customer = await fundedAccount(1_000n, reseller);
    const wholesale = await tenantWalletId(sql, reseller.id, 'reseller');
    const legs = (desired: bigint) => [
      { walletId: customer.walletId, desiredNanos: desired, minimumNanos: desired },
      { walletId: wholesale, desiredNanos: desired - 100n, minimumNanos: desired - 100n },
    ];
    const [refused] = await placeHolds(sql, [
      { requestId: 'two-legs-1', legs: legs(500n), apiKeyId: null, ttlSeconds: 60 },
    ]);
    expect(refused).toEqual({ ok: false, reason: 'insufficient_credit', legIndex: 1 });
    expect((await walletBalance(sql, customer.walletId))?.heldNanos).toBe(0n);
    await recordTransfer(sql, {
      kind: 'adjustment',
      cause: 'wholesale-topup',
      entries: [
        { walletId: wholesale, funding: 'paid', amountNanos: 1_000n },
        { walletId: await tenantWalletId(sql, root.id, 'adjustment'), funding: 'paid', amountNanos: -1_000n },
      ],
    });
    const [granted] = await placeHolds(sql, [
      { requestId: 'two-legs-2', legs: legs(500n), apiKeyId: null, ttlSeconds: 60 },
    ]);
    expect(granted).toEqual({ ok: true, grantedNanos: [500n, 400n] });
  });

  test('expired holds are released by the sweeper', async () => {
    const account = await fundedAccount(1_000n);
    await placeHolds(sql, [hold('short-lived', account.walletId, 600n, 0)]);
    await Bun.sleep(20);
    const services = await standaloneSweepServices(
      sql,
      loadConfig({}),
      createLogger('error', () => {}),
    );
    expect((await sweepOverdueHolds(services)).expired.length).toBeGreaterThanOrEqual(1);
    const balance = await walletBalance(sql, account.walletId);
    expect(balance?.heldNanos).toBe(0n);
    const [row] = await sql<{ outcome: string }[]>`select outcome from holds where request_id = 'short-lived'`;
    expect(row?.outcome).toBe('expired');
  });
});

describe('idempotency', () => {
  test('replaying a purchase with the same cause changes nothing', async () => {
    const account = await fundedAccount(500n);
    const again = await recordTransfer(sql, {
      kind: 'purchase',
      cause: `cs_test_${account.id}`,
      entries: [
        { walletId: account.walletId, funding: 'paid', amountNanos: 500n },
        { walletId: await tenantWalletId(sql, root.id, 'clearing'), funding: 'paid', amountNanos: -500n },
      ],
    });
    expect(again.applied).toBe(false);
    expect((await walletBalance(sql, account.walletId))?.availableNanos).toBe(500n);
  });

  test('replaying a post changes nothing and answers truthfully; a voided hold cannot be posted', async () => {
    const account = await fundedAccount(1_000n);
    const books = await revenue();
    await placeHolds(sql, [hold('post-once', account.walletId, 400n), hold('void-once', account.walletId, 400n)]);
    const settlement = {
      requestId: 'post-once',
      debits: [{ walletId: account.walletId, chargeNanos: 120n }],
      credits: [
        { walletId: books.revenue, amountNanos: 20n },
        { walletId: books.upstream, amountNanos: 100n },
      ],
    };
    const [first] = await postSettlements(sql, [settlement]);
    const [second] = await postSettlements(sql, [settlement]);
    expect(first?.status).toBe('posted');
    expect(second).toEqual({ status: 'already_resolved', outcome: 'posted', chargedNanos: 120n });
    await releaseHolds(sql, ['void-once'], 'voided');
    const [late] = await postSettlements(sql, [{ ...settlement, requestId: 'void-once' }]);
    expect(late).toEqual({ status: 'already_resolved', outcome: 'voided', chargedNanos: 0n });
    const balance = await walletBalance(sql, account.walletId);
    expect(balance).toMatchObject({ paidNanos: 880n, heldNanos: 0n, availableNanos: 880n });
  });

  test('granted credit is spent before paid credit', async () => {
    const account = await fundedAccount(1_000n);
    await recordTransfer(sql, {
      kind: 'grant',
      cause: `promo-${account.id}`,
      entries: [
        { walletId: account.walletId, funding: 'granted', amountNanos: 50n },
        { walletId: await tenantWalletId(sql, root.id, 'promotion'), funding: 'granted', amountNanos: -50n },
      ],
    });
    const books = await revenue();
    await placeHolds(sql, [hold('granted-first', account.walletId, 100n)]);
    await postSettlements(sql, [
      {
        requestId: 'granted-first',
        debits: [{ walletId: account.walletId, chargeNanos: 80n }],
        credits: [{ walletId: books.upstream, amountNanos: 80n }],
      },
    ]);
    expect(await walletBalance(sql, account.walletId)).toMatchObject({ grantedNanos: 0n, paidNanos: 970n });
  });

  test('a batch posting twice on one wallet spends its granted credit once, in request order', async () => {
    const account = await fundedAccount(1_000n);
    await recordTransfer(sql, {
      kind: 'grant',
      cause: `promo-batch-${account.id}`,
      entries: [
        { walletId: account.walletId, funding: 'granted', amountNanos: 100n },
        { walletId: await tenantWalletId(sql, root.id, 'promotion'), funding: 'granted', amountNanos: -100n },
      ],
    });
    const books = await revenue();
    const placed = await placeHolds(sql, [
      hold('granted-batch-a', account.walletId, 200n),
      hold('granted-batch-b', account.walletId, 200n),
    ]);
    expect(placed.every((outcome) => outcome.ok)).toBe(true);
    const post = (requestId: string, charge: bigint) => ({
      requestId,
      debits: [{ walletId: account.walletId, chargeNanos: charge }],
      credits: [{ walletId: books.upstream, amountNanos: charge }],
    });
    const outcomes = await postSettlements(sql, [
      post('granted-batch-a', 70n),
      post('granted-batch-unknown', 5n),
      post('granted-batch-b', 60n),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['posted', 'no_hold', 'posted']);
    expect(await walletBalance(sql, account.walletId)).toMatchObject({
      grantedNanos: 0n,
      paidNanos: 970n,
      heldNanos: 0n,
    });
    const entries = await sql<{ cause: string; funding: string; amount: bigint }[]>`
      select t.cause, e.funding, e.amount_nanos as amount from entries e join transfers t on t.id = e.transfer_id
      where e.wallet_id = ${account.walletId.toString()}::int8 and t.kind = 'usage' order by e.id`;
    expect(entries.map((e) => [e.cause, e.funding, e.amount])).toEqual([
      ['granted-batch-a', 'granted', -70n],
      ['granted-batch-b', 'granted', -30n],
      ['granted-batch-b', 'paid', -30n],
    ]);
  });

  test('a settlement whose legs do not match its holds is refused and changes nothing', async () => {
    const reseller = await createTenant(sql, {
      slug: 'mismatch-reseller',
      parentId: root.id,
      name: 'Mismatch Reseller',
      markupBps: 1000,
    });
    const account = await fundedAccount(1_000n);
    const books = await revenue();
    await placeHolds(sql, [hold('legs-mismatch', account.walletId, 300n)]);
    const before = await walletBalance(sql, account.walletId);
    const resellerWallet = await tenantWalletId(sql, reseller.id, 'reseller');
    const wrong = {
      requestId: 'legs-mismatch',
      debits: [
        { walletId: account.walletId, chargeNanos: 100n },
        { walletId: resellerWallet, chargeNanos: 50n },
      ],
      credits: [{ walletId: books.upstream, amountNanos: 150n }],
    };
    await expect(postSettlements(sql, [wrong])).rejects.toThrow('does not match its holds');
    expect(await walletBalance(sql, account.walletId)).toEqual(before);
    const [open] = await sql<
      { outcome: string | null }[]
    >`select outcome from holds where request_id = 'legs-mismatch'`;
    expect(open?.outcome).toBeNull();
  });
});

describe('the ledger protects itself', () => {
  test('entries and transfers refuse UPDATE and DELETE', async () => {
    // Rows of its own: a statement that matches no row would pass without any trigger.
    const account = await fundedAccount(1_000n);
    await placeHolds(sql, [hold('append-only-hold', account.walletId, 100n)]);
    await releaseHolds(sql, ['append-only-hold'], 'voided');
    await expect(
      sql`update entries set amount_nanos = 0 where wallet_id = ${String(account.walletId)}`,
    ).rejects.toThrow('append-only');
    await expect(sql`delete from transfers where cause = ${`cs_test_${account.id}`}`).rejects.toThrow('append-only');
    await expect(sql`update holds set amount_nanos = 0 where request_id = 'append-only-hold'`).rejects.toThrow(
      'already voided',
    );
  });

  test('an unbalanced transfer is refused before it is written', async () => {
    const account = await fundedAccount(0n);
    await expect(
      recordTransfer(sql, {
        kind: 'adjustment',
        cause: 'unbalanced',
        entries: [{ walletId: account.walletId, funding: 'paid', amountNanos: 5n }],
      }),
    ).rejects.toThrow('sum to zero');
  });

  test('a transfer or a settlement naming a wallet that does not exist is refused and writes nothing', async () => {
    const account = await fundedAccount(1_000n);
    const missing = 999_999_999n;
    await expect(
      recordTransfer(sql, {
        kind: 'adjustment',
        cause: 'to-nowhere',
        entries: [
          { walletId: account.walletId, funding: 'paid', amountNanos: -5n },
          { walletId: missing, funding: 'paid', amountNanos: 5n },
        ],
      }),
    ).rejects.toThrow('does not exist');
    const [written] = await sql<
      { count: bigint }[]
    >`select count(*)::int8 as count from transfers where cause = 'to-nowhere'`;
    expect(written?.count).toBe(0n);
    await placeHolds(sql, [hold('credit-to-nowhere', account.walletId, 100n)]);
    const settlement = {
      requestId: 'credit-to-nowhere',
      debits: [{ walletId: account.walletId, chargeNanos: 50n }],
      credits: [{ walletId: missing, amountNanos: 50n }],
    };
    await expect(postSettlements(sql, [settlement])).rejects.toThrow('does not exist');
    expect(await walletBalance(sql, account.walletId)).toMatchObject({ paidNanos: 1_000n, heldNanos: 100n });
  });

  test('ledger verify finds an entry that names no wallet', async () => {
    // Inside a transaction that is rolled back, so the other tests keep a clean ledger.
    const found = await sql
      .begin(async (tx) => {
        const [transfer] = await tx<
          { id: bigint }[]
        >`insert into transfers (kind, cause) values ('adjustment', 'orphan-entry') returning id`;
        await tx`insert into entries (transfer_id, wallet_id, funding, amount_nanos) values (${transfer?.id.toString() ?? '0'}::int8, 888888888, 'paid', 0)`;
        const report = await verifyLedger(tx);
        throw Object.assign(new Error('roll back'), { violations: report.violations });
      })
      .catch((error: { violations?: { check: string; detail: string }[] }) => error.violations ?? []);
    expect(
      found.some(
        (v) => v.check.startsWith('every entry and hold names an existing') && v.detail.includes('"row":"entry"'),
      ),
    ).toBe(true);
  });

  test('ledger verify is clean, then finds a deliberately corrupted balance', async () => {
    expect((await verifyLedger(sql)).violations).toEqual([]);
    const account = await fundedAccount(100n);
    await sql`update wallets set paid_nanos = paid_nanos + 1 where id = ${account.walletId.toString()}::int8`;
    const report = await verifyLedger(sql);
    expect(
      report.violations.some(
        (v) => v.check.includes('sum of entries') && v.detail.includes(`"wallet":"${account.walletId}"`),
      ),
    ).toBe(true);
    await sql`update wallets set paid_nanos = paid_nanos - 1 where id = ${account.walletId.toString()}::int8`;
  });
});
