import type { Subprocess } from 'bun';
import { resolve } from 'node:path';
import { parseUsd } from '../../core/money.ts';
import { freePort } from '../../db/embedded.ts';
import { migrate } from '../../db/migrate.ts';
import { createAccount } from '../../db/queries/accounts.ts';
import { createApiKey } from '../../db/queries/api-keys.ts';
import { upsertPolicy, type PolicyLimits } from '../../db/queries/rate-limit-policies.ts';
import { ensureRootTenant, tenantWalletId } from '../../db/queries/tenants.ts';
import { recordTransfer } from '../../db/queries/transfers.ts';
import type { Sql } from '../../db/sql.ts';
import { createCatalog } from '../../upstream/catalog.ts';
import { loadConfig } from '../../app/config.ts';
import { createLogger } from '../../app/log.ts';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream.ts';
import { PEPPER, UPSTREAM_KEY } from '../gateway/harness.ts';
import { testDatabase } from '../helpers.ts';

/**
 * Gateway replicas as operators run them: separate `bun gateway/main.ts` processes over one
 * PostgreSQL (and Redis, when given) in front of the fake upstream, so a test can SIGTERM or
 * SIGKILL one and watch what the others do. Each replica's log lines are kept for the test.
 */

const ROOT = resolve(import.meta.dir, '..', '..');
const READY_TIMEOUT_MS = 30_000;
const READY_POLL_MS = 50;

export type Replica = {
  url: string;
  port: number;
  logs: string[];
  /** Resolves with the exit code once the process has ended. */
  exited: Promise<number>;
  signal(name: 'SIGTERM' | 'SIGKILL'): void;
};

export type ClusterOptions = {
  count: number;
  redisUrl?: string;
  /** A database the test owns (a dedicated server it may stop); a fresh test database otherwise. */
  database?: { sql: Sql; url: string };
  /** Extra environment for every replica, such as a short hold TTL. */
  env?: Record<string, string>;
};

export type Customer = { key: string; keyId: string; accountId: string; walletId: bigint };

export type Cluster = {
  replicas: Replica[];
  upstream: FakeUpstream;
  sql: Sql;
  rootTenantId: string;
  /** Starts one more replica with the cluster's configuration. */
  start(): Promise<Replica>;
  customer(credit: string | bigint, limits?: Partial<PolicyLimits>): Promise<Customer>;
  close(): Promise<void>;
};

const NO_LIMITS: PolicyLimits = {
  requestsPerMinute: null,
  requestsPerHour: null,
  tokensPerMinute: null,
  concurrentRequests: null,
  spendPerDayNanos: null,
  spendPerMonthNanos: null,
};

let customers = 0;

/** An account of the root tenant with paid credit (USD text, or nano-dollars) and one key, under the given per-key limits. */
export async function createCustomer(
  sql: Sql,
  rootTenantId: string,
  credit: string | bigint,
  limits: Partial<PolicyLimits> = {},
): Promise<Customer> {
  customers += 1;
  const account = await createAccount(sql, {
    tenantId: rootTenantId,
    email: `scale${customers}-${crypto.randomUUID().slice(0, 8)}@example.com`,
  });
  const amount = typeof credit === 'bigint' ? credit : (parseUsd(credit) ?? 0n);
  if (amount > 0n) {
    const clearing = await tenantWalletId(sql, rootTenantId, 'clearing');
    await recordTransfer(sql, {
      kind: 'purchase',
      cause: `scale-purchase-${account.id}`,
      entries: [
        { walletId: account.walletId, funding: 'paid', amountNanos: amount },
        { walletId: clearing, funding: 'paid', amountNanos: -amount },
      ],
    });
  }
  const { key, apiKey } = await createApiKey(sql, PEPPER, { accountId: account.id });
  if (Object.keys(limits).length > 0)
    await upsertPolicy(sql, { kind: 'apiKey', id: apiKey.id }, { ...NO_LIMITS, ...limits });
  return { key, keyId: apiKey.id, accountId: account.id, walletId: account.walletId };
}

async function collect(stream: ReadableStream<Uint8Array>, lines: string[]): Promise<void> {
  const decoder = new TextDecoder();
  let rest = '';
  const reader = stream.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    const parts = (rest + decoder.decode(value, { stream: true })).split('\n');
    rest = parts.pop() ?? '';
    lines.push(...parts.filter((line) => line !== ''));
  }
  if (rest !== '') lines.push(rest);
}

async function spawnReplica(env: Record<string, string>): Promise<Replica> {
  const port = await freePort();
  const child: Subprocess<'ignore', 'pipe', 'pipe'> = Bun.spawn(['bun', 'gateway/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', ...env, PORT: String(port) },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const logs: string[] = [];
  const output = Promise.all([collect(child.stdout, logs), collect(child.stderr, logs)]);
  const replica: Replica = {
    url: `http://127.0.0.1:${port}`,
    port,
    logs,
    exited: output.then(() => child.exited),
    signal: (name) => child.kill(name),
  };
  let gone = false;
  void child.exited.then(() => (gone = true));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline && !gone) {
    if (
      await fetch(`${replica.url}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return replica;
    await Bun.sleep(READY_POLL_MS);
  }
  child.kill('SIGKILL');
  await replica.exited;
  throw new Error(`replica on port ${port} did not become ready:\n${logs.join('\n')}`);
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const database = options.database ?? (await testDatabase());
  const { sql, url } = database;
  await migrate(sql);
  const upstream = await startFakeUpstream({ apiKey: UPSTREAM_KEY });
  const defaults = loadConfig({});
  const root = await ensureRootTenant(sql, defaults.defaultMarkupBps);
  // The replicas read the catalog from the database at start; filling it first means none of them
  // answers 404 for a model while its background refresh is still running.
  const catalog = await createCatalog({
    sql,
    upstreamBaseUrl: upstream.baseUrl,
    upstreamApiKey: UPSTREAM_KEY,
    log: createLogger('error', () => {}),
    background: false,
  });
  await catalog.refreshFromUpstream();
  const env: Record<string, string> = {
    HOST: '127.0.0.1',
    DATABASE_URL: url,
    UPSTREAM_BASE_URL: upstream.baseUrl,
    UPSTREAM_API_KEY: UPSTREAM_KEY,
    TOLLGATE_KEY_PEPPER: PEPPER,
    TOLLGATE_REPLICAS: String(options.count),
    LOG_LEVEL: 'info',
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
    ...options.env,
  };
  const replicas = await Promise.all(Array.from({ length: options.count }, () => spawnReplica(env)));
  return {
    replicas,
    upstream,
    sql,
    rootTenantId: root.id,
    async start() {
      const replica = await spawnReplica(env);
      replicas.push(replica);
      return replica;
    },
    customer: (credit, limits) => createCustomer(sql, root.id, credit, limits),
    async close() {
      for (const replica of replicas) replica.signal('SIGKILL');
      await Promise.all(replicas.map((replica) => replica.exited));
      await upstream.close();
    },
  };
}

export type Answer = { status: number; retryAfter: string | null; elapsedMs: number; body: string };

type ChatOptions = { content?: string; maxTokens?: number; model?: string };

/**
 * One non-streamed chat completion through the given replica, timed. Each on a fresh connection:
 * after hundreds of requests, Bun's fetch sometimes reused a pooled connection that never answered
 * (the replica logged nothing; oven-sh/bun#31894), and a test then hung for its whole timeout.
 */
export async function chatAt(url: string, key: string, options: ChatOptions = {}): Promise<Answer> {
  const started = performance.now();
  const response = await fetch(`${url}/v1/chat/completions`, {
    keepalive: false,
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: options.model ?? 'fake/gpt-small',
      messages: [{ role: 'user', content: options.content ?? 'hi' }],
      ...(options.maxTokens === undefined ? {} : { max_tokens: options.maxTokens }),
    }),
  });
  const body = await response.text();
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    elapsedMs: performance.now() - started,
    body,
  };
}

export type OpenStream = {
  requestId: string;
  /** Resolves with everything the client received once the stream has ended or broken. */
  done: Promise<{ text: string; complete: boolean }>;
};

/** Starts a streamed chat completion and resolves once its first chunk has arrived. */
export async function openStream(url: string, key: string, content: string): Promise<OpenStream> {
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      model: 'fake/gpt-small',
      stream: true,
      max_tokens: 50,
      messages: [{ role: 'user', content }],
    }),
  });
  if (response.status !== 200 || !response.body)
    throw new Error(`stream refused: ${response.status} ${await response.text()}`);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  const first = await reader.read();
  let text = first.value ? decoder.decode(first.value, { stream: true }) : '';
  const done = (async () => {
    try {
      for (;;) {
        const { value, done: ended } = await reader.read();
        if (ended) break;
        text += decoder.decode(value, { stream: true });
      }
    } catch {
      // A replica killed mid-stream breaks the connection: what arrived is the answer.
    }
    return { text, complete: text.includes('data: [DONE]') };
  })();
  return { requestId: response.headers.get('x-request-id') ?? '', done };
}

/** Polls until the check passes or the time is up; returns the last value either way. */
export async function waitFor<T>(
  probe: () => Promise<T>,
  accept: (value: T) => boolean,
  timeoutMs: number,
  pollMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value) || Date.now() > deadline) return value;
    await Bun.sleep(pollMs);
  }
}
