import { beforeAll, expect, test } from 'bun:test';
import { createAccount, type Account } from '../../db/queries/accounts.ts';
import { recordPaymentTransfer } from '../../db/queries/payment-ledger.ts';
import { createPayment, type Payment } from '../../db/queries/payments.ts';
import { ensureRootTenant } from '../../db/queries/tenants.ts';
import { walletBalance } from '../../db/queries/transfers.ts';
import type { Sql } from '../../db/sql.ts';
import { testDatabase } from '../helpers.ts';

/**
 * The database guards behind exactly-once credit, tried below the payment's row lock (as if the
 * lock were gone): the unique cause of transfers and the one-purchase index of payment_transfers.
 * The last test drops the index and shows the double credit it prevents: these tests have teeth.
 */

let sql: Sql;
let rootId: string;
let people = 0;

beforeAll(async () => {
  ({ sql } = await testDatabase());
  rootId = (await ensureRootTenant(sql, 2000)).id;
});

async function openPayment(): Promise<{ account: Account; payment: Payment }> {
  people += 1;
  const account = await createAccount(sql, { tenantId: rootId, email: `buyer${people}@example.com` });
  const payment = await createPayment(sql, {
    tenantId: rootId,
    accountId: account.id,
    kind: 'checkout',
    packId: null,
    description: 'Pro',
    priceNanos: 45_000_000_000n,
    creditNanos: 50_000_000_000n,
    savePaymentMethod: false,
  });
  return { account, payment };
}

function purchase(payment: Payment, cause: string) {
  return sql.begin((tx) =>
    recordPaymentTransfer(tx, {
      payment,
      kind: 'purchase',
      stripeObjectId: cause,
      paidNanos: 45_000_000_000n,
      grantedNanos: 5_000_000_000n,
      memo: {},
    }),
  );
}

async function credited(account: Account): Promise<bigint> {
  const balance = await walletBalance(sql, account.walletId);
  return (balance?.paidNanos ?? 0n) + (balance?.grantedNanos ?? 0n);
}

test('five concurrent credits with the same session as cause apply once (unique kind and cause of transfers)', async () => {
  const { account, payment } = await openPayment();
  const results = await Promise.all(Array.from({ length: 5 }, () => purchase(payment, 'cs_same_session')));
  expect(results.filter((r) => r.applied)).toHaveLength(1);
  expect(await credited(account)).toBe(50_000_000_000n);
});

test('a second credit of one payment under another cause is refused (one purchase per payment)', async () => {
  const { account, payment } = await openPayment();
  await purchase(payment, 'cs_first_cause');
  await expect(purchase(payment, 'pi_other_cause')).rejects.toThrow('payment_transfers_one_purchase');
  expect(await credited(account)).toBe(50_000_000_000n);
});

test('without the one-purchase index the same second credit goes through: the index is what refuses it', async () => {
  await sql`drop index payment_transfers_one_purchase`;
  const { account, payment } = await openPayment();
  await purchase(payment, 'cs_first_cause_again');
  await purchase(payment, 'pi_other_cause_again');
  expect(await credited(account)).toBe(100_000_000_000n);
});
