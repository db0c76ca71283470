import { beforeAll, describe, expect, test } from 'bun:test';
import { hashApiKey, isWellFormedApiKey } from '../../core/api-key.ts';
import { insertRequests } from '../../db/queries/requests.ts';
import { testDatabase } from '../helpers.ts';
import { expectOneLineFailure, runCli, runCliJson } from './run-cli.ts';

type Money = { nanos: string; usd: string };
type KeyJson = {
  id: string;
  publicId: string;
  name: string;
  expiresAt: string | null;
  revokedAt: string | null;
  creditCap: Money | null;
  allowedModels: string[] | null;
  state?: string;
};
type CreatedKey = { key: string; warning: string; apiKey: KeyJson };

let db: Awaited<ReturnType<typeof testDatabase>>;
let env: Record<string, string>;

beforeAll(async () => {
  db = await testDatabase();
  env = { DATABASE_URL: db.url };
  await runCliJson(['account', 'create', '--email', 'kim@example.com'], env);
});

async function pepper(): Promise<string> {
  const [row] = await db.sql<{ value: string }[]>`select value from instance_secrets where name = 'api_key_pepper'`;
  if (!row) throw new Error('no pepper');
  return row.value;
}

describe('tollgate key create', () => {
  test('prints a well-formed key once, with a warning, and stores only its hash', async () => {
    const created = await runCliJson<CreatedKey>(
      [
        'key',
        'create',
        '--account',
        'kim@example.com',
        '--name',
        'laptop',
        '--expires-in-days',
        '30',
        '--credit-cap-usd',
        '5.25',
        '--allow-model',
        'openai/*',
        '--allow-model',
        'anthropic/*',
      ],
      env,
    );
    expect(isWellFormedApiKey(created.key)).toBe(true);
    expect(created.key.startsWith(created.apiKey.publicId)).toBe(true);
    expect(created.warning).toMatch(/cannot be shown again/);
    expect(created.apiKey).toMatchObject({
      name: 'laptop',
      creditCap: { nanos: '5250000000', usd: '5.25' },
      allowedModels: ['openai/*', 'anthropic/*'],
    });
    const days = (Date.parse(created.apiKey.expiresAt ?? '') - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThanOrEqual(30);

    const [row] = await db.sql<{ hash: Uint8Array; plaintext_rows: bigint }[]>`
      select k.hash, (select count(*) from api_keys x where position(${created.key} in x::text) > 0)::int8 as plaintext_rows
      from api_keys k where k.public_id = ${created.apiKey.publicId}`;
    expect(Buffer.from(row?.hash ?? []).equals(hashApiKey(created.key, await pepper()))).toBe(true);
    expect(Number(row?.plaintext_rows)).toBe(0);
  });

  test('shows the key in text output too, and never the hash in a listing', async () => {
    const result = await runCli(['key', 'create', '--account', 'kim@example.com'], env);
    expect(result.exitCode).toBe(0);
    const key = /^key:\s+(tg-\S+)$/m.exec(result.stdout)?.[1] ?? '';
    expect(isWellFormedApiKey(key)).toBe(true);
    expect(result.stdout).toContain('cannot be shown again');

    const listing = await runCli(['key', 'list', '--account', 'kim@example.com', '--json'], env);
    expect(listing.stdout).not.toContain(key);
    expect(listing.stdout).not.toContain('hash');
  });

  test('refuses an unknown account, a bad expiry and a malformed cap', async () => {
    expectOneLineFailure(
      await runCli(['key', 'create', '--account', 'nobody@example.com'], env),
      2,
      /no account "nobody@example.com"/,
    );
    expectOneLineFailure(
      await runCli(['key', 'create', '--account', 'kim@example.com', '--expires-in-days', '0'], env),
      2,
      /--expires-in-days/,
    );
    expectOneLineFailure(
      await runCli(['key', 'create', '--account', 'kim@example.com', '--credit-cap-usd', '5$'], env),
      2,
      /--credit-cap-usd/,
    );
  });
});

describe('tollgate key list and revoke', () => {
  test('revokes a key by public id, once, and lists it as revoked', async () => {
    const created = await runCliJson<CreatedKey>(
      ['key', 'create', '--account', 'kim@example.com', '--name', 'doomed'],
      env,
    );
    const first = await runCliJson<{ revoked: boolean; apiKey: KeyJson }>(
      ['key', 'revoke', created.apiKey.publicId],
      env,
    );
    expect(first.revoked).toBe(true);
    const again = await runCliJson<{ revoked: boolean; alreadyRevoked: boolean; apiKey: KeyJson }>(
      ['key', 'revoke', created.apiKey.id],
      env,
    );
    expect(again).toMatchObject({ revoked: false, alreadyRevoked: true });
    expect(again.apiKey.revokedAt).toBe(first.apiKey.revokedAt);

    const [row] = await db.sql<
      { revoked_at: Date | null }[]
    >`select revoked_at from api_keys where id = ${created.apiKey.id}::uuid`;
    expect(row?.revoked_at).toBeInstanceOf(Date);
    const { keys } = await runCliJson<{ keys: KeyJson[] }>(['key', 'list', '--account', 'kim@example.com'], env);
    expect(keys.find((key) => key.id === created.apiKey.id)?.state).toBe('revoked');
    expect(keys.length).toBe(3);
  });

  test("lists an uncapped key's spend from the usage log, as /v1/key and GraphQL show it", async () => {
    const created = await runCliJson<CreatedKey>(
      ['key', 'create', '--account', 'kim@example.com', '--name', 'used'],
      env,
    );
    const [owner] = await db.sql<{ account_id: string; tenant_id: string }[]>`
      select k.account_id, a.tenant_id from api_keys k join accounts a on a.id = k.account_id
      where k.id = ${created.apiKey.id}::uuid`;
    const request = {
      tenantId: owner?.tenant_id ?? '',
      accountId: owner?.account_id ?? '',
      apiKeyId: created.apiKey.id,
      route: '/v1/chat/completions',
      model: 'fake/gpt-small',
      stream: false,
      statusCode: 200,
      outcome: 'completed' as const,
      errorCode: null,
      promptTokens: 10,
      completionTokens: 20,
      promptTokensBound: 40,
      costNanos: 1n,
      holdNanos: 200_000_000n,
      estimated: false,
      usageDistrusted: false,
      generationId: null,
      latencyMs: 5,
      firstByteMs: null,
    };
    await insertRequests(db.sql, [
      { ...request, id: `cli-spend-${created.apiKey.id}-1`, chargeNanos: 100_000_000n },
      { ...request, id: `cli-spend-${created.apiKey.id}-2`, chargeNanos: 7_700_000n },
    ]);
    const { keys } = await runCliJson<{ keys: (KeyJson & { spent: Money })[] }>(
      ['key', 'list', '--account', 'kim@example.com'],
      env,
    );
    expect(keys.find((key) => key.id === created.apiKey.id)?.spent).toEqual({ nanos: '107700000', usd: '0.1077' });
    const text = await runCli(['key', 'list', '--account', 'kim@example.com'], env);
    expect(text.stdout.split('\n').find((line) => line.startsWith(created.apiKey.publicId))).toContain('0.1077');
  });

  test('refuses to revoke an unknown key or nothing at all', async () => {
    expectOneLineFailure(await runCli(['key', 'revoke', 'tg-00000000'], env), 2, /no key "tg-00000000"/);
    expectOneLineFailure(await runCli(['key', 'revoke'], env), 2, /missing/);
  });
});
