import type { Page } from 'playwright-core';
import type { Account } from '../../db/queries/accounts.ts';
import { createApiKey } from '../../db/queries/api-keys.ts';
import { createPlan } from '../../db/queries/plans.ts';
import type { Tenant } from '../../db/queries/tenants.ts';
import { PEPPER, type Stack } from './harness.ts';

/**
 * A portal with something on every page (a customer who has spent, keys with and without limits,
 * an overlong key name, a reseller and a monthly plan), and the list of every page with who sees
 * it: shared by the screenshot script and the browser tests that visit every page.
 */

export type Audience = 'public' | 'customer' | 'admin';
export type PortalPage = { name: string; path: string; audience: Audience };

export type Showcase = {
  admin: Account;
  customer: Account;
  key: string;
  requestIds: string[];
  reseller: Tenant;
  pages: PortalPage[];
};

/** The reseller's own domain; Chromium resolves *.test to this machine (see the harness). */
export const RESELLER_DOMAIN = 'ai.acme.test';

/** A key name far longer than any table column, to show that tables cut it instead of widening. */
export const LONG_KEY_NAME = `nightly batch job ${'with a very long name '.repeat(8)}`.trim();
const SHOWCASE_CREDIT_NANOS = 25_000_000_000n;

const PUBLIC_PAGES: PortalPage[] = [
  { name: 'landing', path: '/', audience: 'public' },
  { name: 'signin', path: '/signin', audience: 'public' },
  { name: 'signup', path: '/signup', audience: 'public' },
  { name: 'docs', path: '/docs', audience: 'public' },
];

const CUSTOMER_PAGES: PortalPage[] = [
  { name: 'dashboard', path: '/dashboard', audience: 'customer' },
  { name: 'models', path: '/models', audience: 'customer' },
  { name: 'keys', path: '/keys', audience: 'customer' },
  { name: 'usage', path: '/usage', audience: 'customer' },
  { name: 'billing', path: '/billing', audience: 'customer' },
  { name: 'playground', path: '/playground', audience: 'customer' },
];

const ADMIN_PAGES: PortalPage[] = [
  { name: 'admin-reports', path: '/admin', audience: 'admin' },
  { name: 'admin-customers', path: '/admin/customers', audience: 'admin' },
  { name: 'admin-requests', path: '/admin/usage', audience: 'admin' },
  { name: 'admin-pricing', path: '/admin/pricing', audience: 'admin' },
  { name: 'admin-limits', path: '/admin/limits', audience: 'admin' },
  { name: 'admin-packs', path: '/admin/packs', audience: 'admin' },
  { name: 'admin-plans', path: '/admin/plans', audience: 'admin' },
  { name: 'admin-branding', path: '/admin/branding', audience: 'admin' },
  { name: 'admin-tenants', path: '/admin/tenants', audience: 'admin' },
];

/** Seeds the showcase: the requests go through the real gateway with the official SDK. */
export async function seedShowcase(stack: Stack): Promise<Showcase> {
  const admin = await stack.person(stack.root, 'admin', 'admin@example.com');
  const customer = await stack.person(stack.root, 'customer', 'customer@example.com');
  await stack.credit(customer, SHOWCASE_CREDIT_NANOS);
  const { key } = await createApiKey(stack.sql, PEPPER, { accountId: customer.id, name: 'production web app' });
  await createApiKey(stack.sql, PEPPER, {
    accountId: customer.id,
    name: LONG_KEY_NAME,
    creditCapNanos: 2_000_000_000n,
    allowedModels: ['fake/gpt-small'],
  });
  const requestIds: string[] = [];
  for (const model of ['fake/gpt-small', 'fake/gpt-large', 'fake/gpt-small']) {
    const { response } = await stack
      .openai(key)
      .chat.completions.create({ model, messages: [{ role: 'user', content: `Hello ${model}` }] })
      .withResponse();
    requestIds.push(response.headers.get('x-request-id') ?? '');
  }
  const reseller = await stack.tenant('acme', { customDomain: RESELLER_DOMAIN });
  await createPlan(stack.sql, stack.root.id, {
    name: 'Pro monthly',
    priceNanos: 20_000_000_000n,
    creditNanos: 22_000_000_000n,
    active: true,
    sortOrder: 0,
  });
  // Pages about one thing of the showcase: a request's drawer, a customer's page.
  const detailPages: PortalPage[] = [
    { name: 'usage-request', path: `/usage?request=${encodeURIComponent(requestIds[1] ?? '')}`, audience: 'customer' },
    { name: 'admin-customer', path: `/admin/customers/${customer.id}`, audience: 'admin' },
    {
      name: 'admin-request',
      path: `/admin/usage?request=${encodeURIComponent(requestIds[0] ?? '')}`,
      audience: 'admin',
    },
  ];
  return {
    admin,
    customer,
    key,
    requestIds,
    reseller,
    pages: [...PUBLIC_PAGES, ...CUSTOMER_PAGES, ...ADMIN_PAGES, ...detailPages],
  };
}

/** The page scrolls sideways when its content is wider than the window. */
export function horizontalOverflow(page: Page): Promise<{ scrollWidth: number; innerWidth: number }> {
  return page.evaluate(() => ({
    scrollWidth: document.scrollingElement?.scrollWidth ?? 0,
    innerWidth: window.innerWidth,
  }));
}
