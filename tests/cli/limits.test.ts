import { beforeAll, describe, expect, test } from 'bun:test';
import { testDatabase } from '../helpers.ts';
import { expectOneLineFailure, runCli, runCliJson } from './run-cli.ts';

/** `tollgate limits …` end to end: the policies it writes are the rows the gateway's ratelimit plugin reads. */

type Money = { nanos: string; usd: string };
type Policy = {
  id: string;
  requestsPerMinute: number | null;
  requestsPerHour: number | null;
  tokensPerMinute: number | null;
  concurrentRequests: number | null;
  spendPerDay: Money | null;
  spendPerMonth: Money | null;
};
type PolicyJson = { subject: { kind: string; id: string; tenantSlug: string }; policy: Policy | null };

let db: Awaited<ReturnType<typeof testDatabase>>;
let env: Record<string, string>;
let publicId: string;

beforeAll(async () => {
  db = await testDatabase();
  env = { DATABASE_URL: db.url };
  await runCliJson(['account', 'create', '--email', 'lee@example.com'], env);
  publicId = (
    await runCliJson<{ apiKey: { publicId: string } }>(['key', 'create', '--account', 'lee@example.com'], env)
  ).apiKey.publicId;
});

async function policyRow(column: 'account_id' | 'api_key_id' | 'tenant_id' | 'whole_tenant_id', id: string) {
  const rows = await db.sql<
    { requests_per_minute: number | null; tokens_per_minute: number | null; spend_per_day_nanos: string | null }[]
  >`
    select requests_per_minute, tokens_per_minute, spend_per_day_nanos::text from rate_limit_policies where ${db.sql(column)} = ${id}::uuid`;
  return [...rows];
}

describe('tollgate limits', () => {
  test("sets an account's limits, keeps those not given on the next change and clears one with none", async () => {
    const first = await runCliJson<PolicyJson>(
      ['limits', 'set', '--account', 'lee@example.com', '--rpm', '60', '--spend-day', '5.50'],
      env,
    );
    expect(first.subject.kind).toBe('account');
    expect(first.policy).toMatchObject({
      requestsPerMinute: 60,
      tokensPerMinute: null,
      spendPerDay: { nanos: '5500000000', usd: '5.50' },
    });
    const second = await runCliJson<PolicyJson>(
      ['limits', 'set', '--account', 'lee@example.com', '--tpm', '1000', '--rpm', 'none'],
      env,
    );
    expect(second.policy).toMatchObject({
      id: first.policy?.id,
      requestsPerMinute: null,
      tokensPerMinute: 1000,
      spendPerDay: { nanos: '5500000000' },
    });
    expect(await policyRow('account_id', first.subject.id)).toEqual([
      { requests_per_minute: null, tokens_per_minute: 1000, spend_per_day_nanos: '5500000000' },
    ]);
    const shown = await runCliJson<PolicyJson>(['limits', 'show', '--account', 'lee@example.com'], env);
    expect(shown.policy).toEqual(second.policy);
  });

  test("sets a key's limits by its public id and the tenant's own, and lists both", async () => {
    const key = await runCliJson<PolicyJson>(
      ['limits', 'set', '--key', publicId, '--concurrency', '2', '--rph', '100', '--spend-month', '20'],
      env,
    );
    expect(key.subject).toMatchObject({ kind: 'apiKey', tenantSlug: 'root' });
    expect(key.policy).toMatchObject({ concurrentRequests: 2, requestsPerHour: 100, spendPerMonth: { usd: '20.00' } });
    const tenant = await runCliJson<PolicyJson>(['limits', 'set', '--tenant', 'root', '--rpm', '600'], env);
    expect(tenant.subject.kind).toBe('tenant');
    expect(await policyRow('tenant_id', tenant.subject.id)).toEqual([
      { requests_per_minute: 600, tokens_per_minute: null, spend_per_day_nanos: null },
    ]);
    const list = await runCliJson<{ policies: { subject: { kind: string } }[] }>(['limits', 'list'], env);
    expect(list.policies.map((p) => p.subject.kind).sort()).toEqual(['account', 'apiKey', 'tenant']);
    const text = await runCli(['limits', 'show', '--key', publicId], env);
    expect(text.stdout).toMatch(/concurrency:\s+2/);
  });

  test("sets the cap on the tenant as a whole apart from the tenant's default for each account", async () => {
    const whole = await runCliJson<PolicyJson>(['limits', 'set', '--whole-tenant', '--rpm', '5000'], env);
    expect(whole.subject).toMatchObject({ kind: 'wholeTenant', tenantSlug: 'root' });
    expect(await policyRow('whole_tenant_id', whole.subject.id)).toEqual([
      { requests_per_minute: 5000, tokens_per_minute: null, spend_per_day_nanos: null },
    ]);
    const shown = await runCli(['limits', 'show', '--whole-tenant', '--tenant', 'root'], env);
    expect(shown.stdout).toMatch(/limits for:\s+tenant root as a whole/);
    expect(shown.stdout).toMatch(/rpm:\s+5000/);
    expect((await runCliJson<{ cleared: boolean }>(['limits', 'clear', '--whole-tenant'], env)).cleared).toBe(true);
    expectOneLineFailure(
      await runCli(['limits', 'set', '--whole-tenant', '--account', 'lee@example.com', '--rpm', '1'], env),
      2,
      /--whole-tenant names a tenant/,
    );
  });

  test('clears a policy once, and says when there was none', async () => {
    const cleared = await runCliJson<{ cleared: boolean }>(['limits', 'clear', '--key', publicId], env);
    expect(cleared.cleared).toBe(true);
    expect(await runCliJson<PolicyJson>(['limits', 'show', '--key', publicId], env)).toMatchObject({ policy: null });
    const again = await runCli(['limits', 'clear', '--key', publicId], env);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain('no limits were set');
  });

  test('refuses a missing subject, two subjects, no limit, a bad number or amount, and an unknown key', async () => {
    const cases: [string[], RegExp][] = [
      [['limits', 'set', '--rpm', '10'], /name what the limits apply to: --account, --key, --tenant or --whole-tenant/],
      [
        ['limits', 'set', '--account', 'lee@example.com', '--key', publicId, '--rpm', '1'],
        /give --account or --key, not both/,
      ],
      [['limits', 'set', '--account', 'lee@example.com'], /give at least one limit/],
      [['limits', 'set', '--account', 'lee@example.com', '--rpm', '0'], /--rpm must be a whole number from 1 to/],
      [['limits', 'set', '--account', 'lee@example.com', '--tpm', '1.5'], /--tpm must be a whole number/],
      [['limits', 'set', '--account', 'lee@example.com', '--spend-day=-3'], /--spend-day must be more than zero/],
      [['limits', 'show', '--key', 'tg-nothere0'], /no key "tg-nothere0"/],
      [['limits', 'clear', '--account', 'ghost@example.com'], /no account "ghost@example.com"/],
    ];
    for (const [args, pattern] of cases) expectOneLineFailure(await runCli(args, env), 2, pattern);
  });
});
