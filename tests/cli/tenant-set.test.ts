import { beforeAll, describe, expect, test } from 'bun:test';
import { testDatabase } from '../helpers.ts';
import { expectOneLineFailure, runCli, runCliJson } from './run-cli.ts';

/** `tollgate tenant set`: what the seed and tests did with UPDATE statements, as a command. */

type TenantJson = {
  slug: string;
  name: string;
  parentSlug: string | null;
  markupBps: number;
  customDomain: string | null;
  corsOrigins: { graphql: string[]; api: string[] };
};

let db: Awaited<ReturnType<typeof testDatabase>>;
let env: Record<string, string>;

beforeAll(async () => {
  db = await testDatabase();
  env = { DATABASE_URL: db.url };
  await runCliJson(['tenant', 'create', '--slug', 'acme', '--name', 'Acme'], env);
  await runCliJson(['tenant', 'create', '--slug', 'other', '--name', 'Other', '--domain', 'ai.other.example'], env);
});

describe('tollgate tenant set', () => {
  test('changes the name, markup and domain and keeps what is not given', async () => {
    const changed = await runCliJson<TenantJson>(
      [
        'tenant',
        'set',
        '--tenant',
        'acme',
        '--name',
        'Acme AI',
        '--markup-percent',
        '12.5',
        '--domain',
        'AI.Acme.example',
      ],
      env,
    );
    expect(changed).toMatchObject({
      slug: 'acme',
      name: 'Acme AI',
      parentSlug: 'root',
      markupBps: 1250,
      customDomain: 'ai.acme.example',
    });
    const kept = await runCliJson<TenantJson>(['tenant', 'set', '--tenant', 'acme', '--domain', 'none'], env);
    expect(kept).toMatchObject({ name: 'Acme AI', markupBps: 1250, customDomain: null });
  });

  test('replaces the allowed origins with normalized ones, and none empties a list', async () => {
    const set = await runCliJson<TenantJson>(
      [
        'tenant',
        'set',
        '--tenant',
        'acme',
        '--graphql-origin',
        'https://Dash.Acme.example/',
        '--api-origin',
        'https://app.acme.example',
        '--api-origin',
        'http://localhost:5173',
      ],
      env,
    );
    expect(set.corsOrigins).toEqual({
      graphql: ['https://dash.acme.example'],
      api: ['https://app.acme.example', 'http://localhost:5173'],
    });
    const [row] = await db.sql<
      { graphql_cors_origins: string[]; api_cors_origins: string[] }[]
    >`select graphql_cors_origins, api_cors_origins from tenants where slug = 'acme'`;
    expect(row).toEqual({
      graphql_cors_origins: ['https://dash.acme.example'],
      api_cors_origins: ['https://app.acme.example', 'http://localhost:5173'],
    });
    const emptied = await runCliJson<TenantJson>(['tenant', 'set', '--tenant', 'acme', '--api-origin', 'none'], env);
    expect(emptied.corsOrigins).toEqual({ graphql: ['https://dash.acme.example'], api: [] });
  });

  test('refuses a path in an origin, nothing to change, a domain in use, the installation own hosts and an unknown tenant', async () => {
    expectOneLineFailure(
      await runCli(['tenant', 'set', '--api-origin', 'https://app.example/v1'], env),
      2,
      /--api-origin must be an origin like https:\/\/app.example.com/,
    );
    expectOneLineFailure(
      await runCli(['tenant', 'set', '--graphql-origin', 'ftp://files.example'], env),
      2,
      /--graphql-origin must be an origin/,
    );
    expectOneLineFailure(await runCli(['tenant', 'set', '--tenant', 'acme'], env), 2, /nothing to change/);
    expectOneLineFailure(
      await runCli(['tenant', 'set', '--tenant', 'acme', '--domain', 'ai.other.example'], env),
      2,
      /another tenant already uses this domain/,
    );
    expectOneLineFailure(
      await runCli(['tenant', 'set', '--tenant', 'acme', '--domain', 'portal.operator.example'], {
        ...env,
        PORTAL_URL: 'https://portal.operator.example',
      }),
      2,
      /portal.operator.example is one of this installation's own hosts/,
    );
    expectOneLineFailure(
      await runCli(['tenant', 'create', '--slug', 'grab', '--name', 'Grab', '--domain', 'api.operator.example'], {
        ...env,
        PUBLIC_URL: 'https://api.operator.example',
      }),
      2,
      /api.operator.example is one of this installation's own hosts/,
    );
    expectOneLineFailure(
      await runCli(['tenant', 'set', '--tenant', 'nope', '--name', 'x'], env),
      2,
      /no tenant "nope"/,
    );
  });
});
