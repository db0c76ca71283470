import { afterAll, beforeAll, expect, test } from 'bun:test';
import type { BrowserContext, Page } from 'playwright-core';
import type { FakeStripe } from '../stripe/fake-stripe.ts';
import { phonePage, screenshot, type Stack, STACK_START_TIMEOUT_MS } from './harness.ts';
import { deliverSigned, startStripeStack, type StripeStack } from './stripe-stack.ts';

/**
 * Buying credit in a real browser: the customer picks a pack, the portal sends them to Stripe
 * Checkout (the fake Stripe API; its hosted page is stubbed in the browser), Stripe sends them back
 * to the return page, and the balance there rises by itself when the signed webhook lands.
 */

let started: StripeStack;
let fake: FakeStripe;
let stack: Stack;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  started = await startStripeStack('payer@example.com');
  ({ fake, stack, context, page } = started);
}, STACK_START_TIMEOUT_MS);
afterAll(async () => {
  await started?.close();
});

test('the billing page offers the packs with their bonus', async () => {
  await page.goto('/billing');
  const pro = page.locator('[data-pack="Pro"]');
  await expect(pro.textContent()).resolves.toContain('+$5.00 bonus');
  await expect(pro.textContent()).resolves.toContain('$45.00');
  await screenshot(page, 'billing-packs');
  const phone = await phonePage(stack, context);
  await phone.goto('/billing');
  await screenshot(phone, 'billing-packs');
  await phone.context().close();
});

test('buying a pack goes to Checkout, and the balance rises live on the return page after the signed webhook', async () => {
  await Promise.all([
    page.waitForURL('https://checkout.stripe.test/**'),
    page.getByRole('button', { name: /Buy Pro/ }).click(),
  ]);
  const sessionId = new URL(page.url()).pathname.split('/').pop() ?? '';
  expect(sessionId).toStartWith('cs_');

  // Stripe sends the customer back before (or after) the webhook; here, before.
  await page.goto(`/billing/return?session_id=${sessionId}`);
  await page.getByTestId('credit-waiting').waitFor();
  await expect(page.getByTestId('live-available').textContent()).resolves.toBe('$0.00');
  await page.locator('.badge-ok', { hasText: 'live' }).waitFor();

  await deliverSigned(stack, fake.pay(sessionId));

  await page.getByTestId('credit-arrived').waitFor({ timeout: 10_000 });
  await expect(page.getByTestId('credit-arrived').textContent()).resolves.toContain('$50.00 added');
  await expect(page.getByTestId('live-available').textContent()).resolves.toBe('$50.00');
  await screenshot(page, 'billing-return');
});

test('the payment is listed with its receipt', async () => {
  await page.goto('/billing');
  const payments = page.getByTestId('payments');
  await expect(payments.textContent()).resolves.toContain('Paid');
  await expect(payments.getByRole('link', { name: /Receipt/ }).getAttribute('href')).resolves.toStartWith(
    'https://pay.stripe.test/receipts/',
  );
  await screenshot(page, 'billing');
});
