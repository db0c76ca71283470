import { createAccount, type Account, type Role } from '../../db/queries/accounts.ts';
import { createTenant, ensureRootTenant, tenantWalletId, type Tenant } from '../../db/queries/tenants.ts';
import { recordTransfer } from '../../db/queries/transfers.ts';
import type { Sql } from '../../db/sql.ts';
import { loadConfig, type Config } from '../../app/config.ts';
import type { ApiServices } from '../../schema/context.ts';
import { createLiveEvents, type LiveEvents } from '../../schema/live-events.ts';
import { createGraphqlHandler } from '../../schema/server.ts';
import { testDatabase } from '../helpers.ts';

/** The GraphQL API on a real port over a fresh database, with helpers to make people and call it. */

export const PEPPER = 'test-pepper-0123456789abcdef0123456789abcdef';
export const PASSWORD = 'correct horse battery';

export type GqlError = { message: string; extensions?: { code?: string; field?: string } };
export type GqlResult<T = Record<string, unknown>> = {
  status: number;
  data: T | null;
  errors: GqlError[] | undefined;
  headers: Headers;
};
export type CallOptions = { token?: string; cookie?: string; host?: string; headers?: Record<string, string> };
export type Person = { account: Account; token: string };

export type ApiHarness = {
  url: string;
  sql: Sql;
  config: Config;
  events: LiveEvents;
  root: Tenant;
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    options?: CallOptions,
  ): Promise<GqlResult<T>>;
  /** Like gql, but fails the test on any error and returns the data. */
  ok<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    options?: CallOptions,
  ): Promise<T>;
  person(tenant: Tenant, role?: Role, email?: string): Promise<Person>;
  tenant(slug: string, parent?: Tenant, markupBps?: number): Promise<Tenant>;
  credit(account: Account, usd: bigint): Promise<void>;
  close(): Promise<void>;
};

export async function startApi(
  env: Record<string, string> = {},
  services: Pick<ApiServices, 'domainCheck'> = {},
): Promise<ApiHarness> {
  const { sql, url } = await testDatabase();
  const config = loadConfig({ DATABASE_URL: url, LOG_LEVEL: 'error', TOLLGATE_KEY_PEPPER: PEPPER, ...env });
  const root = await ensureRootTenant(sql, config.defaultMarkupBps);
  const events = createLiveEvents();
  const handler = createGraphqlHandler({ sql, config, keyPepper: PEPPER, rootTenantId: root.id, events, ...services });
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    fetch: (request, bun) => handler(request, bun.requestIP(request)?.address),
  });
  const endpoint = `http://127.0.0.1:${server.port}/graphql`;
  let people = 0;

  const gql = async <T>(
    query: string,
    variables: Record<string, unknown> = {},
    options: CallOptions = {},
  ): Promise<GqlResult<T>> => {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.cookie) headers.cookie = options.cookie;
    if (options.host) headers.host = options.host;
    const response = await fetch(endpoint, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    const body = (await response.json()) as { data?: T | null; errors?: GqlError[] };
    return { status: response.status, data: body.data ?? null, errors: body.errors, headers: response.headers };
  };

  const harness: ApiHarness = {
    url: endpoint,
    sql,
    config,
    events,
    root,
    gql,
    async ok<T>(query: string, variables?: Record<string, unknown>, options?: CallOptions) {
      const result = await gql<T>(query, variables, options);
      if (result.errors || !result.data) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
      return result.data;
    },
    async person(tenant, role = 'customer', email) {
      people += 1;
      const address = email ?? `${role}${people}@${tenant.slug}.example`;
      const passwordHash = await Bun.password.hash(PASSWORD, { algorithm: 'argon2id' });
      const account = await createAccount(sql, { tenantId: tenant.id, email: address, role, passwordHash });
      const signIn = await harness.ok<{ signIn: { token: string } }>(
        'mutation($e: String!, $p: String!, $t: String) { signIn(email: $e, password: $p, tenantSlug: $t) { token } }',
        { e: address, p: PASSWORD, t: tenant.slug },
      );
      return { account, token: signIn.signIn.token };
    },
    tenant: (slug, parent = root, markupBps = 1000) =>
      createTenant(sql, { slug, name: slug, markupBps, parentId: parent.id }),
    async credit(account, nanos) {
      const clearing = await tenantWalletId(sql, account.tenantId, 'clearing');
      await recordTransfer(sql, {
        kind: 'purchase',
        cause: `test-${account.id}-${crypto.randomUUID()}`,
        entries: [
          { walletId: account.walletId, funding: 'paid', amountNanos: nanos },
          { walletId: clearing, funding: 'paid', amountNanos: -nanos },
        ],
      });
    },
    async close() {
      await server.stop(true);
    },
  };
  return harness;
}

/** The codes of a result's errors, for assertions like `expect(codes(r)).toEqual(['NOT_FOUND'])`. */
export function codes(result: { errors?: GqlError[] }): (string | undefined)[] {
  return (result.errors ?? []).map((error) => error.extensions?.code);
}
