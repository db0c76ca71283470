import { afterAll, beforeAll, expect, test } from 'bun:test';
import type { BrowserContext, Page } from 'playwright-core';
import type { Tenant } from '../../db/queries/tenants.ts';
import { PASSWORD, phonePage, screenshot, signIn, type Stack, STACK_START_TIMEOUT_MS, startStack } from './harness.ts';

/**
 * White-label in a real browser: a reseller tenant served at its own domain (resolved to this
 * machine by Chromium's host rules) changes its branding and its pricing in the console, and a
 * customer page on that domain shows both at once, with no rebuild. The operator's console
 * (reports, customers, credit adjustments) is exercised on the root tenant.
 */

const DOMAIN = 'ai.reseller.test';
let stack: Stack;
let reseller: Tenant;
let admin: BrowserContext;
let page: Page;
let resellerUrl: string;

beforeAll(async () => {
  stack = await startStack();
  reseller = await stack.tenant('acme', { customDomain: DOMAIN, markupBps: 1000 });
  await stack.person(reseller, 'admin', 'boss@acme.example');
  resellerUrl = `http://${DOMAIN}:${stack.portalPort}`;
  admin = await stack.browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: resellerUrl });
  page = await admin.newPage();
}, STACK_START_TIMEOUT_MS);
afterAll(async () => {
  await stack?.close();
});

test("the reseller's domain shows its own name and its own prices before any change", async () => {
  await page.goto('/');
  await expect(page.getByTestId('brand-name').textContent()).resolves.toBe('acme');
  // $1/M upstream, +20% at the root, +10% for the reseller.
  await expect(page.locator('[data-model="fake/gpt-small"]').textContent()).resolves.toContain('$1.32');
});

test('a tenant admin changes the branding and every page shows it at once', async () => {
  await signIn(page, 'boss@acme.example');
  expect(new URL(page.url()).pathname).toBe('/admin');
  await page.goto('/admin/branding');
  await page.getByLabel('Name shown to customers').fill('Acme AI');
  await page.getByLabel('Primary colour', { exact: true }).fill('#b45309');
  await page.getByLabel('Support e-mail').fill('help@acme.example');
  await page.getByRole('button', { name: 'Save branding' }).click();
  await page.getByText('Branding saved').waitFor();
  await expect(page.getByTestId('brand-name').textContent()).resolves.toBe('Acme AI');
  await screenshot(page, 'admin-branding');
});

test('an invalid colour is refused with a clear message and the form keeps what was typed', async () => {
  await page.getByLabel('Primary colour', { exact: true }).fill('orange');
  await page.getByRole('button', { name: 'Save branding' }).click();
  await expect(page.getByRole('alert').first().textContent()).resolves.toContain('hex colour');
  expect(await page.getByLabel('Primary colour', { exact: true }).inputValue()).toBe('orange');
  expect(await page.getByLabel('Primary colour', { exact: true }).getAttribute('aria-invalid')).toBe('true');
});

test('a tenant admin adds a pricing rule and the prices follow', async () => {
  await page.goto('/admin/pricing');
  await page.getByLabel('Model or pattern').fill('fake/gpt-small');
  await page.getByLabel('Markup (%)', { exact: true }).nth(1).fill('50');
  await page.getByRole('button', { name: 'Save rule' }).click();
  await page.getByText('Rule for fake/gpt-small saved').waitFor();
  await expect(page.getByTestId('pricing-rules').textContent()).resolves.toContain('50%');
  await expect(
    page.locator('[data-testid="model-prices"] [data-model="fake/gpt-small"]').textContent(),
  ).resolves.toContain('$1.80');
  await screenshot(page, 'admin-pricing');
});

test("a customer of the reseller sees the new brand and price on the reseller's domain", async () => {
  const visitor = await stack.browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: resellerUrl });
  const customer = await visitor.newPage();
  await customer.goto('/');
  await expect(customer.getByTestId('brand-name').textContent()).resolves.toBe('Acme AI');
  await expect(customer.getByTestId('support-email').textContent()).resolves.toBe('help@acme.example');
  await expect(customer.locator('[data-model="fake/gpt-small"]').textContent()).resolves.toContain('$1.80');
  const brand = await customer.evaluate(() =>
    getComputedStyle(document.querySelector('.app')!).getPropertyValue('--brand').trim(),
  );
  expect(brand).toBe('#b45309');

  // Signing up here makes an account of the reseller, not of the operator.
  await customer.goto('/signup');
  await customer.getByLabel('E-mail').fill('buyer@example.com');
  await customer.getByLabel('Password').fill(PASSWORD);
  await Promise.all([
    customer.waitForURL('**/dashboard?welcome=1'),
    customer.getByRole('button', { name: 'Create account' }).click(),
  ]);
  const [account] = await stack.sql<
    { tenant_id: string }[]
  >`select tenant_id from accounts where email = 'buyer@example.com'`;
  expect(account?.tenant_id).toBe(reseller.id);
  await screenshot(customer, 'reseller-dashboard');
  await visitor.close();
});

/** Ten pages and eight full-page screenshots: past the default 30 s on the loaded 2-core machine. */
const CONSOLE_TOUR_TIMEOUT_MS = 120_000;

test(
  'the operator sees the console: reports, and customers whose credit can be adjusted with a reason',
  async () => {
    const operator = await stack.person(stack.root, 'operator', 'op@tollgate.example');
    const customer = await stack.person(stack.root, 'customer', 'grace@example.com');
    await stack.credit(customer, 2_000_000_000n);
    const context = await stack.context();
    const console = await context.newPage();
    await signIn(console, operator.email);
    await console.goto('/admin');
    await expect(console.getByTestId('report-revenue').isVisible()).resolves.toBe(true);
    await screenshot(console, 'admin-reports');

    await console.goto('/admin/customers?q=grace');
    const row = () => console.locator('tr[data-email="grace@example.com"]');
    // A reason is required: the browser says so before anything is sent, and nothing changes.
    await row().getByText('Adjust credit').click();
    await row().getByLabel('Amount (USD)').fill('1.25');
    await row().getByRole('button', { name: 'Apply adjustment' }).click();
    await expect(
      row()
        .getByLabel('Reason')
        .evaluate((input) => (input as HTMLInputElement).validity.valueMissing),
    ).resolves.toBe(true);
    expect(await row().getByLabel('Amount (USD)').inputValue()).toBe('1.25');
    await expect(
      stack.sql`select 1 from transfers where kind = 'adjustment'`.then((rows) => rows.length),
    ).resolves.toBe(0);
    await screenshot(console, 'admin-customers');

    await row().getByLabel('Reason').fill('Goodwill for the outage');
    await row().getByRole('button', { name: 'Apply adjustment' }).click();
    await console.getByText('Credit adjusted by $1.25').waitFor();
    await expect(row().textContent()).resolves.toContain('$3.25');
    const [entry] = await stack.sql<
      { reason: string }[]
    >`select memo->>'reason' as reason from transfers where kind = 'adjustment'`;
    expect(entry?.reason).toBe('Goodwill for the outage');

    for (const path of ['/admin', '/admin/customers', '/admin/pricing', '/admin/branding']) {
      const phone = await phonePage(stack, context);
      await phone.goto(path);
      await screenshot(phone, path === '/admin' ? 'admin-reports' : `admin-${path.split('/')[2]}`);
      await phone.context().close();
    }
    await context.close();
  },
  CONSOLE_TOUR_TIMEOUT_MS,
);
