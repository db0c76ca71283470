import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, startEmbeddedPostgres, type EmbeddedDatabase } from '../../db/embedded.ts';
import { verifyLedger } from '../../db/queries/ledger-verify.ts';
import { connectDatabase, type Sql } from '../../db/sql.ts';
import { chatAt, startCluster, waitFor, type Answer, type Cluster } from './processes.ts';

/**
 * PostgreSQL restarted, then frozen, under load behind two gateway processes. The file runs its own PostgreSQL
 * (in the run's folder, on a pinned port so it can come back where the replicas expect it): the
 * shared test server is never stopped.
 */

const DATA_DIR = join(process.env.TOLLGATE_TEST_DIR ?? '/tmp', `pg-restart-${crypto.randomUUID()}`);
/** What "fast" means for a refusal while the database is down (issue #5). */
const FAST_ANSWER_MS = 1_000;
const LOAD_CLIENTS = 16;
const DOWN_FOR_MS = 3_000;
/** A frozen database answers nothing: refusals then take the hold deadline (2 s), plus slack for a busy machine. */
const FROZEN_ANSWER_MS = 3_500;
const FROZEN_FOR_MS = 3_000;
/** Settlement retries back off to 5 s; everything must be written soon after the database returns. */
const SETTLED_WAIT_MS = 20_000;

let port: number;
let pg: EmbeddedDatabase;
let sql: Sql;
let cluster: Cluster;

beforeAll(async () => {
  port = await freePort();
  pg = await startEmbeddedPostgres(DATA_DIR, () => {}, { port });
  sql = connectDatabase(pg.url, { maxConnections: 4 });
  cluster = await startCluster({ count: 2, database: { sql, url: pg.url } });
}, 90_000);

afterAll(async () => {
  await cluster.close();
  await sql.end({ timeout: 1 });
  await pg.stop();
});

type Timed = Answer & { startedAt: number };

/** Clients sending requests one after another, alternating replicas, until told to stop. */
function startLoad(key: string) {
  const answers: Timed[] = [];
  let running = true;
  const clients = Array.from({ length: LOAD_CLIENTS }, async (_, c) => {
    for (let i = 0; running; i++) {
      const startedAt = performance.now();
      const url = cluster.replicas[(c + i) % 2]?.url ?? '';
      // A short upstream pause keeps requests in flight (held, proxied, unsettled) at any moment.
      const answer = await chatAt(url, key, { content: '[[fake:delay_ms=150]] hi', maxTokens: 10 }).catch(() => ({
        status: 0,
        retryAfter: null,
        elapsedMs: performance.now() - startedAt,
        body: '',
      }));
      answers.push({ ...answer, startedAt });
      if (answer.status !== 200) await Bun.sleep(20);
    }
  });
  return {
    answers,
    async stop() {
      running = false;
      await Promise.all(clients);
    },
  };
}

describe('PostgreSQL failing under load', () => {
  test('fast 503s while it is down, /readyz says so, and afterwards every generation served has exactly one debit and the ledger verifies', async () => {
    const { key, walletId } = await cluster.customer('50');
    const load = startLoad(key);
    await Bun.sleep(1_000);
    await pg.stop();
    const downAt = performance.now();
    await Bun.sleep(300);
    const readiness = await fetch(`${cluster.replicas[0]?.url}/readyz`);
    // A CORS preflight reads the allowed origins (cached 1.5 s): once the cache has expired, it is the gateway's failure too.
    await Bun.sleep(1_600);
    const preflight = await fetch(`${cluster.replicas[0]?.url}/v1/chat/completions`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
    });
    await Bun.sleep(Math.max(0, DOWN_FOR_MS - (performance.now() - downAt)));
    const upAt = performance.now();
    pg = await startEmbeddedPostgres(DATA_DIR, () => {}, { port });
    await Bun.sleep(1_500);
    await load.stop();

    expect(readiness.status).toBe(503);
    expect(preflight.status).toBe(503);
    expect(((await preflight.json()) as { error: { code: string } }).error.code).toBe('service_unavailable');
    const whileDown = load.answers.filter((a) => a.startedAt > downAt + 100 && a.startedAt + a.elapsedMs < upAt);
    const statuses = [...new Set(whileDown.map((a) => a.status))];
    const slowest = Math.max(...whileDown.map((a) => a.elapsedMs));
    console.log(
      `database down ${DOWN_FOR_MS} ms: ${whileDown.length} answers, statuses ${statuses.join(',')}, slowest ${slowest.toFixed(0)} ms; ${load.answers.length} requests in all`,
    );
    expect(whileDown.length).toBeGreaterThan(LOAD_CLIENTS);
    expect(statuses).toEqual([503]);
    expect(whileDown.every((a) => JSON.parse(a.body).error.code === 'service_unavailable')).toBe(true);
    expect(slowest).toBeLessThan(FAST_ANSWER_MS);
    expect(load.answers.filter((a) => a.status !== 200 && a.status !== 503)).toEqual([]);
    expect(load.answers.some((a) => a.status === 200 && a.startedAt > upAt)).toBe(true);

    const open = () =>
      sql<
        { n: number }[]
      >`select count(*)::int4 as n from holds where wallet_id = ${walletId.toString()}::int8 and outcome is null`;
    expect((await waitFor(open, (rows) => rows[0]?.n === 0, SETTLED_WAIT_MS, 250))[0]?.n).toBe(0);
    const served = [...cluster.upstream.generations.keys()];
    const debits = await sql<{ generation_id: string; debits: number }[]>`
      select r.generation_id, count(t.id)::int4 as debits from requests r
      left join transfers t on t.kind = 'usage' and t.cause = r.id
      where r.generation_id = any(${served}::text[]) group by r.generation_id`;
    expect(debits.length).toBe(served.length);
    expect(debits.filter((d) => d.debits !== 1)).toEqual([]);
    expect(load.answers.filter((a) => a.status === 200).length).toBe(served.length);
    expect((await verifyLedger(sql)).violations).toEqual([]);
    // Requests in flight when the database went away were settled by retries, not lost.
    const retried = cluster.replicas
      .flatMap((r) => r.logs)
      .filter((line) => line.includes('settlement failed; retrying')).length;
    console.log(
      `settlements retried after the outage: ${retried}; generations served and debited once: ${served.length}`,
    );
    expect(retried).toBeGreaterThan(0);
  }, 60_000);

  test('a frozen database (no answers, no refusals) gets 503s at the deadline, cached or not, and holds granted after it are voided', async () => {
    const { key, walletId } = await cluster.customer('5');
    // A key no replica has seen: its lookup needs the frozen database and must meet the deadline too.
    const cold = await cluster.customer('5');
    // Fresh key, policy and price caches on both replicas: only the hold needs the database.
    for (const replica of cluster.replicas) expect((await chatAt(replica.url, key)).status).toBe(200);
    const open = () =>
      sql<
        { n: number }[]
      >`select count(*)::int4 as n from holds where wallet_id = ${walletId.toString()}::int8 and outcome is null`;
    await waitFor(open, (rows) => rows[0]?.n === 0, SETTLED_WAIT_MS, 25);
    const postmaster = Number(readFileSync(join(DATA_DIR, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
    const backends = Bun.spawnSync(['ps', '-o', 'pid=', '--ppid', String(postmaster)])
      .stdout.toString()
      .trim()
      .split(/\s+/)
      .map(Number);
    const frozen = [postmaster, ...backends.filter((pid) => pid > 0)];
    for (const pid of frozen) process.kill(pid, 'SIGSTOP');
    let answers: Answer[];
    let coldAnswers: Answer[];
    try {
      [answers, coldAnswers] = await Promise.all([
        Promise.all(cluster.replicas.flatMap((replica) => Array.from({ length: 5 }, () => chatAt(replica.url, key)))),
        Promise.all(cluster.replicas.map((replica) => chatAt(replica.url, cold.key))),
      ]);
      await Bun.sleep(Math.max(0, FROZEN_FOR_MS - Math.max(...answers.map((a) => a.elapsedMs))));
    } finally {
      for (const pid of frozen) process.kill(pid, 'SIGCONT');
    }
    const slowest = Math.max(...[...answers, ...coldAnswers].map((a) => a.elapsedMs));
    console.log(
      `database frozen: statuses ${[...new Set(answers.map((a) => a.status))].join(',')}, slowest ${slowest.toFixed(0)} ms`,
    );
    expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 10 }, () => 503));
    expect(coldAnswers.map((a) => a.status)).toEqual([503, 503]);
    expect(slowest).toBeLessThan(FROZEN_ANSWER_MS);
    // The frozen hold statements run once the database thaws: each late grant is voided at once.
    const late = () => sql<{ outcome: string | null }[]>`
      select outcome from holds h where wallet_id = ${walletId.toString()}::int8
        and not exists (select 1 from transfers t where t.kind = 'usage' and t.cause = h.request_id)`;
    // Spare holds the key's back-to-back requests readied are among them, voided as well.
    const settled = await waitFor(
      late,
      (rows) => rows.length >= answers.length && rows.every((h) => h.outcome !== null),
      SETTLED_WAIT_MS,
      250,
    );
    console.log(
      `holds granted after their request was refused: ${settled.length}, outcomes ${[...new Set(settled.map((h) => h.outcome))].join(',')}`,
    );
    if (!settled.every((h) => h.outcome === 'voided'))
      console.log(
        cluster.replicas
          .flatMap((r) => r.logs)
          .filter((l) => l.includes('"warn"') || l.includes('"error"'))
          .slice(-10),
      );
    expect(settled.length).toBeGreaterThan(0);
    expect(settled.every((h) => h.outcome === 'voided')).toBe(true);
    expect((await verifyLedger(sql)).violations).toEqual([]);
  }, 60_000);
});
