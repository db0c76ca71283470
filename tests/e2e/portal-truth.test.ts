import { afterAll, beforeAll, expect, test } from 'bun:test';
import type { BrowserContext, Page } from 'playwright-core';
import { createApiKey } from '../../db/queries/api-keys.ts';
import { exactUsd, usd } from '../../portal/src/lib/format.ts';
import {
  DESKTOP,
  openHydrated,
  PEPPER,
  PHONE,
  screenshot,
  signIn,
  type Stack,
  STACK_START_TIMEOUT_MS,
  startStack,
} from './harness.ts';
import { horizontalOverflow, LONG_KEY_NAME, RESELLER_DOMAIN, seedShowcase, type Showcase } from './showcase.ts';

/**
 * What the portal shows about money and limits is what the ledger holds: balances with the
 * precision they have (a fraction of a cent moves them), every page usable at phone width and in
 * dark mode, long inputs refused or cut, models at the customer's own prices. One browser for the
 * whole file.
 */

let stack: Stack;
let showcase: Showcase;
let customer: BrowserContext;
let page: Page;

const POLL_ATTEMPTS = 100;
const POLL_INTERVAL_MS = 50;
/** Every page once at phone width, on the loaded 2-core machine. */
const PHONE_TOUR_TIMEOUT_MS = 180_000;

beforeAll(async () => {
  stack = await startStack();
  showcase = await seedShowcase(stack);
  customer = await stack.context();
  page = await customer.newPage();
  await signIn(page, showcase.customer.email);
}, STACK_START_TIMEOUT_MS);
afterAll(async () => {
  await stack?.close();
});

/** The wallet's available credit once no hold is open (the request has settled). */
async function settledAvailable(walletId: bigint): Promise<bigint> {
  for (let attempt = 0; attempt < POLL_ATTEMPTS; attempt += 1) {
    const [wallet] = await stack.sql<{ available: bigint; held: bigint }[]>`
      select paid_nanos + granted_nanos - held_nanos as available, held_nanos as held from wallets where id = ${walletId}`;
    if (wallet && wallet.held === 0n) return wallet.available;
    await Bun.sleep(POLL_INTERVAL_MS);
  }
  throw new Error('the request never settled');
}

test('a balance moves by a fraction of a cent on the dashboard, billing and the top bar', async () => {
  const person = await stack.person(stack.root, 'customer', 'penny@example.com');
  await stack.credit(person, 5_000_000_000n);
  const { key } = await createApiKey(stack.sql, PEPPER, { accountId: person.id, name: 'penny' });
  const context = await stack.context();
  const own = await context.newPage();
  await signIn(own, person.email);
  await own.goto('/billing');
  await expect(own.getByTestId('live-available').textContent()).resolves.toBe('$5.00');
  await expect(own.getByTestId('topbar-balance').textContent()).resolves.toBe('$5.00');
  await own.getByText('● live').waitFor();

  await stack
    .openai(key)
    .chat.completions.create({ model: 'fake/gpt-small', messages: [{ role: 'user', content: 'one cheap request' }] });
  const available = await settledAvailable(person.walletId);
  const spent = 5_000_000_000n - available;
  expect(spent).toBeGreaterThan(0n);
  expect(spent).toBeLessThan(10_000_000n);
  // The live balance follows without a reload, and reads what the ledger holds, cut and never rounded up.
  await own.waitForFunction(
    (text) => document.querySelector('[data-testid="live-available"]')?.textContent === text,
    usd(available),
  );
  expect(usd(available)).not.toBe('$5.00');
  await expect(own.getByTestId('live-available').getAttribute('title')).resolves.toBe(exactUsd(available));

  await own.goto('/dashboard');
  await expect(own.getByTestId('balance-available').textContent()).resolves.toBe(usd(available));
  await expect(own.getByTestId('topbar-balance').textContent()).resolves.toBe(usd(available));
  await expect(own.getByTestId('spend-today').textContent()).resolves.toBe(usd(spent));
  await context.close();
});

test('a usage range with From after To says what is wrong instead of failing', async () => {
  const response = await page.goto('/usage?from=2025-02-01&to=2025-01-01');
  expect(response?.status()).toBe(200);
  await expect(page.getByTestId('range-error').textContent()).resolves.toContain('is after “To”');
  expect(await page.getByLabel('From').getAttribute('aria-invalid')).toBe('true');
  const csv = await page.evaluate(async () => (await fetch('/usage/export?from=2025-02-01&to=2025-01-01')).status);
  expect(csv).toBe(400);
});

test('a key name longer than the limit is refused with the field named, even past the form', async () => {
  const cookie = (await customer.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
  const body = new URLSearchParams({ name: 'k'.repeat(5_000) });
  const response = await fetch(`${stack.portalUrl}/keys?/create`, {
    method: 'POST',
    body,
    headers: { cookie, origin: stack.portalUrl, accept: 'application/json', 'x-sveltekit-action': 'true' },
  });
  const answer = JSON.stringify(await response.json());
  expect(answer).toContain('At most 200 characters');
  expect(answer).toContain('name');
  const [stored] = await stack.sql<{ n: number }[]>`select count(*)::int as n from api_keys where length(name) > 200`;
  expect(stored?.n).toBe(0);
});

test('a long key name is cut with an ellipsis in the table, whole in its title, at both widths', async () => {
  for (const viewport of [DESKTOP, PHONE]) {
    await page.setViewportSize(viewport);
    await page.goto('/keys');
    const name = page.locator('[data-testid="key-name"]', { hasText: 'nightly batch job' });
    await expect(name.getAttribute('title')).resolves.toBe(LONG_KEY_NAME);
    const cut = await name.evaluate((el) => ({
      scroll: el.scrollWidth,
      client: el.clientWidth,
      overflow: getComputedStyle(el).textOverflow,
    }));
    expect(cut.overflow).toBe('ellipsis');
    expect(cut.scroll).toBeGreaterThan(cut.client);
    const { scrollWidth, innerWidth } = await horizontalOverflow(page);
    expect(scrollWidth).toBeLessThanOrEqual(innerWidth);
  }
  await page.setViewportSize(DESKTOP);
});

type ListedModel = { id: string; pricing: { prompt: string; completion: string } };

/** `/v1/models` prices are USD per token; a million tokens of them, in nano-dollars, is the same digits. */
function perMillionNanos(usdPerToken: string): bigint {
  const [whole = '0', fraction = ''] = usdPerToken.split('.');
  return BigInt(whole) * 10n ** 15n + BigInt(fraction.padEnd(15, '0'));
}

test("the models page shows each customer the prices /v1/models gives that customer's key, on the reseller's domain too", async () => {
  const resellerCustomer = await stack.person(showcase.reseller, 'customer', 'buyer@acme.example');
  const { key: resellerKey } = await createApiKey(stack.sql, PEPPER, {
    accountId: resellerCustomer.id,
    name: 'acme app',
  });
  const resellerContext = await stack.browser.newContext({
    viewport: DESKTOP,
    baseURL: `http://${RESELLER_DOMAIN}:${stack.portalPort}`,
  });
  const resellerPage = await resellerContext.newPage();
  await signIn(resellerPage, resellerCustomer.email);
  for (const [viewer, key] of [
    [page, showcase.key],
    [resellerPage, resellerKey],
  ] as const) {
    const listed = (await (
      await fetch(`${stack.apiUrl}/v1/models`, { headers: { authorization: `Bearer ${key}` } })
    ).json()) as { data: ListedModel[] };
    await viewer.goto('/models');
    expect(listed.data.length).toBeGreaterThan(0);
    expect(await viewer.locator('[data-testid="models"] tbody tr').count()).toBe(listed.data.length);
    for (const model of listed.data) {
      const row = viewer.locator(`tr[data-model="${model.id}"]`);
      const prompt = perMillionNanos(model.pricing.prompt);
      const completion = perMillionNanos(model.pricing.completion);
      await expect(row.getByTestId('price-prompt').getAttribute('title')).resolves.toBe(exactUsd(prompt));
      await expect(row.getByTestId('price-prompt').textContent()).resolves.toBe(usd(prompt));
      await expect(row.getByTestId('price-completion').getAttribute('title')).resolves.toBe(exactUsd(completion));
    }
  }
  const [root, acme] = await Promise.all(
    [page, resellerPage].map((p) =>
      p.locator('tr[data-model="fake/gpt-small"] [data-testid="price-prompt"]').textContent(),
    ),
  );
  expect(root).not.toBe(acme);
  await resellerContext.close();
});

test('the models page searches and sorts, copies an id, and opens the playground on the model', async () => {
  await page.goto('/models');
  await page.waitForSelector('html[data-hydrated]', { state: 'attached' });
  await page.getByLabel('Search').fill('large');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="models"] tbody tr').length === 1);
  expect(new URL(page.url()).searchParams.get('q')).toBe('large');
  await page.getByLabel('Search').fill('');
  await page.getByLabel('Sort by').selectOption('prompt');
  const order = await page
    .locator('[data-testid="models"] tbody tr')
    .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-model')));
  expect(order[0]).toBe('fake/cheap');
  const row = page.locator('tr[data-model="fake/gpt-large"]');
  await row.getByRole('link', { name: 'Try in playground' }).click();
  await page.waitForURL((url) => url.pathname === '/playground');
  await page.waitForSelector('html[data-hydrated]', { state: 'attached' });
  expect(await page.getByLabel('Model').inputValue()).toBe('fake/gpt-large');
});

test(
  'no page scrolls sideways at phone width, and the top bar has a menu there',
  async () => {
    const phones = {
      public: await stack.context(PHONE),
      customer: await stack.context(PHONE),
      admin: await stack.context(PHONE),
    };
    await phones.customer.addCookies(await customer.cookies());
    await signIn(await phones.admin.newPage(), showcase.admin.email);
    const wide: string[] = [];
    for (const entry of showcase.pages) {
      const phone = await phones[entry.audience].newPage();
      await phone.goto(entry.path);
      const { scrollWidth, innerWidth } = await horizontalOverflow(phone);
      if (scrollWidth > innerWidth) wide.push(`${entry.path}: ${scrollWidth} > ${innerWidth}`);
      await phone.close();
    }
    expect(wide).toEqual([]);

    const phone = await phones.customer.newPage();
    await openHydrated(phone, '/dashboard');
    await expect(
      phone.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Usage' }).isVisible(),
    ).resolves.toBe(false);
    await phone.getByTestId('menu-button').click();
    await phone.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Usage' }).click();
    await phone.waitForURL((url) => url.pathname === '/usage');
    await expect(
      phone.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Usage' }).isVisible(),
    ).resolves.toBe(false);
    await expect(phone.getByTestId('topbar-balance').isVisible()).resolves.toBe(true);
    await Promise.all(Object.values(phones).map((context) => context.close()));
  },
  PHONE_TOUR_TIMEOUT_MS,
);

test('the portal follows the system colour scheme: dark pages with light text when the system is dark', async () => {
  const luminance = (target: Page, selector: string, property: 'backgroundColor' | 'color') =>
    target.evaluate(
      ([css, prop]) => {
        const [r = 0, g = 0, b = 0] = (
          getComputedStyle(document.querySelector(css) as Element)[prop as 'color'].match(/\d+(\.\d+)?/g) ?? []
        ).map(Number);
        return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
      },
      [selector, property] as const,
    );
  for (const colorScheme of ['light', 'dark'] as const) {
    const context = await stack.browser.newContext({ viewport: DESKTOP, baseURL: stack.portalUrl, colorScheme });
    await context.addCookies(await customer.cookies());
    const themed = await context.newPage();
    await themed.goto('/dashboard');
    const background = await luminance(themed, 'body', 'backgroundColor');
    const card = await luminance(themed, '.card', 'backgroundColor');
    const text = await luminance(themed, 'h1', 'color');
    if (colorScheme === 'dark') {
      expect(background).toBeLessThan(0.2);
      expect(card).toBeLessThan(0.2);
      expect(text).toBeGreaterThan(0.7);
    } else {
      expect(background).toBeGreaterThan(0.9);
      expect(text).toBeLessThan(0.2);
    }
    await screenshot(themed, `dashboard-${colorScheme}`);
    await context.close();
  }
});
