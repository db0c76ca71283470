import type Redis from 'ioredis';
import type { Database } from '../../db/open.ts';
import type { PolicyLimits } from '../../db/queries/rate-limit-policies.ts';
import { ensureRootTenant } from '../../db/queries/tenants.ts';
import type { Sql } from '../../db/sql.ts';
import { loadConfig } from '../../app/config.ts';
import { createLogger } from '../../app/log.ts';
import { createRedisLimitStore, type RedisLimitStore } from '../../limits/redis-store.ts';
import { connectRedis } from '../../app/redis.ts';
import { startGateway, type Gateway } from '../../gateway/server.ts';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream.ts';
import { testDatabase } from '../helpers.ts';
import { PEPPER, UPSTREAM_KEY } from '../gateway/harness.ts';
import { createCustomer } from './processes.ts';

/**
 * Several gateway replicas in one test process over one fresh database and one Redis: each has its
 * own services (ledger queues, caches, Redis connection, limit store), as separate processes would.
 */

export type Replicas = {
  gateways: Gateway[];
  stores: RedisLimitStore[];
  upstream: FakeUpstream;
  sql: Sql;
  logs: string[];
  customer(usd: string, limits?: Partial<PolicyLimits>): Promise<{ key: string; keyId: string; accountId: string }>;
  close(): Promise<void>;
};

/** `sharedBreakers`: the replicas share their channel breakers through Redis too (gateway/main.ts does). */
export type ReplicaOptions = { env?: Record<string, string>; sharedBreakers?: boolean };

export async function startReplicas(count: number, redisUrl: string, options: ReplicaOptions = {}): Promise<Replicas> {
  const { sql, url } = await testDatabase();
  const upstream = await startFakeUpstream({ apiKey: UPSTREAM_KEY });
  const config = loadConfig({
    HOST: '127.0.0.1',
    DATABASE_URL: url,
    REDIS_URL: redisUrl,
    TOLLGATE_REPLICAS: String(count),
    UPSTREAM_BASE_URL: upstream.baseUrl,
    UPSTREAM_API_KEY: UPSTREAM_KEY,
    TOLLGATE_KEY_PEPPER: PEPPER,
    LOG_LEVEL: 'info',
    ...options.env,
  });
  const logs: string[] = [];
  const log = createLogger(config.logLevel, (line) => logs.push(line));
  const root = await ensureRootTenant(sql, config.defaultMarkupBps);
  const database: Database = { sql, url, root, keyPepper: PEPPER, close: async () => {} };
  const clients: Redis[] = [];
  const stores: RedisLimitStore[] = [];
  const gateways: Gateway[] = [];
  for (let i = 0; i < count; i++) {
    const client = connectRedis(redisUrl, log);
    clients.push(client);
    const store = createRedisLimitStore(client, log, config.replicas);
    stores.push(store);
    const gateway = await startGateway(config, database, log, {
      port: 0,
      backgroundCatalog: false,
      limits: store,
      ...(options.sharedBreakers ? { redis: client } : {}),
    });
    await gateway.services.catalog.refreshFromUpstream();
    gateways.push(gateway);
  }
  await Promise.all(
    clients.map((client) =>
      client.status === 'ready' ? undefined : new Promise((resolve) => client.once('ready', resolve)),
    ),
  );
  return {
    gateways,
    stores,
    upstream,
    sql,
    logs,
    customer: (usd, limits = {}) => createCustomer(sql, root.id, usd, limits),
    async close() {
      for (const gateway of gateways) await gateway.stop(5_000);
      for (const store of stores) store.stop();
      for (const client of clients) client.disconnect();
      await upstream.close();
    },
  };
}

export type Answer = { status: number; retryAfter: string | null; elapsedMs: number };

/** One non-streamed chat completion through the given replica, timed. */
export async function chat(gateway: Gateway, key: string): Promise<Answer> {
  const started = performance.now();
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'fake/gpt-small', messages: [{ role: 'user', content: 'hi' }] }),
  });
  await response.arrayBuffer();
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    elapsedMs: performance.now() - started,
  };
}
