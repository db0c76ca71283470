import { expect } from 'bun:test';
import type { BrowserContext, Page } from 'playwright-core';
import type { Account } from '../../db/queries/accounts.ts';
import type { StripeEvent } from '../stripe/fake-stripe-state.ts';
import { FAKE_SECRET_KEY, startFakeStripe, type FakeStripe } from '../stripe/fake-stripe.ts';
import { signedHeader, WEBHOOK_SECRET } from '../stripe/harness.ts';
import { signIn, startStack, type Stack } from './harness.ts';

/**
 * The stack wired to the fake Stripe API, with a customer signed in in a browser whose view of
 * Stripe's hosted Checkout page is stubbed, and signed delivery of the fake's events.
 */

export type StripeStack = {
  fake: FakeStripe;
  stack: Stack;
  context: BrowserContext;
  page: Page;
  customer: Account;
  close(): Promise<void>;
};

export async function startStripeStack(
  email: string,
  prepare: (stack: Stack) => Promise<unknown> = async () => {},
): Promise<StripeStack> {
  const fake = await startFakeStripe();
  const stack = await startStack({
    STRIPE_SECRET_KEY: FAKE_SECRET_KEY,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_API_BASE_URL: fake.url,
  });
  await prepare(stack);
  const customer = await stack.person(stack.root, 'customer', email);
  const context = await stack.context();
  // Stripe's hosted payment page, as far as this browser is concerned.
  await context.route('https://checkout.stripe.test/**', (route) =>
    route.fulfill({
      contentType: 'text/html',
      body: '<!doctype html><title>Checkout</title><h1>Fake Stripe Checkout</h1>',
    }),
  );
  const page = await context.newPage();
  await signIn(page, customer.email);
  return {
    fake,
    stack,
    context,
    page,
    customer,
    close: async () => {
      await stack.close();
      await fake.close();
    },
  };
}

/** Delivers a fake Stripe event to the gateway's webhook, signed, and expects it accepted. */
export async function deliverSigned(stack: Stack, event: StripeEvent): Promise<void> {
  const payload = JSON.stringify(event);
  const delivery = await fetch(`${stack.apiUrl}/webhooks/stripe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': await signedHeader(payload) },
    body: payload,
  });
  expect(delivery.status).toBe(200);
}
