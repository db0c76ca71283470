import { afterAll, beforeAll, expect, test } from 'bun:test';
import type { Page } from 'playwright-core';
import { verifySignature } from '../../notify/webhook-signature.ts';
import { eventually } from '../gateway/harness.ts';
import { startReceiver, type Receiver } from '../outbox/receiver.ts';
import { openHydrated, screenshot, signIn, type Stack, STACK_START_TIMEOUT_MS, startStack } from './harness.ts';

/**
 * The portal's alerts and webhooks pages in a real browser: alerts set as an amount and as a share
 * of the last top-up, and an endpoint registered (its secret shown once) that a test event reaches,
 * signed, and whose delivery the page then lists.
 */

let stack: Stack;
let receiver: Receiver;
let page: Page;

beforeAll(async () => {
  receiver = startReceiver();
  stack = await startStack({ TOLLGATE_OUTBOUND_ALLOW_PRIVATE: 'on' });
  const account = await stack.person(stack.root, 'customer', 'hedy@example.com');
  await stack.credit(account, 20_000_000_000n);
  page = await stack.page();
  await signIn(page, 'hedy@example.com');
}, STACK_START_TIMEOUT_MS);
afterAll(async () => {
  await stack?.close();
  await receiver?.close();
});

test('balance alerts are added as an amount or a share of the last top-up, and removed', async () => {
  await openHydrated(page, '/billing');
  await Promise.all([
    page.waitForURL('**/alerts'),
    page.getByRole('link', { name: 'Get an e-mail when it runs low' }).click(),
  ]);
  await page.waitForSelector('html[data-hydrated]', { state: 'attached' });
  await page.getByLabel('Amount (USD)').fill('5');
  await page.getByRole('button', { name: 'Add alert' }).click();
  await page.getByRole('status').filter({ hasText: 'Alert added.' }).waitFor();
  await page.getByLabel('Alert me when my balance falls below').selectOption('share');
  await page.getByLabel('Share of the last top-up (%)').fill('20');
  await page.getByRole('button', { name: 'Add alert' }).click();
  const rows = page.getByTestId('alerts').locator('tbody tr');
  await eventually(
    () => rows.count(),
    (n) => n === 2,
  );
  await expect(rows.nth(0).textContent()).resolves.toContain('$5.00');
  await expect(rows.nth(0).textContent()).resolves.toContain('watching');
  await expect(rows.nth(1).textContent()).resolves.toContain('20% of the last top-up');
  await expect(rows.nth(1).textContent()).resolves.toContain('after your first top-up');
  await screenshot(page, 'alerts');
  await rows.nth(0).getByRole('button', { name: 'Remove this alert' }).click();
  await page.getByRole('status').filter({ hasText: 'Alert removed.' }).waitFor();
  await expect(rows.count()).resolves.toBe(1);
});

test('a webhook endpoint shows its secret once, gets a signed test event, and lists the delivery', async () => {
  await openHydrated(page, '/keys');
  await Promise.all([page.waitForURL('**/webhooks'), page.getByRole('link', { name: 'webhooks' }).click()]);
  await page.waitForSelector('html[data-hydrated]', { state: 'attached' });
  await page.getByLabel('URL').fill(`${receiver.url}/portal`);
  await page.getByRole('button', { name: 'Add endpoint' }).click();
  const secret = (await page.getByTestId('new-webhook-secret').textContent()) ?? '';
  expect(secret).toStartWith('tgwh_');
  await screenshot(page, 'webhooks-secret');
  await openHydrated(page, '/webhooks');
  await expect(page.getByTestId('new-webhook-secret').count()).resolves.toBe(0);
  await expect(page.locator('body').textContent()).resolves.not.toContain(secret);
  await page.getByRole('button', { name: 'Send test event' }).click();
  await page.getByRole('status').filter({ hasText: 'A test event' }).waitFor();
  const [delivery] = await eventually(
    async () => receiver.received.filter((r) => r.path === '/portal'),
    (list) => list.length === 1,
  );
  expect(verifySignature(delivery?.headers.get('tollgate-signature') ?? '', delivery?.body ?? '', secret)).toBe(true);
  const listed = await eventually(
    async () => {
      await page.goto('/webhooks');
      return (
        (await page
          .getByTestId('deliveries')
          .textContent()
          .catch(() => '')) ?? ''
      );
    },
    (text) => text.includes('delivered'),
  );
  expect(listed).toContain('test.ping');
  expect(listed).toContain('accepted (2xx)');
  await screenshot(page, 'webhooks');
  await page.getByText('Remove…').click();
  await page.getByRole('button', { name: 'Yes, remove it' }).click();
  await page.getByRole('status').filter({ hasText: 'The endpoint is removed.' }).waitFor();
  await expect(page.getByText('No endpoints yet.').count()).resolves.toBe(1);
});
