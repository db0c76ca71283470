import { inTransaction, type Db, type TransactionSql } from '../sql.ts';

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

type Availability = Map<string, bigint>;

async function lockAvailability(tx: TransactionSql, requests: readonly HoldRequest[]) {
  const walletIds = [...new Set(requests.flatMap((r) => r.legs.map((leg) => leg.walletId.toString())))];
  const keyIds = [...new Set(requests.flatMap((r) => (r.apiKeyId ? [r.apiKeyId] : [])))];
  const requestIds = requests.map((r) => r.requestId);
  const [wallets, keys, existing] = await Promise.all([
    tx<{ id: bigint; available: bigint }[]>`
      select id, paid_nanos + granted_nanos - held_nanos as available from wallets
      where id = any(${walletIds}::int8[]) order by id for update`,
    keyIds.length === 0
      ? []
      : tx<{ id: string; available: bigint }[]>`
      select id, credit_cap_nanos - spent_nanos - held_nanos as available from api_keys
      where id = any(${keyIds}::uuid[]) and credit_cap_nanos is not null order by id for update`,
    tx<{ request_id: string }[]>`select distinct request_id from holds where request_id = any(${requestIds}::text[])`,
  ]);
  const walletAvailable: Availability = new Map(wallets.map((w) => [w.id.toString(), w.available]));
  const keyAvailable: Availability = new Map(keys.map((k) => [k.id, k.available]));
  return { walletAvailable, keyAvailable, duplicates: new Set(existing.map((row) => row.request_id)) };
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

/**
 * Grants each leg as much of its desired amount as is available, down to its minimum. Legs of one
 * request scale together: if any leg can only get a fraction, every leg gets that fraction (and
 * never less than its minimum), so the caller can shrink the request consistently.
 */
function allocate(request: HoldRequest, walletAvailable: Availability, keyAvailable: Availability): HoldOutcome {
  const keyLimit = request.apiKeyId ? keyAvailable.get(request.apiKeyId) : undefined;
  const limits: bigint[] = [];
  for (const [index, leg] of request.legs.entries()) {
    const walletLimit = walletAvailable.get(leg.walletId.toString()) ?? 0n;
    if (walletLimit < leg.minimumNanos) return { ok: false, reason: 'insufficient_credit', legIndex: index };
    if (index === 0 && keyLimit !== undefined && keyLimit < leg.minimumNanos) return { ok: false, reason: 'key_credit_cap', legIndex: 0 };
    limits.push(index === 0 && keyLimit !== undefined ? min(walletLimit, keyLimit) : walletLimit);
  }
  // The scale is the smallest available/desired ratio, kept as an exact fraction.
  let scaleNumerator = 1n;
  let scaleDenominator = 1n;
  for (const [index, leg] of request.legs.entries()) {
    const available = limits[index] ?? 0n;
    if (leg.desiredNanos > 0n && available * scaleDenominator < leg.desiredNanos * scaleNumerator) {
      scaleNumerator = available;
      scaleDenominator = leg.desiredNanos;
    }
  }
  const granted = request.legs.map((leg) => {
    const scaled = (leg.desiredNanos * scaleNumerator) / scaleDenominator;
    return scaled < leg.minimumNanos ? leg.minimumNanos : scaled;
  });
  for (const [index, leg] of request.legs.entries()) {
    if ((granted[index] ?? 0n) > (limits[index] ?? 0n)) return { ok: false, reason: 'insufficient_credit', legIndex: index };
    const key = leg.walletId.toString();
    walletAvailable.set(key, (walletAvailable.get(key) ?? 0n) - (granted[index] ?? 0n));
  }
  if (request.apiKeyId && keyAvailable.has(request.apiKeyId)) {
    keyAvailable.set(request.apiKeyId, (keyAvailable.get(request.apiKeyId) ?? 0n) - (granted[0] ?? 0n));
  }
  return { ok: true, grantedNanos: granted };
}

/** Places the holds in one transaction: each request is granted entirely or refused entirely. */
export async function placeHolds(db: Db, requests: readonly HoldRequest[]): Promise<HoldOutcome[]> {
  const run = async (tx: TransactionSql) => {
    const { walletAvailable, keyAvailable, duplicates } = await lockAvailability(tx, requests);
    const outcomes = requests.map((request): HoldOutcome => {
      if (duplicates.has(request.requestId)) return { ok: false, reason: 'duplicate_request', legIndex: 0 };
      duplicates.add(request.requestId);
      return allocate(request, walletAvailable, keyAvailable);
    });
    await writeHolds(tx, requests, outcomes);
    return outcomes;
  };
  return inTransaction(db, run);
}

async function writeHolds(tx: TransactionSql, requests: readonly HoldRequest[], outcomes: HoldOutcome[]): Promise<void> {
  const rows = { request: [] as string[], wallet: [] as string[], key: [] as (string | null)[], amount: [] as string[], ttl: [] as number[] };
  const walletDelta = new Map<string, bigint>();
  const keyDelta = new Map<string, bigint>();
  requests.forEach((request, i) => {
    const outcome = outcomes[i];
    if (!outcome?.ok) return;
    request.legs.forEach((leg, index) => {
      const amount = outcome.grantedNanos[index] ?? 0n;
      const wallet = leg.walletId.toString();
      rows.request.push(request.requestId);
      rows.wallet.push(wallet);
      rows.key.push(index === 0 ? request.apiKeyId : null);
      rows.amount.push(amount.toString());
      rows.ttl.push(request.ttlSeconds);
      walletDelta.set(wallet, (walletDelta.get(wallet) ?? 0n) + amount);
      if (index === 0 && request.apiKeyId) keyDelta.set(request.apiKeyId, (keyDelta.get(request.apiKeyId) ?? 0n) + amount);
    });
  });
  if (rows.request.length === 0) return;
  const [inserted, updated] = await Promise.all([
    tx`insert into holds (request_id, wallet_id, api_key_id, amount_nanos, expires_at)
       select r, w, k, a, now() + make_interval(secs => t)
       from unnest(${rows.request}::text[], ${rows.wallet}::int8[], ${rows.key}::uuid[], ${rows.amount}::int8[], ${rows.ttl}::int4[]) as x(r, w, k, a, t)`,
    // The condition re-checks in the database what the allocation computed, as a last line of defence.
    tx`update wallets set held_nanos = held_nanos + d.amount
       from unnest(${[...walletDelta.keys()]}::int8[], ${[...walletDelta.values()].map(String)}::int8[]) as d(id, amount)
       where wallets.id = d.id and wallets.paid_nanos + wallets.granted_nanos - wallets.held_nanos >= d.amount`,
    keyDelta.size === 0
      ? Promise.resolve()
      : tx`update api_keys set held_nanos = held_nanos + d.amount
       from unnest(${[...keyDelta.keys()]}::uuid[], ${[...keyDelta.values()].map(String)}::int8[]) as d(id, amount)
       where api_keys.id = d.id`,
  ]);
  if (inserted.count !== rows.request.length || updated.count !== walletDelta.size) {
    throw new Error('hold batch would overdraw a wallet; the batch was rolled back');
  }
}

export type ResolvedHold = { requestId: string; walletId: bigint; apiKeyId: string | null; amountNanos: bigint };

/** Marks the open holds of these requests as voided or expired and releases their amounts. */
export async function releaseHolds(db: Db, requestIds: readonly string[], outcome: 'voided' | 'expired'): Promise<ResolvedHold[]> {
  const run = async (tx: TransactionSql) => {
    const resolved = await tx<{ request_id: string; wallet_id: bigint; api_key_id: string | null; amount_nanos: bigint }[]>`
      update holds set outcome = ${outcome}, resolved_at = now()
      where request_id = any(${requestIds}::text[]) and outcome is null
      returning request_id, wallet_id, api_key_id, amount_nanos`;
    const holds = resolved.map((h) => ({ requestId: h.request_id, walletId: h.wallet_id, apiKeyId: h.api_key_id, amountNanos: h.amount_nanos }));
    await lockWallets(tx, holds.map((h) => h.walletId));
    await applyBalanceChanges(tx, holds.map((h) => ({ walletId: h.walletId, apiKeyId: h.apiKeyId, heldNanos: -h.amountNanos, paidNanos: 0n, grantedNanos: 0n, spentNanos: 0n })));
    return holds;
  };
  return inTransaction(db, run);
}

export type BalanceChange = { walletId: bigint; apiKeyId: string | null; heldNanos: bigint; paidNanos: bigint; grantedNanos: bigint; spentNanos: bigint };

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
    select request_id from holds where outcome is null and expires_at < now()
    group by request_id order by min(expires_at) limit ${limit}`;
  return rows.map((row) => row.request_id);
}
