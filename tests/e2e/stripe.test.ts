import { afterAll, beforeAll, expect, test } from 'bun:test';
import type { BrowserContext, Page } from 'playwright-core';
import type { Account } from '../../db/queries/accounts.ts';
import { FAKE_SECRET_KEY, startFakeStripe, type FakeStripe } from '../stripe/fake-stripe.ts';
import { signedHeader, WEBHOOK_SECRET } from '../stripe/harness.ts';
import { phonePage, screenshot, signIn, startStack, type Stack } from './harness.ts';

/**
 * Buying credit in a real browser: the customer picks a pack, the portal sends them to Stripe
 * Checkout (the fake Stripe API; its hosted page is stubbed in the browser), Stripe sends them back
 * to the return page, and the balance there rises by itself when the signed webhook lands.
 */

let fake: FakeStripe;
let stack: Stack;
let context: BrowserContext;
let page: Page;
let customer: Account;

beforeAll(async () => {
  fake = await startFakeStripe();
  stack = await startStack({ STRIPE_SECRET_KEY: FAKE_SECRET_KEY, STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, STRIPE_API_BASE_URL: fake.url });
  customer = await stack.person(stack.root, 'customer', 'payer@example.com');
  context = await stack.context();
  // Stripe's hosted payment page, as far as this browser is concerned.
  await context.route('https://checkout.stripe.test/**', (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>Checkout</title><h1>Fake Stripe Checkout</h1>' }));
  page = await context.newPage();
  await signIn(page, customer.email);
});
afterAll(async () => {
  await stack?.close();
  await fake?.close();
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
  await Promise.all([page.waitForURL('https://checkout.stripe.test/**'), page.getByRole('button', { name: /Buy Pro/ }).click()]);
  const sessionId = new URL(page.url()).pathname.split('/').pop() ?? '';
  expect(sessionId).toStartWith('cs_');

  // Stripe sends the customer back before (or after) the webhook; here, before.
  await page.goto(`/billing/return?session_id=${sessionId}`);
  await page.getByTestId('credit-waiting').waitFor();
  await expect(page.getByTestId('live-available').textContent()).resolves.toBe('$0.00');
  await page.locator('.badge-ok', { hasText: 'live' }).waitFor();

  const payload = JSON.stringify(fake.pay(sessionId));
  const delivery = await fetch(`${stack.apiUrl}/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': await signedHeader(payload) },
    body: payload,
  });
  expect(delivery.status).toBe(200);

  await page.getByTestId('credit-arrived').waitFor({ timeout: 10_000 });
  await expect(page.getByTestId('credit-arrived').textContent()).resolves.toContain('$50.00 added');
  await expect(page.getByTestId('live-available').textContent()).resolves.toBe('$50.00');
  await screenshot(page, 'billing-return');
});

test('the payment is listed with its receipt', async () => {
  await page.goto('/billing');
  const payments = page.getByTestId('payments');
  await expect(payments.textContent()).resolves.toContain('Paid');
  await expect(payments.getByRole('link', { name: /Receipt/ }).getAttribute('href')).resolves.toStartWith('https://pay.stripe.test/receipts/');
  await screenshot(page, 'billing');
});
