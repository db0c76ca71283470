import { expect } from 'bun:test';
import OpenAI from 'openai';
import { parseUsd } from '../../core/money.ts';
import type { Database } from '../../db/open.ts';
import { createAccount, type Account } from '../../db/queries/accounts.ts';
import { createApiKey, type NewApiKey } from '../../db/queries/api-keys.ts';
import { ensureRootTenant, tenantWalletId } from '../../db/queries/tenants.ts';
import { recordTransfer } from '../../db/queries/transfers.ts';
import type { Sql } from '../../db/sql.ts';
import { loadConfig } from '../../app/config.ts';
import { createLogger } from '../../app/log.ts';
import { startGateway, type Gateway, type GatewayOptions } from '../../gateway/server.ts';
import { verifyLedger } from '../../db/queries/ledger-verify.ts';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream.ts';
import { testDatabase } from '../helpers.ts';

/** A real gateway on 127.0.0.1 over a fresh database, in front of the fake upstream. */

export const UPSTREAM_KEY = 'sk-or-v1-upstreamsecretkey0123456789';
export const PEPPER = 'test-pepper-0123456789abcdef0123456789abcdef';

export type Harness = {
  gateway: Gateway;
  upstream: FakeUpstream;
  sql: Sql;
  logs: string[];
  rootTenantId: string;
  customer(usd: string, key?: Omit<NewApiKey, 'accountId'>): Promise<{ account: Account; key: string; keyId: string }>;
  client(key: string, options?: { maxRetries?: number }): OpenAI;
  /** A request to the gateway by path: in-process, or over the socket when the harness listens. */
  req(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
};

/**
 * fetch over `gateway.handle`: like a real fetch, a request the caller aborted rejects with an
 * AbortError instead of resolving with the answer its abort produced (499).
 */
function inProcessFetch(gateway: Gateway): (url: string | URL | Request, init?: RequestInit) => Promise<Response> {
  return async (url, init) => {
    const response = await gateway.handle(new Request(url, init));
    if (init?.signal?.aborted) throw new DOMException('The operation was aborted.', 'AbortError');
    return response;
  };
}

export async function startHarness(env: Record<string, string> = {}, options: GatewayOptions = {}): Promise<Harness> {
  const { sql, url } = await testDatabase();
  const upstream = await startFakeUpstream({ apiKey: UPSTREAM_KEY });
  const config = loadConfig({
    HOST: '127.0.0.1',
    DATABASE_URL: url,
    UPSTREAM_BASE_URL: upstream.baseUrl,
    UPSTREAM_API_KEY: UPSTREAM_KEY,
    TOLLGATE_KEY_PEPPER: PEPPER,
    LOG_LEVEL: 'debug',
    ...env,
  });
  const logs: string[] = [];
  const log = createLogger(config.logLevel, (line) => logs.push(line));
  const root = await ensureRootTenant(sql, config.defaultMarkupBps);
  const database: Database = { sql, url, root, keyPepper: PEPPER, close: async () => {} };
  const gateway = await startGateway(config, database, log, { port: 0, backgroundCatalog: false, ...options });
  await gateway.services.catalog.refreshFromUpstream();
  let customers = 0;
  return {
    gateway,
    upstream,
    sql,
    logs,
    rootTenantId: root.id,
    async customer(usd, keyOptions = {}) {
      customers += 1;
      const account = await createAccount(sql, { tenantId: root.id, email: `customer${customers}@example.com` });
      const amount = parseUsd(usd) ?? 0n;
      if (amount > 0n) {
        const promotion = await tenantWalletId(sql, root.id, 'clearing');
        await recordTransfer(sql, {
          kind: 'purchase',
          cause: `test-purchase-${account.id}`,
          entries: [
            { walletId: account.walletId, funding: 'paid', amountNanos: amount },
            { walletId: promotion, funding: 'paid', amountNanos: -amount },
          ],
        });
      }
      const { key, apiKey } = await createApiKey(sql, PEPPER, { accountId: account.id, ...keyOptions });
      return { account, key, keyId: apiKey.id };
    },
    client: (key, clientOptions = {}) =>
      new OpenAI({
        apiKey: key,
        baseURL: `${gateway.url}/v1`,
        maxRetries: clientOptions.maxRetries ?? 0,
        ...(options.listen === false ? { fetch: inProcessFetch(gateway) } : {}),
      }),
    req: (path, init) =>
      options.listen === false
        ? gateway.handle(new Request(`${gateway.url}${path}`, init))
        : fetch(`${gateway.url}${path}`, init),
    async close() {
      await gateway.stop(5_000);
      await upstream.close();
    },
  };
}

/** Waits until the condition holds, for settlement that happens just after a response ends. */
export async function eventually<T>(
  probe: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs = 5_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value) || Date.now() > deadline) return value;
    await Bun.sleep(25);
  }
}

/**
 * After a run of failures: every hold resolved, the ledger verifying clean, and no log line holding
 * a customer key, the upstream key or an upstream error's planted secret (`sk-upstream-SECRET`).
 */
export async function expectSettledAndSecretFree(h: Harness): Promise<void> {
  const open = await eventually(
    async () => (await h.sql<{ n: number }[]>`select count(*)::int as n from holds where outcome is null`)[0]?.n,
    (n) => n === 0,
  );
  expect(open).toBe(0);
  expect((await verifyLedger(h.sql)).violations).toEqual([]);
  const logs = h.logs.join('\n');
  expect(logs).not.toMatch(/tg-[A-Za-z0-9_-]{20,}/);
  expect(logs).not.toContain(UPSTREAM_KEY);
  expect(logs).not.toContain('sk-upstream-SECRET');
}
