import type { Db, Sql, TransactionSql } from '../sql.ts';

/**
 * Holds: the reservation placed before a request is proxied, and its one resolution (posted,
 * voided or expired). Every function takes many requests at once so the gateway can group-commit;
 * each request still gets its own answer. Wallet rows are always locked in id order, so
 * concurrent batches can wait on each other but never deadlock.
 */

export type HoldLeg = { walletId: bigint; desiredNanos: bigint; minimumNanos: bigint };
export type HoldRequest = {
  requestId: string;
  /** Leg 0 is the customer's wallet; further legs are the reseller wallets up the tenant chain. */
  legs: HoldLeg[];
  /** The key whose credit cap (if any) also limits leg 0. */
  apiKeyId: string | null;
  ttlSeconds: number;
};
export type HoldRefusal = 'insufficient_credit' | 'key_credit_cap' | 'duplicate_request';
export type HoldOutcome = { ok: true; grantedNanos: bigint[] } | { ok: false; reason: HoldRefusal; legIndex: number };

type PlaceRow = {
  request_index: number;
  refusal: HoldRefusal | null;
  refused_leg: number | null;
  granted: bigint[] | null;
};

/**
 * The one leg of a request that can take the one-statement path (a direct customer of the root
 * tenant, no key cap, an amount it needs in full); undefined for any other request. Spare holds
 * serve the same requests.
 */
export function wholeHoldLeg(request: HoldRequest): HoldLeg | undefined {
  const [leg, ...rest] = request.legs;
  const whole =
    leg !== undefined &&
    rest.length === 0 &&
    request.apiKeyId === null &&
    leg.minimumNanos >= 0n &&
    leg.desiredNanos >= leg.minimumNanos;
  return whole ? leg : undefined;
}

/** A hold of one wallet for its full amount. */
export type WholeHold = { requestId: string; walletId: bigint; amountNanos: bigint; ttlSeconds: number };

/**
 * The common case in one statement (`place_whole_holds`, db/functions/place_whole_holds.sql): every
 * wallet that can cover all this batch desires of it, and `headroom` times that again, gets its
 * holds; the ids of the requests placed come back. A single hold this way costs about a third of
 * the PostgreSQL time `place_holds` takes (each of its statements has an executor start-up of its
 * own), and a hold is on every paid request's critical path. Spare holds (ledger/spare-holds.ts)
 * use it with a headroom.
 */
export async function placeWholeHolds(sql: Sql, holds: readonly WholeHold[], headroom: number): Promise<Set<string>> {
  const rows = await sql<{ request_id: string }[]>`
    select place_whole_holds as request_id from place_whole_holds(${holds.map((h) => h.requestId)}::text[],
      ${holds.map((h) => String(h.walletId))}::int8[], ${holds.map((h) => String(h.amountNanos))}::int8[],
      ${holds.map((h) => h.ttlSeconds)}::int4[], ${headroom}::int4)`;
  return new Set(rows.map((row) => row.request_id));
}

const UNIQUE_VIOLATION = '23505';

/** The `place_holds` function (db/functions/place_holds.sql): request-by-request allocation. */
async function allocateHolds(db: Db, requests: readonly HoldRequest[]): Promise<HoldOutcome[]> {
  const legRequest: number[] = [];
  const legWallet: string[] = [];
  const legDesired: string[] = [];
  const legMinimum: string[] = [];
  requests.forEach((request, i) => {
    for (const leg of request.legs) {
      legRequest.push(i + 1);
      legWallet.push(leg.walletId.toString());
      legDesired.push(leg.desiredNanos.toString());
      legMinimum.push(leg.minimumNanos.toString());
    }
  });
  const rows = await db<PlaceRow[]>`
    select * from place_holds(${requests.map((r) => r.requestId)}::text[], ${requests.map((r) => r.apiKeyId)}::uuid[],
      ${requests.map((r) => r.ttlSeconds)}::int4[], ${legRequest}::int4[], ${legWallet}::int8[], ${legDesired}::int8[], ${legMinimum}::int8[])`;
  return rows.map(
    (row): HoldOutcome =>
      row.refusal === null
        ? { ok: true, grantedNanos: (row.granted ?? []).map(BigInt) }
        : { ok: false, reason: row.refusal, legIndex: row.refused_leg ?? 0 },
  );
}

/**
 * Places a batch of holds: each request is granted entirely or refused entirely, in the order
 * given. What fits whole takes one statement; the rest, if any, `place_holds`. A request id that
 * repeats within the batch is a duplicate of its first occurrence and is not sent. Not in a
 * transaction: a refused first statement must not abort the second.
 */
export async function placeHolds(sql: Sql, requests: readonly HoldRequest[]): Promise<HoldOutcome[]> {
  const seen = new Set<string>();
  const repeated = requests.map((r) => seen.size === seen.add(r.requestId).size);
  const distinct = requests.filter((_, i) => !repeated[i]);
  const candidates = distinct.flatMap((r): WholeHold[] => {
    const leg = wholeHoldLeg(r);
    return leg
      ? [{ requestId: r.requestId, walletId: leg.walletId, amountNanos: leg.desiredNanos, ttlSeconds: r.ttlSeconds }]
      : [];
  });
  const placed =
    candidates.length > 0
      ? await placeWholeHolds(sql, candidates, 0).catch((error: unknown) => {
          // A request id already held: place_holds names it (db/functions/place_whole_holds.sql).
          if ((error as { code?: unknown }).code === UNIQUE_VIOLATION) return new Set<string>();
          throw error;
        })
      : new Set<string>();
  const rest = distinct.filter((r) => !placed.has(r.requestId));
  const allocated =
    rest.length > 0
      ? await allocateHolds(sql, rest).catch(async (error: unknown) => {
          // The whole batch fails for its callers, so what the first statement held is voided now
          // rather than left reserved until the sweeper expires it.
          if (placed.size > 0) await releaseHolds(sql, [...placed], 'voided').catch(() => {});
          throw error;
        })
      : [];
  let next = 0;
  return requests.map((r, i): HoldOutcome => {
    if (repeated[i]) return { ok: false, reason: 'duplicate_request', legIndex: 0 };
    if (placed.has(r.requestId)) return { ok: true, grantedNanos: [r.legs[0]?.desiredNanos ?? 0n] };
    return allocated[next++] as HoldOutcome;
  });
}

export type ResolvedHold = { requestId: string; walletId: bigint; apiKeyId: string | null; amountNanos: bigint };

type ReleasedRow = { o_request_id: string; o_wallet_id: bigint; o_api_key_id: string | null; o_amount_nanos: bigint };

/**
 * The statement that voids or expires the open holds of these requests and releases their amounts
 * (the `release_holds` function, db/functions/release_holds.sql). Not awaited, so the gateway can send it
 * together with the usage log rows it belongs to; `asyncCommit` skips waiting for the WAL flush.
 */
export function releaseHoldsQuery(
  db: Db,
  requestIds: readonly string[],
  outcome: 'voided' | 'expired',
  asyncCommit: boolean,
) {
  return db<ReleasedRow[]>`select * from release_holds(${requestIds}::text[], ${outcome}, ${asyncCommit})`;
}

function releasedHolds(rows: readonly ReleasedRow[]): ResolvedHold[] {
  return rows.map((row) => ({
    requestId: row.o_request_id,
    walletId: row.o_wallet_id,
    apiKeyId: row.o_api_key_id,
    amountNanos: row.o_amount_nanos,
  }));
}

/** Marks the open holds of these requests as voided or expired and releases their amounts. */
export async function releaseHolds(
  db: Db,
  requestIds: readonly string[],
  outcome: 'voided' | 'expired',
): Promise<ResolvedHold[]> {
  return releasedHolds(await releaseHoldsQuery(db, requestIds, outcome, false));
}

export type BalanceChange = {
  walletId: bigint;
  apiKeyId: string | null;
  heldNanos: bigint;
  paidNanos: bigint;
  grantedNanos: bigint;
  spentNanos: bigint;
};

function byNumericId(a: string, b: string): number {
  const difference = BigInt(a) - BigInt(b);
  return difference < 0n ? -1 : difference > 0n ? 1 : 0;
}

/** Locks wallets in id order (the one lock order every money statement follows) and reads their granted credit. */
export async function lockWallets(tx: TransactionSql, walletIds: readonly bigint[]): Promise<Map<string, bigint>> {
  const ids = [...new Set(walletIds.map(String))].sort(byNumericId);
  const rows = await tx<{ id: bigint; granted_nanos: bigint }[]>`
    select id, granted_nanos from wallets where id = any(${ids}::int8[]) order by id for update`;
  return new Map(rows.map((row) => [row.id.toString(), row.granted_nanos]));
}

/** Applies cached-balance changes, aggregated per wallet and per key. The caller has locked the wallets. */
export async function applyBalanceChanges(tx: TransactionSql, changes: readonly BalanceChange[]): Promise<void> {
  const wallets = new Map<string, [bigint, bigint, bigint]>();
  const keys = new Map<string, [bigint, bigint]>();
  for (const change of changes) {
    const id = change.walletId.toString();
    const [held, paid, granted] = wallets.get(id) ?? [0n, 0n, 0n];
    wallets.set(id, [held + change.heldNanos, paid + change.paidNanos, granted + change.grantedNanos]);
    if (change.apiKeyId) {
      const [keyHeld, keySpent] = keys.get(change.apiKeyId) ?? [0n, 0n];
      keys.set(change.apiKeyId, [keyHeld + change.heldNanos, keySpent + change.spentNanos]);
    }
  }
  if (wallets.size === 0) return;
  const ids = [...wallets.keys()].sort(byNumericId);
  const column = (i: 0 | 1 | 2) => ids.map((id) => String(wallets.get(id)?.[i] ?? 0n));
  await Promise.all([
    tx`update wallets set held_nanos = held_nanos + d.held, paid_nanos = paid_nanos + d.paid, granted_nanos = granted_nanos + d.granted
       from unnest(${ids}::int8[], ${column(0)}::int8[], ${column(1)}::int8[], ${column(2)}::int8[]) as d(id, held, paid, granted)
       where wallets.id = d.id`,
    keys.size === 0
      ? Promise.resolve()
      : tx`update api_keys set held_nanos = held_nanos + d.held, spent_nanos = spent_nanos + d.spent
       from unnest(${[...keys.keys()]}::uuid[], ${[...keys.values()].map((v) => String(v[0]))}::int8[], ${[...keys.values()].map((v) => String(v[1]))}::int8[]) as d(id, held, spent)
       where api_keys.id = d.id`,
  ]);
}

/** The sweeper's step: requests whose holds outlived their time-to-live, oldest first. */
export async function overdueHoldRequests(db: Db, limit: number): Promise<string[]> {
  const rows = await db<{ request_id: string }[]>`
    select request_id from holds where resolved_at is null and expires_at < now()
    group by request_id order by min(expires_at) limit ${limit}`;
  return rows.map((row) => row.request_id);
}
