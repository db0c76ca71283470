import type { Db } from '../sql.ts';

/** The Stripe customer of each account that has bought through Stripe, and its saved card. */

type StripeCustomer = { accountId: string; customerId: string; paymentMethodId: string | null };

type CustomerRow = { account_id: string; customer_id: string; payment_method_id: string | null };

export async function findStripeCustomer(db: Db, accountId: string): Promise<StripeCustomer | undefined> {
  const [row] = await db<
    CustomerRow[]
  >`select account_id, customer_id, payment_method_id from stripe_customers where account_id = ${accountId}::uuid`;
  return row
    ? { accountId: row.account_id, customerId: row.customer_id, paymentMethodId: row.payment_method_id }
    : undefined;
}

/** Keeps the first customer recorded for the account; a concurrent second one is the same customer (same idempotency key). */
export async function saveStripeCustomer(db: Db, accountId: string, customerId: string): Promise<void> {
  await db`insert into stripe_customers (account_id, customer_id) values (${accountId}::uuid, ${customerId}) on conflict (account_id) do nothing`;
}

export async function saveDefaultPaymentMethod(db: Db, accountId: string, paymentMethodId: string): Promise<void> {
  await db`update stripe_customers set payment_method_id = ${paymentMethodId}, updated_at = now() where account_id = ${accountId}::uuid`;
}
