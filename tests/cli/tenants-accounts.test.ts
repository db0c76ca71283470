import { beforeAll, describe, expect, test } from 'bun:test';
import { testDatabase } from '../helpers.ts';
import { expectOneLineFailure, runCli, runCliJson } from './run-cli.ts';

type TenantJson = {
  id: string;
  slug: string;
  parentSlug: string | null;
  markupBps: number;
  customDomain: string | null;
};
type AccountJson = { id: string; email: string; role: string; tenantSlug: string; walletId: string };

let db: Awaited<ReturnType<typeof testDatabase>>;
let env: Record<string, string>;

beforeAll(async () => {
  db = await testDatabase();
  env = { DATABASE_URL: db.url };
});

describe('tollgate migrate', () => {
  test('reports an already migrated database as up to date', async () => {
    const result = await runCliJson<{ applied: string[]; total: number; database: string }>(['migrate'], env);
    expect(result.applied).toEqual([]);
    expect(result.total).toBeGreaterThanOrEqual(1);
    expect(result.database).toBe('external');
    const [row] = await db.sql<{ count: bigint }[]>`select count(*)::int8 as count from schema_migrations`;
    expect(Number(row?.count)).toBe(result.total);
  });
});

describe('tollgate tenant', () => {
  test('creates a tenant under the root with the root markup by default', async () => {
    const tenant = await runCliJson<TenantJson>(
      ['tenant', 'create', '--slug', 'acme', '--name', 'Acme AI', '--domain', 'AI.Acme.com'],
      env,
    );
    expect(tenant.parentSlug).toBe('root');
    expect(tenant.customDomain).toBe('ai.acme.com');
    const [row] = await db.sql<{ markup_bps: number; root_markup: number; wallets: bigint }[]>`
      select t.markup_bps, r.markup_bps as root_markup, (select count(*) from wallets w where w.tenant_id = t.id)::int8 as wallets
      from tenants t join tenants r on r.id = t.parent_id where t.id = ${tenant.id}::uuid`;
    expect(row?.markup_bps).toBe(row?.root_markup ?? -1);
    // revenue, clearing, promotion, adjustment, uncollected and its wholesale wallet at the parent
    expect(Number(row?.wallets)).toBe(6);
  });

  test('creates a sub-tenant under a parent given by slug with its own exact markup', async () => {
    const tenant = await runCliJson<TenantJson>(
      ['tenant', 'create', '--slug', 'acme-eu', '--name', 'Acme EU', '--parent', 'acme', '--markup-percent', '12.25'],
      env,
    );
    expect(tenant.parentSlug).toBe('acme');
    expect(tenant.markupBps).toBe(1225);
  });

  test('lists every tenant, root first', async () => {
    const { tenants } = await runCliJson<{ tenants: TenantJson[] }>(['tenant', 'list'], env);
    expect(tenants.map((tenant) => tenant.slug)).toEqual(['root', 'acme', 'acme-eu']);
    const text = await runCli(['tenant', 'list'], env);
    expect(text.stdout).toContain('acme-eu');
  });

  test('refuses a slug that is taken, an unknown parent and a malformed markup', async () => {
    expectOneLineFailure(
      await runCli(['tenant', 'create', '--slug', 'acme', '--name', 'Again'], env),
      2,
      /already exists/,
    );
    expectOneLineFailure(
      await runCli(['tenant', 'create', '--slug', 'x', '--name', 'X', '--parent', 'nope'], env),
      2,
      /no tenant "nope"/,
    );
    expectOneLineFailure(
      await runCli(['tenant', 'create', '--slug', 'y', '--name', 'Y', '--markup-percent', '12.345'], env),
      2,
      /--markup-percent/,
    );
  });
});

describe('tollgate account create', () => {
  test('creates a customer account with its wallet in the root tenant', async () => {
    const account = await runCliJson<AccountJson>(['account', 'create', '--email', 'alice@example.com'], env);
    expect(account).toMatchObject({ email: 'alice@example.com', role: 'customer', tenantSlug: 'root' });
    const [row] = await db.sql<
      { kind: string }[]
    >`select w.kind from wallets w where w.account_id = ${account.id}::uuid`;
    expect(row?.kind).toBe('customer');
  });

  test('creates an admin in a named tenant, where the same email may exist again', async () => {
    const account = await runCliJson<AccountJson>(
      ['account', 'create', '--email', 'alice@example.com', '--tenant', 'acme', '--role', 'admin'],
      env,
    );
    expect(account).toMatchObject({ role: 'admin', tenantSlug: 'acme' });
  });

  test('refuses a duplicate email in one tenant, a bad role and an unknown tenant', async () => {
    expectOneLineFailure(
      await runCli(['account', 'create', '--email', 'ALICE@example.com'], env),
      2,
      /already exists in this tenant/,
    );
    expectOneLineFailure(
      await runCli(['account', 'create', '--email', 'b@example.com', '--role', 'king'], env),
      2,
      /--role must be one of/,
    );
    expectOneLineFailure(
      await runCli(['account', 'create', '--email', 'b@example.com', '--tenant', 'nope'], env),
      2,
      /no tenant "nope"/,
    );
  });
});
