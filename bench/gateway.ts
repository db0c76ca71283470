/**
 * Benchmark: Tollgate's full paid pipeline (auth + ratelimit + hold + proxy + meter + debit on real
 * PostgreSQL) against a do-nothing Bun pass-through proxy (the floor), side by side in one run,
 * both in front of the same fake upstream. Load comes from wrk; streaming time to first byte at one
 * connection is measured with sequential requests, and the CPU time Tollgate's process and its
 * PostgreSQL spend per request is read from /proc. Run: `bun run bench/gateway.ts [seconds]` (see README).
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseUsd } from '../core/money.ts';
import { startEmbeddedPostgres, freePort } from '../db/embedded.ts';
import { migrate } from '../db/migrate.ts';
import { createAccount } from '../db/queries/accounts.ts';
import { createApiKey } from '../db/queries/api-keys.ts';
import { ensureRootTenant, tenantWalletId } from '../db/queries/tenants.ts';
import { recordTransfer } from '../db/queries/transfers.ts';
import { connectDatabase } from '../db/sql.ts';
import { postmasterPid, treeCpuSeconds } from './process-cpu.ts';
import { measureTtfb, runWrk, type WrkResult } from './wrk.ts';

const DURATION_SECONDS = Number(process.argv[2] ?? '10');
const WARMUP_SECONDS = 2;
const TTFB_SAMPLES = 300;
const PEPPER = 'bench-pepper-0123456789abcdef0123456789abcdef';
const WORK_DIR = resolve(import.meta.dir, '..', '.tollgate-bench');
const CHAT_BODY = {
  model: 'fake/gpt-small',
  messages: [{ role: 'user', content: 'Benchmark prompt of a typical short length.' }],
  max_tokens: 16,
};
/** Anthropic's Messages API, served natively by the same fake upstream (its /messages). */
const MESSAGES_BODY = {
  model: 'fake/gpt-small',
  system: 'You are a benchmark.',
  messages: [{ role: 'user', content: 'Benchmark prompt of a typical short length.' }],
  max_tokens: 16,
};
/** What the Agents SDK sends for one short turn (Responses). */
const RESPONSES_BODY = {
  model: 'fake/gpt-small',
  instructions: 'You are a benchmark.',
  input: [{ role: 'user', content: 'Benchmark prompt of a typical short length.' }],
  max_output_tokens: 16,
};
const CHAT_PATH = '/v1/chat/completions';
const MESSAGES_PATH = '/v1/messages';
const RESPONSES_PATH = '/v1/responses';

type Child = { url: string; kill: () => void };

async function spawnPrinting(command: string[], env: Record<string, string> = {}): Promise<Child> {
  const child = Bun.spawn(command, { env: { ...process.env, ...env }, stdout: 'pipe', stderr: 'inherit' });
  const reader = child.stdout.getReader();
  const { value } = await reader.read();
  const url = new TextDecoder().decode(value).trim().split('\n')[0] ?? '';
  return { url, kill: () => child.kill() };
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await Bun.sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function seedCustomer(databaseUrl: string): Promise<string> {
  const sql = connectDatabase(databaseUrl);
  await migrate(sql);
  const root = await ensureRootTenant(sql, 2000);
  const account = await createAccount(sql, { tenantId: root.id, email: 'bench@example.com' });
  const amount = parseUsd('1000000') ?? 0n;
  await recordTransfer(sql, {
    kind: 'grant',
    cause: 'bench-credit',
    entries: [
      { walletId: account.walletId, funding: 'granted', amountNanos: amount },
      { walletId: await tenantWalletId(sql, root.id, 'promotion'), funding: 'granted', amountNanos: -amount },
    ],
  });
  const { key } = await createApiKey(sql, PEPPER, { accountId: account.id, name: 'bench' });
  await sql.end();
  return key;
}

/** CPU microseconds per request that Tollgate's own process and its PostgreSQL used during a run. */
type CpuPerRequest = { gatewayUs: number; postgresUs: number };
type Row = { scenario: string; floor: WrkResult; tollgate: WrkResult; cpu: CpuPerRequest };

function format(rows: Row[], ttfb: { floor: number; tollgate: number }): string {
  const ms = (v: number) => `${v.toFixed(2)} ms`;
  const lines = [
    '| scenario | floor req/s | Tollgate req/s | Tollgate / floor | floor p50 | Tollgate p50 | floor p99 | Tollgate p99 | Tollgate CPU per request: gateway + PostgreSQL |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const { scenario, floor, tollgate, cpu } of rows) {
    const ratio = `${((tollgate.requestsPerSecond / floor.requestsPerSecond) * 100).toFixed(0)}%`;
    const cpuText = `${cpu.gatewayUs.toFixed(0)} + ${cpu.postgresUs.toFixed(0)} us`;
    lines.push(
      `| ${scenario} | ${floor.requestsPerSecond.toFixed(0)} | ${tollgate.requestsPerSecond.toFixed(0)} | ${ratio} | ${ms(floor.p50Ms)} | ${ms(tollgate.p50Ms)} | ${ms(floor.p99Ms)} | ${ms(tollgate.p99Ms)} | ${cpuText} |`,
    );
  }
  lines.push(
    '',
    `streaming time to first byte at 1 connection (p50 of ${TTFB_SAMPLES}): floor ${ms(ttfb.floor)}, Tollgate ${ms(ttfb.tollgate)}, added ${ms(ttfb.tollgate - ttfb.floor)}`,
  );
  const nonStream1 = rows.find((r) => r.scenario === 'chat, 1 connection');
  if (nonStream1)
    lines.push(`non-streaming p50 added at 1 connection: ${ms(nonStream1.tollgate.p50Ms - nonStream1.floor.p50Ms)}`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  await rm(WORK_DIR, { recursive: true, force: true });
  await mkdir(WORK_DIR, { recursive: true });
  const database = await startEmbeddedPostgres(join(WORK_DIR, 'data'), () => {});
  const children: Child[] = [];
  try {
    const key = await seedCustomer(database.url);
    const postgresPid = await postmasterPid(join(WORK_DIR, 'data', 'postgres'));
    const upstream = await spawnPrinting(['bun', join(import.meta.dir, 'upstream-server.ts')]);
    children.push(upstream);
    const floor = await spawnPrinting(['bun', join(import.meta.dir, 'floor-proxy.ts'), upstream.url]);
    children.push(floor);
    const port = await freePort();
    const gateway = Bun.spawn(['bun', join(import.meta.dir, '..', 'gateway', 'main.ts')], {
      env: {
        ...process.env,
        DATABASE_URL: database.url,
        UPSTREAM_BASE_URL: upstream.url,
        PORT: String(port),
        HOST: '127.0.0.1',
        TOLLGATE_KEY_PEPPER: PEPPER,
        LOG_LEVEL: 'warn',
        TOLLGATE_DATA_DIR: join(WORK_DIR, 'gateway'),
      },
      stdout: 'ignore',
      stderr: 'inherit',
    });
    children.push({ url: '', kill: () => gateway.kill('SIGTERM') });
    const tollgate = `http://127.0.0.1:${port}`;
    await waitFor(
      async () => (await (await fetch(`${tollgate}/v1/models`)).text()).includes('fake/gpt-small'),
      'the gateway catalog',
    );
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    const streamBody = { ...CHAT_BODY, stream: true };
    const scenarios: [string, string, object, number][] = [
      ['chat, 1 connection', CHAT_PATH, CHAT_BODY, 1],
      ['chat, 64 connections', CHAT_PATH, CHAT_BODY, 64],
      ['streamed chat, 1 connection', CHAT_PATH, streamBody, 1],
      ['streamed chat, 64 connections', CHAT_PATH, streamBody, 64],
      ['messages, 64 connections', MESSAGES_PATH, MESSAGES_BODY, 64],
      ['streamed messages, 64 connections', MESSAGES_PATH, { ...MESSAGES_BODY, stream: true }, 64],
      ['responses, 64 connections', RESPONSES_PATH, RESPONSES_BODY, 64],
      ['streamed responses, 64 connections', RESPONSES_PATH, { ...RESPONSES_BODY, stream: true }, 64],
    ];
    const rows: Row[] = [];
    for (const [scenario, path, body, connections] of scenarios) {
      const script = join(WORK_DIR, 'request.lua');
      await writeFile(script, wrkScript(body, headers));
      // Warm up, then measure; the CPU used by Tollgate's process and PostgreSQL is read around the measured run.
      const measure = async (base: string) => {
        await runWrk(`${base}${path}`, script, connections, WARMUP_SECONDS);
        const before = [await treeCpuSeconds(gateway.pid), await treeCpuSeconds(postgresPid)];
        const result = await runWrk(`${base}${path}`, script, connections, DURATION_SECONDS);
        const after = [await treeCpuSeconds(gateway.pid), await treeCpuSeconds(postgresPid)];
        const perRequestUs = (i: number) =>
          (((after[i] ?? 0) - (before[i] ?? 0)) * 1e6) / (result.requestsPerSecond * DURATION_SECONDS);
        return { result, cpu: { gatewayUs: perRequestUs(0), postgresUs: perRequestUs(1) } };
      };
      const floorResult = (await measure(floor.url)).result;
      const { result: tollgateResult, cpu } = await measure(tollgate);
      rows.push({ scenario, floor: floorResult, tollgate: tollgateResult, cpu });
      process.stderr.write(
        `${scenario}: floor ${floorResult.requestsPerSecond.toFixed(0)} req/s, Tollgate ${tollgateResult.requestsPerSecond.toFixed(0)} req/s\n`,
      );
    }
    const ttfb = {
      floor: await measureTtfb(`${floor.url}${CHAT_PATH}`, headers, streamBody, TTFB_SAMPLES),
      tollgate: await measureTtfb(`${tollgate}${CHAT_PATH}`, headers, streamBody, TTFB_SAMPLES),
    };
    process.stdout.write(`${format(rows, ttfb)}\n`);
  } finally {
    for (const child of children.reverse()) child.kill();
    await Bun.sleep(500);
    await database.stop();
    await rm(WORK_DIR, { recursive: true, force: true });
  }
}

function wrkScript(body: object, headers: Record<string, string>): string {
  const lines = [`wrk.method = "POST"`, `wrk.body = ${JSON.stringify(JSON.stringify(body))}`];
  for (const [name, value] of Object.entries(headers))
    lines.push(`wrk.headers[${JSON.stringify(name)}] = ${JSON.stringify(value)}`);
  return `${lines.join('\n')}\n`;
}

await main();
