import { afterAll, beforeAll, expect, test } from 'bun:test';
import type { BrowserContext, Page } from 'playwright-core';
import { findPendingClaim } from '../../db/queries/domain-claims.ts';
import type { Tenant } from '../../db/queries/tenants.ts';
import { accountCounter } from '../../schema/throttle.ts';
import { startDnsServer, type DnsServer } from '../schema/dns-server.ts';
import { openHydrated, PASSWORD, signIn, type Stack, STACK_START_TIMEOUT_MS, startStack } from './harness.ts';

/**
 * A reseller's customers are shown the reseller's API address and home page text, never the
 * operator's; its admin claims a domain on the branding page, reads the exact TXT record to
 * publish and proves it with "Verify now" (against a DNS server of the test's own). Sign-in links
 * to the password reset, says how long to wait when throttled, and a missing SMTP server is said.
 */

const DOMAIN = 'ai.own.test';
let stack: Stack;
let dns: DnsServer;
let reseller: Tenant;
let admin: BrowserContext;
let console: Page;
let resellerUrl: string;

beforeAll(async () => {
  dns = await startDnsServer();
  stack = await startStack({ TOLLGATE_DNS_SERVERS: dns.address });
  reseller = await stack.tenant('own', { customDomain: DOMAIN });
  await stack.person(reseller, 'admin', 'boss@own.example');
  resellerUrl = `http://${DOMAIN}:${stack.portalPort}`;
  admin = await stack.browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL: resellerUrl });
  console = await admin.newPage();
  await signIn(console, 'boss@own.example');
}, STACK_START_TIMEOUT_MS);
afterAll(async () => {
  await stack?.close();
  dns?.close();
});

async function visitor(baseURL: string): Promise<Page> {
  const context = await stack.browser.newContext({ viewport: { width: 1280, height: 800 }, baseURL });
  return context.newPage();
}

test("a reseller's domain shows its own API URL in the docs and on the keys page; the operator's shows the installation's", async () => {
  const own = await visitor(resellerUrl);
  await own.goto('/docs');
  await expect(own.getByTestId('base-url').first().textContent()).resolves.toBe(`https://${DOMAIN}/v1`);

  const customer = await stack.person(reseller, 'customer', 'buyer@own.example');
  await signIn(own, customer.email);
  await own.goto('/keys');
  await expect(own.getByTestId('keys-base-url').textContent()).resolves.toBe(`https://${DOMAIN}/v1`);
  await own.goto('/dashboard');
  await expect(own.getByTestId('base-url').first().textContent()).resolves.toBe(`https://${DOMAIN}/v1`);

  // What a model takes and gives: the catalog's own lists, else inferred from its prices.
  await own.goto('/models');
  const kinds = (id: string) => own.locator(`[data-model="${id}"] [data-testid="modalities"]`).textContent();
  await expect(kinds('fake/gpt-large')).resolves.toBe('text, image, file → text');
  await expect(kinds('fake/embed')).resolves.toBe('text → embeddings');

  const root = await visitor(stack.portalUrl);
  await root.goto('/docs');
  await expect(root.getByTestId('base-url').first().textContent()).resolves.toBe(`${stack.apiUrl}/v1`);
  await own.context().close();
  await root.context().close();
});

test('the reseller sets its API URL and home page text in the console, and its customers see them at once', async () => {
  await openHydrated(console, '/admin/branding');
  await console.getByLabel('API URL shown to customers').fill('https://api.own.example/v1');
  await console.getByLabel('Home page heading').fill('Own AI: models for builders');
  await console.getByLabel('Home page text').fill('Pay per token, in euros of patience.');
  await console.getByRole('button', { name: 'Save branding' }).click();
  await console.getByText('Branding saved').waitFor();

  const own = await visitor(resellerUrl);
  await own.goto('/');
  await expect(own.getByTestId('hero-headline').textContent()).resolves.toBe('Own AI: models for builders');
  await expect(own.getByTestId('hero-tagline').textContent()).resolves.toBe('Pay per token, in euros of patience.');
  await expect(own.locator('.hero-panel').textContent()).resolves.toContain('base_url="https://api.own.example/v1"');
  await own.goto('/docs');
  await expect(own.getByTestId('base-url').first().textContent()).resolves.toBe('https://api.own.example/v1');

  // The operator's own home page keeps its own text.
  const root = await visitor(stack.portalUrl);
  await root.goto('/');
  await expect(root.getByTestId('hero-headline').textContent()).resolves.toContain('Every leading AI model');
  await own.context().close();
  await root.context().close();
});

test('the console says e-mail is not set up when the server has no SMTP_URL', async () => {
  await console.goto('/admin');
  await expect(console.getByTestId('email-not-configured').textContent()).resolves.toContain('not set up');
  const anyone = await visitor(resellerUrl);
  await anyone.goto('/reset');
  await expect(anyone.getByTestId('email-not-configured').textContent()).resolves.toContain('does not send e-mail');
  await anyone.context().close();
});

test('sign-in links to the password reset, and a throttled sign-in says how many seconds to wait', async () => {
  const page = await visitor(resellerUrl);
  await openHydrated(page, '/signin');
  await Promise.all([page.waitForURL('**/reset'), page.getByRole('link', { name: 'Forgot password?' }).click()]);
  await expect(page.getByRole('heading', { level: 1 }).textContent()).resolves.toBe('Reset your password');

  // Nine failures already counted for this address: the next attempt must wait 16 seconds.
  const email = 'guessed@own.example';
  await stack.sql`
    insert into sign_in_throttle (key, failures, last_failure_at)
    values (${accountCounter(reseller.id, email).key}, 9, now())`;
  await openHydrated(page, '/signin');
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  const answer = page.waitForResponse((response) => response.request().method() === 'POST');
  await page.getByRole('button', { name: 'Sign in' }).click();
  const body = (await (await answer).json()) as { type: string; status: number };
  expect(body).toMatchObject({ type: 'failure', status: 429 });
  const alert = (await page.getByRole('alert').first().textContent()) ?? '';
  const seconds = Number(/try again in (\d+) seconds?/.exec(alert)?.[1]);
  expect(alert).toStartWith('Too many attempts.');
  expect(seconds).toBeGreaterThanOrEqual(10);
  expect(seconds).toBeLessThanOrEqual(16);
  await page.context().close();
});

test('the branding page gives the exact TXT record of a claimed domain, and "Verify now" proves it', async () => {
  const claimed = 'portal.own.test';
  await openHydrated(console, '/admin/branding');
  await console.getByLabel('Domain', { exact: true }).fill(claimed);
  await console.getByRole('button', { name: 'Save domain' }).click();
  await console.getByText(`${claimed} is claimed`).waitFor();
  const claim = await findPendingClaim(stack.sql, reseller.id);
  expect(claim?.domain).toBe(claimed);
  await expect(console.getByTestId('claim-record-name').textContent()).resolves.toBe(`_tollgate-verify.${claimed}`);
  await expect(console.getByTestId('claim-token').textContent()).resolves.toBe(claim?.token ?? '');

  // Nothing published yet: the check says so, and the old domain still serves the tenant.
  await console.getByRole('button', { name: 'Verify now' }).click();
  await expect(console.getByRole('alert').first().textContent()).resolves.toContain('TXT');
  const [before] = await stack.sql<{ domain: string }[]>`
    select custom_domain as domain from tenants where id = ${reseller.id}::uuid`;
  expect(before?.domain).toBe(DOMAIN);

  dns.records.set(`_tollgate-verify.${claimed}`, { txt: [claim?.token ?? ''] });
  // One check per claim every 3 seconds.
  await Bun.sleep(3_100);
  await console.getByRole('button', { name: 'Verify now' }).click();
  await console.getByText(`${claimed} is proved`).waitFor();
  const [after] = await stack.sql<{ domain: string }[]>`
    select custom_domain as domain from tenants where id = ${reseller.id}::uuid`;
  expect(after?.domain).toBe(claimed);
  await expect(console.getByTestId('domain-claim').count()).resolves.toBe(0);
}, 60_000);
