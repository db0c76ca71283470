import { createChannel, updateChannel, type ChannelSettings } from '../../db/queries/channels.ts';
import type { Sql } from '../../db/sql.ts';
import type { Gateway } from '../../gateway/server.ts';
import type { FakeUpstream } from '../fake-upstream.ts';
import { eventually } from './harness.ts';

/** Helpers for tests with several upstream channels: channels as rows, and upstreams that misbehave on purpose. */

/** Stores a channel and makes the gateways read it now instead of within their reload interval. */
export async function addChannel(
  sql: Sql,
  gateways: readonly Gateway[],
  name: string,
  settings: Partial<ChannelSettings>,
): Promise<string> {
  const channel = await createChannel(sql, name, settings);
  if (!channel) throw new Error(`channel ${name} exists`);
  await Promise.all(gateways.map((g) => g.services.channels.reload()));
  return channel.id;
}

export async function changeChannel(
  sql: Sql,
  gateways: readonly Gateway[],
  name: string,
  settings: Partial<ChannelSettings>,
): Promise<void> {
  await updateChannel(sql, name, settings);
  await Promise.all(gateways.map((g) => g.services.channels.reload()));
}

/** A base URL on which nothing listens: connections are refused. */
export async function refusingBaseUrl(): Promise<string> {
  const server = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('') });
  const port = server.port;
  await server.stop(true);
  return `http://127.0.0.1:${port}/api/v1`;
}

export type Flaky = { baseUrl: string; failed: number; passed: number; close(): Promise<void> };

/** In front of a fake upstream: every other POST answers 503 before any byte, the rest pass through. */
export function startFlaky(upstream: FakeUpstream): Flaky {
  const target = new URL(upstream.baseUrl);
  const flaky: Flaky = { baseUrl: '', failed: 0, passed: 0, close: async () => {} };
  let calls = 0;
  const server = Bun.serve({
    hostname: '127.0.0.1',
    port: 0,
    idleTimeout: 0,
    async fetch(request) {
      const url = new URL(request.url);
      if (request.method === 'POST' && calls++ % 2 === 0) {
        flaky.failed += 1;
        return Response.json({ error: { message: 'flaky upstream', code: 503 } }, { status: 503 });
      }
      flaky.passed += 1;
      const headers = new Headers(request.headers);
      headers.delete('host');
      return fetch(`${target.origin}${url.pathname}${url.search}`, {
        method: request.method,
        headers,
        body: request.method === 'POST' ? await request.text() : undefined,
        signal: request.signal,
      });
    },
  });
  flaky.baseUrl = `http://127.0.0.1:${server.port}/api/v1`;
  flaky.close = () => server.stop(true);
  return flaky;
}

export type RequestRow = {
  id: string;
  outcome: string;
  status_code: number;
  charge_nanos: bigint;
  cost_nanos: bigint;
  channel_id: string | null;
  attempts: { channel: string; status: number; outcome: string; ms: number }[] | null;
};

export async function requestRow(sql: Sql, requestId: string): Promise<RequestRow | undefined> {
  const rows = await eventually(
    () => sql<RequestRow[]>`select id, outcome, status_code, charge_nanos, cost_nanos, channel_id, attempts
      from requests where id = ${requestId}`,
    (r) => r.length === 1,
  );
  return rows[0];
}

/** Usage transfers recorded for a request: exactly one when it was charged once. */
export async function usageTransfers(sql: Sql, requestId: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from transfers where kind = 'usage' and cause = ${requestId}`;
  return row?.n ?? 0;
}
