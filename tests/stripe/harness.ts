import Stripe from 'stripe';
import type { Database } from '../../db/open.ts';
import { createAccount, type Account, type Role } from '../../db/queries/accounts.ts';
import { verifyLedger, type Violation } from '../../db/queries/ledger-verify.ts';
import { createSession } from '../../db/queries/sessions.ts';
import { ensureRootTenant, type Tenant } from '../../db/queries/tenants.ts';
import { walletBalance } from '../../db/queries/transfers.ts';
import type { Sql } from '../../db/sql.ts';
import { loadConfig, type Config } from '../../app/config.ts';
import { createLogger } from '../../app/log.ts';
import { startPlatform, type PlatformOptions } from '../../gateway/platform.ts';
import type { Gateway } from '../../gateway/server.ts';
import type { LiveEvents } from '../../schema/live-events.ts';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream.ts';
import { PEPPER, UPSTREAM_KEY } from '../gateway/harness.ts';
import { testDatabase, testDataDir } from '../helpers.ts';
import { FAKE_SECRET_KEY, startFakeStripe, type FakeStripe } from './fake-stripe.ts';

/**
 * The whole platform (route table with /webhooks/stripe, /graphql, live events) on 127.0.0.1 over a
 * fresh database, with the real stripe SDK pointed at the fake Stripe, and helpers to buy, deliver
 * signed events and read balances.
 */

export const WEBHOOK_SECRET = 'whsec_currentTestSecret0123456789abcdef';
export const PREVIOUS_WEBHOOK_SECRET = 'whsec_previousTestSecret0123456789abcd';
export const PORTAL_URL = 'https://portal.example.test';

export type Person = { account: Account; token: string };
export type Delivery = { status: number; body: Record<string, unknown>; text: string };
type DeliverOptions = { secret?: string; timestamp?: number; header?: string | null; payload?: string };
export type Money = { paid: bigint; granted: bigint };
export type GqlResult<T> = {
  data: T | null;
  errors?: { message: string; extensions?: { code?: string; field?: string } }[];
};

export type StripeHarness = {
  fake: FakeStripe;
  gateway: Gateway;
  sql: Sql;
  databaseUrl: string;
  config: Config;
  events: LiveEvents;
  logs: string[];
  root: Tenant;
  person(role?: Role, tenant?: Tenant): Promise<Person>;
  gql<T>(query: string, variables?: Record<string, unknown>, token?: string): Promise<GqlResult<T>>;
  /** Buys through the API as the person; returns the Checkout Session id. */
  checkout(person: Person, packName: string, saveCard?: boolean): Promise<string>;
  deliver(event: unknown, options?: DeliverOptions): Promise<Delivery>;
  balance(account: Account): Promise<Money>;
  violations(): Promise<Violation[]>;
  close(): Promise<void>;
};

export async function signedHeader(payload: string, secret = WEBHOOK_SECRET, timestamp?: number): Promise<string> {
  return Stripe.webhooks.generateTestHeaderStringAsync({
    payload,
    secret,
    ...(timestamp === undefined ? {} : { timestamp }),
  });
}

function graphqlClient(baseUrl: string) {
  return async <T>(query: string, variables: Record<string, unknown> = {}, token?: string): Promise<GqlResult<T>> => {
    const response = await fetch(`${baseUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as GqlResult<T>;
  };
}

/** The database, both fakes and the platform, configured for the fake Stripe. */
async function boot(env: Record<string, string>, options: PlatformOptions) {
  const { sql, url } = await testDatabase();
  const fake = await startFakeStripe();
  const upstream: FakeUpstream = await startFakeUpstream({ apiKey: UPSTREAM_KEY });
  const config = loadConfig({
    HOST: '127.0.0.1',
    DATABASE_URL: url,
    UPSTREAM_BASE_URL: upstream.baseUrl,
    UPSTREAM_API_KEY: UPSTREAM_KEY,
    TOLLGATE_KEY_PEPPER: PEPPER,
    PORTAL_URL,
    STRIPE_SECRET_KEY: FAKE_SECRET_KEY,
    STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
    STRIPE_WEBHOOK_SECRET_PREVIOUS: PREVIOUS_WEBHOOK_SECRET,
    STRIPE_API_BASE_URL: fake.url,
    TOLLGATE_DATA_DIR: testDataDir(),
    LOG_LEVEL: 'debug',
    ...env,
  });
  const logs: string[] = [];
  const log = createLogger(config.logLevel, (line) => logs.push(line));
  const root = await ensureRootTenant(sql, config.defaultMarkupBps);
  const database: Database = { sql, url, root, keyPepper: PEPPER, close: async () => {} };
  const { gateway, events } = await startPlatform(config, database, log, {
    port: 0,
    backgroundCatalog: false,
    ...options,
  });
  await gateway.services.catalog.refreshFromUpstream();
  return { sql, url, fake, upstream, config, logs, root, gateway, events };
}

export async function startStripeHarness(
  env: Record<string, string> = {},
  options: PlatformOptions = {},
): Promise<StripeHarness> {
  const { sql, url, fake, upstream, config, logs, root, gateway, events } = await boot(env, options);
  let people = 0;

  const gql = graphqlClient(gateway.url);
  const harness: StripeHarness = {
    fake,
    gateway,
    sql,
    databaseUrl: url,
    config,
    events,
    logs,
    root,
    gql,
    async person(role = 'customer', tenant = root) {
      people += 1;
      const account = await createAccount(sql, {
        tenantId: tenant.id,
        email: `${role}${people}@${tenant.slug}.example`,
        role,
      });
      const { token } = await createSession(sql, account.id, 3_600);
      return { account, token };
    },
    async checkout(person, packName, saveCard = false) {
      const [pack] = await sql<
        { id: string }[]
      >`select id from credit_packs where tenant_id = ${person.account.tenantId}::uuid and name = ${packName}`;
      const result = await gql<{ startCheckout: { sessionId: string } }>(
        'mutation($p: ID!, $s: Boolean) { startCheckout(packId: $p, saveCard: $s) { sessionId } }',
        { p: pack?.id, s: saveCard },
        person.token,
      );
      if (!result.data) throw new Error(`checkout failed: ${JSON.stringify(result.errors)}`);
      return result.data.startCheckout.sessionId;
    },
    async deliver(event, options = {}) {
      const payload = options.payload ?? JSON.stringify(event, null, 2);
      const header =
        options.header === undefined ? await signedHeader(payload, options.secret, options.timestamp) : options.header;
      const response = await fetch(`${gateway.url}/webhooks/stripe`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(header === null ? {} : { 'stripe-signature': header }) },
        body: payload,
      });
      const text = await response.text();
      return { status: response.status, body: JSON.parse(text) as Record<string, unknown>, text };
    },
    async balance(account) {
      const balance = await walletBalance(sql, account.walletId);
      return { paid: balance?.paidNanos ?? 0n, granted: balance?.grantedNanos ?? 0n };
    },
    violations: async () => (await verifyLedger(sql)).violations,
    async close() {
      await gateway.stop(5_000);
      await upstream.close();
      await fake.close();
    },
  };
  return harness;
}

/** Nano-dollars of a USD amount written with cents, for readable expectations. */
export function usd(text: string): bigint {
  const [whole = '0', cents = ''] = text.split('.');
  return BigInt(whole) * 1_000_000_000n + BigInt(cents.padEnd(2, '0')) * 10_000_000n;
}
