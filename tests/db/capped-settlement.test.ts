import { beforeAll, describe, expect, test } from 'bun:test';
import { createAccount, type Account } from '../../db/queries/accounts.ts';
import { createApiKey } from '../../db/queries/api-keys.ts';
import { placeHolds } from '../../db/queries/holds.ts';
import { verifyLedger } from '../../db/queries/ledger-verify.ts';
import { postSettlements, type Settlement } from '../../db/queries/settlements.ts';
import { createTenant, ensureRootTenant, tenantWalletId, type Tenant } from '../../db/queries/tenants.ts';
import { recordTransfer, walletBalance } from '../../db/queries/transfers.ts';
import type { Sql } from '../../db/sql.ts';
import { testDatabase } from '../helpers.ts';

/**
 * post_settlements (db/functions/post_settlements.sql) never takes a wallet below zero: a charge
 * above its hold takes only what is available, and the rest is written off to an uncollected book.
 */

let sql: Sql;
let root: Tenant;
let accounts = 0;

beforeAll(async () => {
  ({ sql } = await testDatabase());
  root = await ensureRootTenant(sql, 2000);
});

async function fund(walletId: bigint, tenant: Tenant, nanos: bigint): Promise<void> {
  await recordTransfer(sql, {
    kind: 'purchase',
    cause: `cs_capped_${walletId}`,
    entries: [
      { walletId, funding: 'paid', amountNanos: nanos },
      { walletId: await tenantWalletId(sql, tenant.id, 'clearing'), funding: 'paid', amountNanos: -nanos },
    ],
  });
}

async function fundedAccount(nanos: bigint, tenant: Tenant = root): Promise<Account> {
  accounts += 1;
  const account = await createAccount(sql, { tenantId: tenant.id, email: `capped${accounts}@example.com` });
  await fund(account.walletId, tenant, nanos);
  return account;
}

async function hold(requestId: string, walletId: bigint, nanos: bigint, apiKeyId: string | null = null) {
  const [outcome] = await placeHolds(sql, [
    { requestId, legs: [{ walletId, desiredNanos: nanos, minimumNanos: nanos }], apiKeyId, ttlSeconds: 600 },
  ]);
  expect(outcome?.ok).toBe(true);
}

/** A direct customer's settlement: the whole charge is the root's, cost 0 for simplicity. */
async function direct(requestId: string, walletId: bigint, chargeNanos: bigint): Promise<Settlement> {
  return {
    requestId,
    debits: [{ walletId, chargeNanos }],
    credits: [{ walletId: await tenantWalletId(sql, root.id, 'revenue'), amountNanos: chargeNanos }],
  };
}

type PostedHold = { charged: bigint; writtenOff: bigint };

async function postedHold(requestId: string, walletId: bigint): Promise<PostedHold | undefined> {
  const [row] = await sql<{ charged: bigint; written_off: bigint }[]>`
    select charged_nanos as charged, written_off_nanos as written_off from holds
    where request_id = ${requestId} and wallet_id = ${walletId.toString()}::int8 and outcome = 'posted'`;
  return row && { charged: row.charged, writtenOff: row.written_off };
}

async function uncollected(tenant: Tenant): Promise<bigint> {
  return (await walletBalance(sql, await tenantWalletId(sql, tenant.id, 'uncollected')))?.paidNanos ?? 0n;
}

describe('a charge above its hold', () => {
  test('takes only what the wallet has available and writes the rest off to the tenant uncollected book', async () => {
    const account = await fundedAccount(1_000n);
    const before = await uncollected(root);
    await hold('capped-1', account.walletId, 600n);
    const [outcome] = await postSettlements(sql, [await direct('capped-1', account.walletId, 2_000n)]);
    expect(outcome?.status).toBe('posted');
    expect(await postedHold('capped-1', account.walletId)).toEqual({ charged: 1_000n, writtenOff: 1_000n });
    expect((await walletBalance(sql, account.walletId))?.availableNanos).toBe(0n);
    expect(await uncollected(root)).toBe(before - 1_000n);
    expect((await verifyLedger(sql)).violations).toEqual([]);
  });

  test('within its hold writes nothing off', async () => {
    const account = await fundedAccount(1_000n);
    const before = await uncollected(root);
    await hold('capped-2', account.walletId, 600n);
    await postSettlements(sql, [await direct('capped-2', account.walletId, 250n)]);
    expect(await postedHold('capped-2', account.walletId)).toEqual({ charged: 250n, writtenOff: 0n });
    expect(await uncollected(root)).toBe(before);
  });

  test('in one batch, takes excesses in debit order from what is left, counting earlier releases', async () => {
    const account = await fundedAccount(1_000n);
    await hold('capped-3a', account.walletId, 300n);
    await hold('capped-3b', account.walletId, 300n);
    await hold('capped-3c', account.walletId, 100n);
    // 300 available; a releases 200 (500), b takes 500 of its 700 excess (0), c gets nothing extra.
    await postSettlements(sql, [
      await direct('capped-3a', account.walletId, 100n),
      await direct('capped-3b', account.walletId, 1_000n),
      await direct('capped-3c', account.walletId, 400n),
    ]);
    expect(await postedHold('capped-3a', account.walletId)).toEqual({ charged: 100n, writtenOff: 0n });
    expect(await postedHold('capped-3b', account.walletId)).toEqual({ charged: 800n, writtenOff: 200n });
    expect(await postedHold('capped-3c', account.walletId)).toEqual({ charged: 100n, writtenOff: 300n });
    expect((await walletBalance(sql, account.walletId))?.availableNanos).toBe(0n);
    expect((await verifyLedger(sql)).violations).toEqual([]);
  });

  test('on a capped key, stops at what is left of the cap although the wallet has more', async () => {
    const account = await fundedAccount(100_000n);
    const { apiKey } = await createApiKey(sql, 'pepper-capped-settlement-0123456789abcdef', {
      accountId: account.id,
      creditCapNanos: 500n,
    });
    await hold('capped-4', account.walletId, 200n, apiKey.id);
    await postSettlements(sql, [await direct('capped-4', account.walletId, 2_000n)]);
    expect(await postedHold('capped-4', account.walletId)).toEqual({ charged: 500n, writtenOff: 1_500n });
    const [key] = await sql<{ spent: bigint; held: bigint }[]>`
      select spent_nanos as spent, held_nanos as held from api_keys where id = ${apiKey.id}::uuid`;
    expect(key).toEqual({ spent: 500n, held: 0n });
    expect((await walletBalance(sql, account.walletId))?.availableNanos).toBe(99_500n);
    expect((await verifyLedger(sql)).violations).toEqual([]);
  });

  test('on a reseller chain, each level pays what it can and its shortfall lands on the book of the tenant it owed', async () => {
    const reseller = await createTenant(sql, { slug: 'capped-reseller', name: 'R', markupBps: 0, parentId: root.id });
    const wholesale = await tenantWalletId(sql, reseller.id, 'reseller');
    await fund(wholesale, root, 700n);
    const customer = await fundedAccount(1_000n, reseller);
    const [placed] = await placeHolds(sql, [
      {
        requestId: 'capped-5',
        legs: [
          { walletId: customer.walletId, desiredNanos: 500n, minimumNanos: 500n },
          { walletId: wholesale, desiredNanos: 400n, minimumNanos: 400n },
        ],
        apiKeyId: null,
        ttlSeconds: 600,
      },
    ]);
    expect(placed?.ok).toBe(true);
    const [rootBefore, resellerBefore] = [await uncollected(root), await uncollected(reseller)];
    // The customer owes the reseller 3,000 and the reseller owes the root 2,400 (of which 1,000 is cost).
    await postSettlements(sql, [
      {
        requestId: 'capped-5',
        debits: [
          { walletId: customer.walletId, chargeNanos: 3_000n },
          { walletId: wholesale, chargeNanos: 2_400n },
        ],
        credits: [
          { walletId: await tenantWalletId(sql, root.id, 'revenue'), amountNanos: 1_400n },
          { walletId: await tenantWalletId(sql, reseller.id, 'revenue'), amountNanos: 3_000n },
          { walletId: await tenantWalletId(sql, root.id, 'upstream'), amountNanos: 1_000n },
        ],
      },
    ]);
    expect(await postedHold('capped-5', customer.walletId)).toEqual({ charged: 1_000n, writtenOff: 2_000n });
    expect(await postedHold('capped-5', wholesale)).toEqual({ charged: 700n, writtenOff: 1_700n });
    expect(await uncollected(reseller)).toBe(resellerBefore - 2_000n);
    expect(await uncollected(root)).toBe(rootBefore - 1_700n);
    expect((await walletBalance(sql, customer.walletId))?.availableNanos).toBe(0n);
    expect((await walletBalance(sql, wholesale))?.availableNanos).toBe(0n);
    expect((await verifyLedger(sql)).violations).toEqual([]);
  });
});

describe('ledger verify', () => {
  test('treats a negative wallet that no refund or dispute explains as broken', async () => {
    const account = await fundedAccount(100n);
    await recordTransfer(sql, {
      kind: 'usage',
      cause: 'overdrawn-by-hand',
      entries: [
        { walletId: account.walletId, funding: 'paid', amountNanos: -300n },
        { walletId: await tenantWalletId(sql, root.id, 'revenue'), funding: 'paid', amountNanos: 300n },
      ],
    });
    const checks = (await verifyLedger(sql)).violations.map((v) => v.check);
    expect(checks).toContain('no unexplained negative available credit [4]');
  });
});
