import { afterAll, beforeAll, expect, test } from 'bun:test';
import OpenAI from 'openai';
import { parseUsd } from '../../core/money.ts';
import { createApiKey } from '../../db/queries/api-keys.ts';
import { exactUsd, usd } from '../../portal/src/lib/format.ts';
import { openHydrated, PEPPER, signIn, type Stack, STACK_START_TIMEOUT_MS, startStack } from './harness.ts';

/**
 * Limits as a reseller sets them and customers live with them, in a real browser: a tenant default
 * set in the console counts for each customer apart (and each customer's dashboard says so), and a
 * key capped in the keys page spends up to its cap and no further, the page showing exactly what
 * the ledger took.
 */

let stack: Stack;

beforeAll(async () => {
  stack = await startStack();
}, STACK_START_TIMEOUT_MS);
afterAll(async () => {
  await stack?.close();
});

/** A changed policy reaches the gateway within 2 s (plugins/ratelimit.ts). */
const POLICY_PROPAGATION_MS = 2_500;
const PROMPT = [{ role: 'user' as const, content: 'hi' }];

async function ask(client: OpenAI): Promise<{ status: number; message: string }> {
  try {
    await client.chat.completions.create({ model: 'fake/gpt-small', messages: PROMPT });
    return { status: 200, message: '' };
  } catch (error) {
    if (!(error instanceof OpenAI.APIError)) throw error;
    return { status: error.status ?? -1, message: error.message };
  }
}

test('a tenant default set in the console counts for each customer apart, and each dashboard says so', async () => {
  const admin = await stack.person(stack.root, 'admin', 'limits-boss@root.example');
  const [ann, bob] = [await stack.person(stack.root), await stack.person(stack.root)];
  for (const person of [ann, bob]) await stack.credit(person, 1_000_000_000n);
  const console = await stack.page();
  await signIn(console, admin.email);
  await openHydrated(console, '/admin/limits');
  await console.getByLabel('Applies to').selectOption('TENANT');
  await console.getByLabel('Requests per minute').fill('1');
  await console.getByRole('button', { name: 'Save policy' }).click();
  await console.getByText('Policy saved').waitFor();
  await Bun.sleep(POLICY_PROPAGATION_MS);

  const annKey = stack.openai((await createApiKey(stack.sql, PEPPER, { accountId: ann.id })).key);
  const bobKey = stack.openai((await createApiKey(stack.sql, PEPPER, { accountId: bob.id })).key);
  // One request each: a shared counter would refuse Bob's.
  expect((await ask(annKey)).status).toBe(200);
  expect((await ask(bobKey)).status).toBe(200);
  expect((await ask(annKey)).status).toBe(429);

  for (const person of [ann, bob]) {
    const page = await stack.page();
    await signIn(page, person.email);
    await page.goto('/dashboard');
    const own = (await page.getByTestId('limits-account').textContent()) ?? '';
    expect(own).toContain('counted for your account alone');
    expect(own).toContain('1 request a minute');
    await expect(page.getByTestId('limits-whole-tenant').count()).resolves.toBe(0);
    await page.context().close();
  }
  await console.context().close();
  // The next test's customers are not held to it.
  await stack.sql`delete from rate_limit_policies where tenant_id = ${stack.root.id}::uuid`;
  await Bun.sleep(POLICY_PROPAGATION_MS);
}, 120_000);

/** Enough for a handful of requests of fake/gpt-small at the root's price. */
const CAP_USD = '0.0001';
const MAX_REQUESTS = 40;

test('a key capped in the keys page spends up to its cap and no further, and the page shows exactly what it spent', async () => {
  const customer = await stack.person(stack.root);
  await stack.credit(customer, 1_000_000_000n);
  const page = await stack.page();
  await signIn(page, customer.email);
  await openHydrated(page, '/keys');
  await page.getByLabel('Name').fill('capped');
  await page.getByText('Limits (optional)').click();
  await page.locator('#new-cap').fill(CAP_USD);
  await page.getByRole('button', { name: 'Create key' }).click();
  const key = (await page.getByTestId('new-key-value').textContent()) ?? '';
  expect(key).toStartWith('tg-');

  const client = stack.openai(key);
  const statuses: number[] = [];
  let refusal = '';
  for (let i = 0; i < MAX_REQUESTS && refusal === ''; i++) {
    const answer = await ask(client);
    statuses.push(answer.status);
    if (answer.status !== 200) refusal = answer.message;
  }
  expect(statuses.at(-1)).toBe(402);
  expect(statuses.length).toBeGreaterThan(2);
  expect(statuses.slice(0, -1).every((status) => status === 200)).toBe(true);

  const cap = parseUsd(CAP_USD) ?? -1n;
  const needed = parseUsd(/request needs \(\$([0-9.]+)\)/.exec(refusal)?.[1] ?? '') ?? -1n;
  const [row] = await stack.sql<{ spent: bigint; held: bigint }[]>`
      select spent_nanos as spent, held_nanos as held from api_keys where name = 'capped'`;
  expect(row?.held).toBe(0n);
  const spent = row?.spent ?? -1n;
  // Up to the cap, never past it, and refused only when what is left cannot pay for one request.
  expect(spent).toBeLessThanOrEqual(cap);
  expect(cap - spent).toBeLessThan(needed);
  const [charged] = await stack.sql<{ total: bigint }[]>`
      select coalesce(sum(r.charge_nanos), 0)::int8 as total from requests r
      join api_keys k on k.id = r.api_key_id where k.name = 'capped'`;
  expect(charged?.total).toBe(spent);

  await page.goto('/keys');
  const shown = page.locator('tr[data-key="capped"] [data-testid="key-spent"]');
  await expect(shown.getAttribute('title')).resolves.toBe(exactUsd(spent));
  await page.context().close();
}, 120_000);

/** What a key's requests were charged, once `requests` of them are logged and none holds anything. */
async function settledSpend(keyId: string, requests: number): Promise<bigint> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const [row] = await stack.sql<{ total: bigint; logged: number; held: bigint }[]>`
      select coalesce(sum(r.charge_nanos), 0)::int8 as total, count(r.id)::int4 as logged,
        (select held_nanos from api_keys where id = ${keyId}::uuid) as held
      from requests r where r.api_key_id = ${keyId}::uuid`;
    if (row && row.logged === requests && row.held === 0n) return row.total;
    await Bun.sleep(50);
  }
  throw new Error('the requests never settled');
}

test("an uncapped key's spend shows on the keys page, and a day limit set later counts what was spent before it", async () => {
  const customer = await stack.person(stack.root);
  await stack.credit(customer, 1_000_000_000n);
  const { key, apiKey } = await createApiKey(stack.sql, PEPPER, { accountId: customer.id, name: 'uncapped' });
  const client = stack.openai(key);
  for (let i = 0; i < 2; i++) expect((await ask(client)).status).toBe(200);
  const spent = await settledSpend(apiKey.id, 2);
  expect(spent).toBeGreaterThan(0n);

  const page = await stack.page();
  await signIn(page, customer.email);
  await page.goto('/keys');
  const shown = page.locator('tr[data-key="uncapped"] [data-testid="key-spent"]');
  await expect(shown.getAttribute('title')).resolves.toBe(exactUsd(spent));
  await expect(shown.textContent()).resolves.toBe(usd(spent));

  // The operator sets a day limit on this account now: what it counts includes the spend above.
  const admin = await stack.person(stack.root, 'admin');
  const console = await stack.page();
  await signIn(console, admin.email);
  await openHydrated(console, '/admin/limits');
  await console.getByLabel('Applies to').selectOption('ACCOUNT');
  await console.getByLabel('Customer e-mail').fill(customer.email);
  await console.getByLabel('Spend per day (USD)').fill('1');
  await console.getByRole('button', { name: 'Save policy' }).click();
  await console.getByText('Policy saved').waitFor();
  await page.goto('/dashboard');
  const own = (await page.getByTestId('limits-account').textContent()) ?? '';
  expect(own).toContain('Set for your account');
  expect(own).toContain(`$1.00 a day (spent today: ${usd(spent)})`);
  await page.context().close();
  await console.context().close();
}, 120_000);
