import { afterAll, beforeAll, expect, test } from 'bun:test';
import { AuthenticationError } from 'openai';
import type { BrowserContext, Page } from 'playwright-core';
import { phonePage, screenshot, type Stack, STACK_START_TIMEOUT_MS, startStack } from './harness.ts';

/**
 * A customer's whole journey in a real browser against the built portal and a real gateway:
 * sign up, create a key (shown once), call the API with that key through the official OpenAI
 * SDK, see the request and its exact charge in the dashboard and the usage log, chat in the
 * playground, revoke the key and watch the SDK be refused.
 */

/** Exact USD text as the API writes it: at least two decimals, trailing zeros trimmed past them. */
function formatNanos(nanos: bigint): string {
  const fraction = (nanos % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '').padEnd(2, '0');
  return `${nanos / 1_000_000_000n}.${fraction}`;
}

let stack: Stack;
let context: BrowserContext;
let page: Page;
const EMAIL = 'ada@example.com';

beforeAll(async () => {
  stack = await startStack();
  context = await stack.context();
  page = await context.newPage();
}, STACK_START_TIMEOUT_MS);
afterAll(async () => {
  await stack?.close();
});

test('the landing page lists the models with their prices', async () => {
  await page.goto('/');
  const row = page.locator('[data-model="fake/gpt-small"]');
  // The fake upstream charges $1 per million prompt tokens; the default markup is 20%.
  await expect(row.textContent()).resolves.toContain('$1.20');
  await screenshot(page, 'landing');
  const phone = await phonePage(stack, context);
  await phone.goto('/');
  await screenshot(phone, 'landing');
  await phone.context().close();
});

test('signing up with a short password says what is wrong and keeps the e-mail', async () => {
  await page.goto('/signup');
  await page.getByLabel('E-mail').fill(EMAIL);
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByRole('alert').textContent()).resolves.toContain('at least 8 characters');
  expect(await page.getByLabel('E-mail').inputValue()).toBe(EMAIL);
  await screenshot(page, 'signup-error');
});

test('a new customer signs up and lands on an empty dashboard', async () => {
  await page.getByLabel('Name').fill('Ada');
  await page.getByLabel('Password').fill('a long enough password');
  await Promise.all([
    page.waitForURL('**/dashboard?welcome=1'),
    page.getByRole('button', { name: 'Create account' }).click(),
  ]);
  await expect(page.getByTestId('balance-available').textContent()).resolves.toBe('$0.00');
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'tg_portal_session');
  expect(session?.httpOnly).toBe(true);
  expect(session?.sameSite).toBe('Lax');
});

let key = '';

test('creating a key shows it once with a warning, and the list shows only its prefix', async () => {
  const [account] = await stack.sql<
    { id: string; tenant_id: string; wallet_id: bigint }[]
  >`select a.id, a.tenant_id, w.id as wallet_id from accounts a join wallets w on w.account_id = a.id where a.email = ${EMAIL}`;
  if (!account) throw new Error('the signed-up account is missing');
  await stack.credit(
    { id: account.id, tenantId: account.tenant_id, walletId: account.wallet_id } as never,
    5_000_000_000n,
  );

  await page.goto('/keys');
  await page.getByLabel('Name').fill('my app');
  await page.getByRole('button', { name: 'Create key' }).click();
  const shown = page.getByTestId('new-key-value');
  key = (await shown.textContent()) ?? '';
  expect(key).toStartWith('tg-');
  await expect(page.getByTestId('new-key').textContent()).resolves.toContain('only time the key is shown');
  await expect(page.getByRole('button', { name: 'Copy key' }).isVisible()).resolves.toBe(true);
  await screenshot(page, 'keys-created');

  await page.goto('/keys');
  const row = page.locator('tr[data-key="my app"]');
  const text = (await row.textContent()) ?? '';
  expect(text).not.toContain(key);
  expect(text).toContain('never');
});

test('the key works with the OpenAI SDK and its usage and charge appear in the dashboard', async () => {
  const completion = await stack
    .openai(key)
    .chat.completions.create({ model: 'fake/gpt-large', messages: [{ role: 'user', content: 'Hello from the SDK' }] });
  expect(completion.choices[0]?.message.content).toBeTruthy();
  let charge = 0n;
  for (let attempt = 0; attempt < 50 && charge === 0n; attempt += 1) {
    const [row] = await stack.sql<
      { charge_nanos: bigint }[]
    >`select charge_nanos from requests where model = 'fake/gpt-large'`;
    charge = row?.charge_nanos ?? 0n;
    if (charge === 0n) await Bun.sleep(50);
  }
  expect(charge).toBeGreaterThan(0n);

  await page.goto('/dashboard');
  const recent = page.getByTestId('recent-requests');
  const text = (await recent.textContent()) ?? '';
  expect(text).toContain('fake/gpt-large');
  expect(text).toContain('OK · 200');
  const exact = `$${formatNanos(charge)}`;
  await expect(recent.locator('td[title]').first().getAttribute('title')).resolves.toBe(exact);
  await expect(page.getByTestId('spend-today').textContent()).resolves.not.toBe('$0.00');
  await expect(page.locator('svg[aria-label^="Spend per day"]').count()).resolves.toBe(1);
  await screenshot(page, 'dashboard');
  const phone = await phonePage(stack, context);
  await phone.goto('/dashboard');
  await screenshot(phone, 'dashboard');
  await phone.context().close();
});

test('the usage page lists the request, filters by model, and exports CSV', async () => {
  await page.goto('/usage');
  await expect(page.getByTestId('usage-log').textContent()).resolves.toContain('fake/gpt-large');
  await expect(page.getByTestId('usage-by-model').textContent()).resolves.toContain('fake/gpt-large');
  await screenshot(page, 'usage');
  await page.getByLabel('Model', { exact: true }).selectOption('fake/cheap');
  await Promise.all([
    page.waitForURL((url) => url.searchParams.get('model') === 'fake/cheap'),
    page.getByRole('button', { name: 'Apply' }).click(),
  ]);
  await expect(page.locator('main').textContent()).resolves.toContain('No request matches these filters.');

  const csv = await page.evaluate(async () => (await fetch('/usage/export')).text());
  expect(csv.split('\n')[0]).toContain('model');
  expect(csv).toContain('fake/gpt-large');
  const phone = await phonePage(stack, context);
  await phone.goto('/usage');
  await screenshot(phone, 'usage');
  await phone.context().close();
});

test('the playground streams a reply and shows its charge', async () => {
  await page.goto('/playground');
  await page.getByLabel('Model').selectOption('fake/gpt-small');
  await page.getByLabel('Message').fill('Say something');
  await page.getByRole('button', { name: 'Send' }).click();
  const charge = page.getByTestId('reply-charge');
  await charge.waitFor({ timeout: 10_000 });
  expect(await charge.textContent()).toMatch(/in · \d+ out · charged \$0\.\d+/);
  await screenshot(page, 'playground');
  // The playground's key is an ordinary key of the account, listed (and revocable) like the others.
  await page.goto('/keys');
  await expect(page.locator('tr[data-key="Playground"]').count()).resolves.toBe(1);
});

test('billing shows the balance and says purchases are unavailable when payments are not configured', async () => {
  await page.goto('/billing');
  const [wallet] = await stack.sql<
    { available: bigint }[]
  >`select w.paid_nanos + w.granted_nanos - w.held_nanos as available from wallets w join accounts a on a.id = w.account_id where a.email = ${EMAIL}`;
  const available = page.getByTestId('live-available');
  await expect(available.textContent()).resolves.toMatch(/^\$\d/);
  await expect(available.getAttribute('title')).resolves.toBe(`$${formatNanos(wallet?.available ?? 0n)}`);
  await expect(page.getByTestId('purchases-unavailable').isVisible()).resolves.toBe(true);
  await screenshot(page, 'billing');
  const phone = await phonePage(stack, context);
  await phone.goto('/billing');
  await screenshot(phone, 'billing');
  await phone.context().close();
});

test('revoking the key asks for confirmation, and then the SDK is refused', async () => {
  await page.goto('/keys');
  const row = page.locator('tr[data-key="my app"]');
  await row.getByText('Revoke…').click();
  await row.getByRole('button', { name: 'Yes, revoke this key' }).click();
  await page.getByText('is revoked').waitFor();
  await page.goto('/keys?revoked=1');
  await expect(page.locator('tr[data-key="my app"]').textContent()).resolves.toContain('Revoked');
  // Gateways cache key lookups for at most 1.5 s.
  await Bun.sleep(1_600);
  const refused = await stack
    .openai(key)
    .chat.completions.create({ model: 'fake/gpt-small', messages: [{ role: 'user', content: 'again' }] })
    .catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(AuthenticationError);
});

test('signing out ends the session and protected pages send you to sign in', async () => {
  await page.goto('/dashboard');
  await Promise.all([page.waitForURL('**/signin'), page.getByRole('button', { name: 'Sign out' }).click()]);
  await page.goto('/keys');
  expect(new URL(page.url()).pathname).toBe('/signin');
  await screenshot(page, 'signin');
  expect(stack.portalLog.join('')).not.toContain('tgs-');
});
