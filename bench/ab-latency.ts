/**
 * One-connection latency of this checkout against another one (an older commit in a worktree),
 * side by side: each gateway gets its own embedded PostgreSQL and customer, both sit in front of
 * one fake upstream, and sequential requests alternate between them, so the machine's noise (large
 * on a shared 2-core VM) hits both alike. Prints the time to the first body byte, p50 and p90.
 * Run: `bun run bench/ab-latency.ts <other checkout> [stream] [requests]`, e.g.
 * `git worktree add /tmp/before <commit> && (cd /tmp/before && bun install) && bun run bench/ab-latency.ts /tmp/before stream`.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';

const PEPPER = 'bench-pepper-0123456789abcdef0123456789abcdef';
const WARMUP_REQUESTS = 300;
const BODY = {
  model: 'fake/gpt-small',
  messages: [{ role: 'user', content: 'Benchmark prompt of a typical short length.' }],
};

type Side = { name: string; base: string; key: string; stop: () => Promise<void> };

/** A gateway of the checkout at `tree`, seeded through that checkout's own modules. */
async function startSide(tree: string, name: string, upstreamUrl: string): Promise<Side> {
  const load = (path: string) => import(join(tree, path));
  const { parseUsd } = await load('core/money.ts');
  const { startEmbeddedPostgres, freePort } = await load('db/embedded.ts');
  const { migrate } = await load('db/migrate.ts');
  const { createAccount } = await load('db/queries/accounts.ts');
  const { createApiKey } = await load('db/queries/api-keys.ts');
  const { ensureRootTenant, tenantWalletId } = await load('db/queries/tenants.ts');
  const { recordTransfer } = await load('db/queries/transfers.ts');
  const { connectDatabase } = await load('db/sql.ts');
  const work = resolve(import.meta.dir, '..', '.tollgate-bench', `ab-${name}`);
  await rm(work, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const database = await startEmbeddedPostgres(join(work, 'data'), () => {});
  const sql = connectDatabase(database.url);
  await migrate(sql);
  const root = await ensureRootTenant(sql, 2000);
  const account = await createAccount(sql, { tenantId: root.id, email: 'bench@example.com' });
  const amount = parseUsd('1000000');
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
  const port = await freePort();
  const gateway = Bun.spawn(['bun', join(tree, 'gateway', 'main.ts')], {
    env: {
      ...process.env,
      DATABASE_URL: database.url,
      UPSTREAM_BASE_URL: upstreamUrl,
      PORT: String(port),
      HOST: '127.0.0.1',
      TOLLGATE_KEY_PEPPER: PEPPER,
      LOG_LEVEL: 'warn',
      TOLLGATE_DATA_DIR: join(work, 'gateway'),
    },
    stdout: 'ignore',
    stderr: 'inherit',
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ready = await fetch(`${base}/v1/models`).then(
      async (r) => (await r.text()).includes('fake/gpt-small'),
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`the ${name} gateway did not start`);
    await Bun.sleep(100);
  }
  return {
    name,
    base,
    key,
    stop: async () => {
      gateway.kill('SIGTERM');
      await gateway.exited;
      await database.stop();
      await rm(work, { recursive: true, force: true });
    },
  };
}

async function firstByteMs(side: Side, body: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${side.base}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${side.key}`, 'content-type': 'application/json' },
    body,
  });
  const reader = response.body?.getReader();
  if (!reader || response.status !== 200) throw new Error(`${side.name} answered ${response.status}`);
  await reader.read();
  const elapsed = performance.now() - started;
  while (!(await reader.read()).done);
  return elapsed;
}

function quantile(values: readonly number[], q: number): string {
  const sorted = [...values].sort((a, b) => a - b);
  return (sorted[Math.floor(sorted.length * q)] ?? Number.NaN).toFixed(3);
}

async function main(): Promise<void> {
  const [other, mode, count] = process.argv.slice(2);
  if (!other) throw new Error('usage: bun run bench/ab-latency.ts <other checkout> [stream] [requests]');
  const stream = mode === 'stream';
  const requests = Number(count ?? 2000);
  const body = JSON.stringify({ ...BODY, max_tokens: 16, stream });
  const upstream = Bun.spawn(['bun', join(import.meta.dir, 'upstream-server.ts')], { stdout: 'pipe' });
  const { value } = await upstream.stdout.getReader().read();
  const upstreamUrl = new TextDecoder().decode(value).trim().split('\n')[0] ?? '';
  const sides = [
    await startSide(resolve(other), 'other', upstreamUrl),
    await startSide(resolve(import.meta.dir, '..'), 'this', upstreamUrl),
  ];
  try {
    const timings: number[][] = sides.map(() => []);
    for (let i = 0; i < WARMUP_REQUESTS; i++) for (const side of sides) await firstByteMs(side, body);
    for (let i = 0; i < requests; i++) {
      // Alternate which side goes first, so neither always follows the other's request.
      const order = i % 2 === 0 ? [0, 1] : [1, 0];
      for (const index of order) timings[index]?.push(await firstByteMs(sides[index] as Side, body));
    }
    for (const [index, side] of sides.entries()) {
      const values = timings[index] ?? [];
      process.stdout.write(
        `${side.name} checkout, ${stream ? 'streamed' : 'plain'} chat, first byte: p50 ${quantile(values, 0.5)} ms, p90 ${quantile(values, 0.9)} ms\n`,
      );
    }
  } finally {
    upstream.kill();
    for (const side of sides) await side.stop();
  }
}

await main();
