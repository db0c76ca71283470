import { afterAll, beforeAll, expect, test } from 'bun:test';
import type { Page } from 'playwright-core';
import { createPlan } from '../../db/queries/plans.ts';
import type { StripeEvent } from '../stripe/fake-stripe-state.ts';
import type { FakeStripe } from '../stripe/fake-stripe.ts';
import { screenshot, type Stack, STACK_START_TIMEOUT_MS } from './harness.ts';
import { deliverSigned, startStripeStack, type StripeStack } from './stripe-stack.ts';

/**
 * A monthly plan in a real browser: the billing page offers the plans, Subscribe goes to Stripe
 * Checkout in subscription mode (the fake Stripe; its hosted page stubbed), the signed invoice
 * credits the month, a failed renewal is shown to the customer, and cancelling is one click.
 */

let started: StripeStack;
let fake: FakeStripe;
let stack: Stack;
let page: Page;
let subscriptionId = '';

const deliver = (event: StripeEvent) => deliverSigned(stack, event);

beforeAll(async () => {
  started = await startStripeStack('subscriber@example.com', (s) =>
    createPlan(s.sql, s.root.id, {
      name: 'Monthly',
      priceNanos: 20_000_000_000n,
      creditNanos: 22_000_000_000n,
      active: true,
      sortOrder: 0,
    }),
  );
  ({ fake, stack, page } = started);
}, STACK_START_TIMEOUT_MS);
afterAll(async () => {
  await started?.close();
});

test('subscribing goes to Checkout, and the paid first invoice shows the plan active with its credit', async () => {
  await page.goto('/billing');
  const plan = page.locator('[data-plan="Monthly"]');
  await expect(plan.textContent()).resolves.toContain('+$2.00 bonus');
  await Promise.all([
    page.waitForURL('https://checkout.stripe.test/**'),
    plan.getByRole('button', { name: /Subscribe to Monthly/ }).click(),
  ]);
  const sessionId = new URL(page.url()).pathname.split('/').pop() ?? '';
  const subscribed = fake.subscribe(sessionId);
  subscriptionId = subscribed.subscriptionId;
  await deliver(subscribed.invoicePaid);
  await deliver(subscribed.completed);
  await page.goto('/billing');
  const section = page.getByTestId('monthly-plan');
  await expect(section.textContent()).resolves.toContain('Active');
  await expect(page.getByTestId('plan-invoices').textContent()).resolves.toContain('$22.00');
  await expect(page.getByTestId('live-available').textContent()).resolves.toBe('$22.00');
});

test('a failed renewal is shown to the customer, and cancelling ends the plan at the month end', async () => {
  await deliver(fake.renew(subscriptionId, { fail: true }).event);
  await page.goto('/billing');
  await expect(page.getByTestId('plan-failure').textContent()).resolves.toContain('no credit was added');
  await expect(page.getByTestId('live-available').textContent()).resolves.toBe('$22.00');
  await screenshot(page, 'billing-plan-failed');
  await page.getByRole('button', { name: 'Cancel at month end' }).click();
  await page.getByText('Your plan is cancelled').waitFor();
  expect(fake.plans.subscriptions.get(subscriptionId)?.cancel_at_period_end).toBe(true);
  await page.getByRole('button', { name: 'Keep my plan' }).waitFor();
});
