import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { parseUsd } from '../../core/money.ts';
import { walletBalance } from '../../db/queries/transfers.ts';
import { eventually, startHarness, type Harness } from '../gateway/harness.ts';
import { expectOneLineFailure, runCli, runCliJson } from './run-cli.ts';

/** `tollgate usage` over requests that really went through the gateway and were settled. */

type Money = { nanos: string; usd: string };
type UsageJson = {
  accountId: string;
  requests: {
    requestId: string;
    createdAt: string;
    model: string;
    promptTokens: number;
    completionTokens: number;
    charge: Money;
  }[];
};

let h: Harness;
let env: Record<string, string>;
let email: string;
let walletId: bigint;
const requestIds: string[] = [];
const today = new Date().toISOString().slice(0, 10);
const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);

beforeAll(async () => {
  h = await startHarness();
  env = { DATABASE_URL: h.gateway.services.config.databaseUrl ?? '' };
  const { account, key } = await h.customer('1');
  email = account.email;
  walletId = account.walletId;
  const client = h.client(key);
  for (const content of ['first', 'second question']) {
    const { response } = await client.chat.completions
      .create({ model: 'fake/gpt-small', messages: [{ role: 'user', content }] })
      .withResponse();
    requestIds.push(response.headers.get('x-request-id') ?? '');
  }
  await eventually(
    () => h.sql<{ n: number }[]>`select count(*)::int4 as n from requests where account_id = ${account.id}::uuid`,
    (rows) => rows[0]?.n === 2,
  );
  await eventually(
    () => walletBalance(h.sql, walletId),
    (balance) => balance?.heldNanos === 0n,
  );
});
afterAll(async () => {
  await h.close();
});

describe('tollgate usage', () => {
  test('lists each request with its id, model and tokens, and the charges add up to what left the wallet', async () => {
    const usage = await runCliJson<UsageJson>(['usage', '--account', email, '--since', today], env);
    expect(usage.requests.map((r) => r.requestId).sort()).toEqual([...requestIds].sort());
    for (const request of usage.requests) {
      expect(request.model).toBe('fake/gpt-small');
      expect(request.promptTokens).toBeGreaterThan(0);
      expect(request.completionTokens).toBeGreaterThan(0);
      expect(BigInt(request.charge.nanos)).toBeGreaterThan(0n);
    }
    const charged = usage.requests.reduce((sum, r) => sum + BigInt(r.charge.nanos), 0n);
    const balance = await walletBalance(h.sql, walletId);
    expect((parseUsd('1') ?? 0n) - (balance?.paidNanos ?? 0n)).toBe(charged);
  });

  test('writes the same rows as CSV with the portal export columns', async () => {
    const result = await runCli(
      ['usage', '--account', email, '--since', today, '--until', tomorrow, '--format', 'csv'],
      env,
    );
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.trimEnd().split(/\r?\n/);
    expect(lines[0]).toStartWith('request_id,created_at,account_id,api_key_id,route,model,');
    expect(lines).toHaveLength(3);
    for (const id of requestIds) expect(lines.some((line) => line.startsWith(`${id},`))).toBe(true);
  });

  test('prints a table with a total, and says so when the range is empty', async () => {
    const result = await runCli(['usage', '--account', email, '--since', `${today}T00:00:00Z`], env);
    expect(result.stdout).toContain('REQUEST ID');
    expect(result.stdout).toMatch(/2 request\(s\), charged \$0\.\d+/);
    const empty = await runCli(['usage', '--account', email, '--since', tomorrow], env);
    expect(empty.exitCode).toBe(0);
    expect(empty.stdout).toContain(`no requests by ${email} in this range`);
  });

  test('refuses a malformed date, an empty range, an unknown format or account, and a missing --since', async () => {
    expectOneLineFailure(
      await runCli(['usage', '--account', email, '--since', 'yesterday'], env),
      2,
      /--since must be a date like 2024-05-01/,
    );
    expectOneLineFailure(
      await runCli(['usage', '--account', email, '--since', tomorrow, '--until', today], env),
      2,
      /--until must be after --since/,
    );
    expectOneLineFailure(
      await runCli(['usage', '--account', email, '--since', today, '--format', 'xml'], env),
      2,
      /--format must be one of table, csv, json/,
    );
    expectOneLineFailure(
      await runCli(['usage', '--account', 'ghost@example.com', '--since', today], env),
      2,
      /no account "ghost@example.com"/,
    );
    expectOneLineFailure(await runCli(['usage', '--account', email], env), 2, /--since is required/);
  });
});
