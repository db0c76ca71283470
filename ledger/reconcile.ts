import { FEMTOS_PER_NANO } from '../core/money.ts';
import { DISTRUST_FACTOR } from './charge.ts';
import { ceilDiv, chainPricesNanos } from '../core/pricing.ts';
import {
  levelRevenues,
  reconciledRequests,
  recordedRequestsPage,
  type RecordedRequest,
} from '../db/queries/reconciliation.ts';
import { lockWallets } from '../db/queries/holds.ts';
import { tenantWalletId } from '../db/queries/tenants.ts';
import { recordTransfer, walletBalance, type TransferEntry } from '../db/queries/transfers.ts';
import type { Sql } from '../db/sql.ts';
import { channelKey } from '../upstream/channel-models.ts';
import type { Channels } from '../upstream/channels.ts';
import { fetchGenerationUsage } from '../upstream/generation-record.ts';
import { createTenantPricing, type TenantPricing } from './tenant-pricing.ts';

/**
 * Reconciliation: compares what each request of a time window recorded as its upstream cost with
 * the upstream's own generation record, and reports every difference. With `fix`, each difference
 * is corrected by one `adjustment` transfer (cause `reconcile:<request id>`, so a re-run changes
 * nothing) that moves every leg of the request's settlement from what was posted to what the
 * upstream's cost gives: the customer at the marked-up price, each reseller at its parent's
 * price, each level's revenue and the upstream cost book. Prices use the tenants' current markups
 * (core/pricing.ts, rounded up once); corrections move paid credit. An extra charge is taken only
 * from what the wallet has available, like a settlement's (db/functions/post_settlements.sql): the
 * rest is written off to the uncollected book of the tenant it was owed to, so no correction takes
 * a wallet below zero.
 */

/** Requests read per query; memory stays bounded however long the window. */
export const RECONCILE_PAGE_SIZE = 500;
/** Generation lookups in flight at once, so a long window does not flood the upstream. */
export const RECONCILE_CONCURRENCY = 8;
/** A bound on the loop: 10 000 pages of 500 requests. */
const MAX_RECONCILE_PAGES = 10_000;
/** Old generations are already recorded upstream: one attempt, no wait. */
const RECONCILE_LOOKUP_DELAYS_MS = [0] as const;
/** Request ids listed (all are counted) when the upstream has no record of them. */
const MAX_LISTED_MISSING = 1_000;

/** `implausible`: the upstream's record is beyond anything the request could cost; it is reported, never charged. */
export type DifferenceStatus = 'unfixed' | 'fixed' | 'fixed_earlier' | 'implausible';

/**
 * An upstream record above this many times the recorded cost is not believed, the rule a
 * settlement applies to a report beyond its catalog bound (ledger/charge.ts DISTRUST_FACTOR): a
 * broken or hostile record must not drain a wallet after the fact. A recorded cost below one cent
 * counts as one, so a small request still takes a genuine correction (a web search fee, a
 * provider surcharge) of up to a dollar.
 */
const IMPLAUSIBLE_FLOOR_NANOS = 10_000_000n;

export function implausibleRecord(recordedCostNanos: bigint, upstreamCostNanos: bigint): boolean {
  const recorded = recordedCostNanos > IMPLAUSIBLE_FLOOR_NANOS ? recordedCostNanos : IMPLAUSIBLE_FLOOR_NANOS;
  return upstreamCostNanos > DISTRUST_FACTOR * recorded;
}

export type Difference = {
  requestId: string;
  generationId: string;
  createdAt: Date;
  recordedCostNanos: bigint;
  upstreamCostNanos: bigint;
  /** Upstream minus recorded: positive when the request was undercharged. */
  differenceNanos: bigint;
  recordedChargeNanos: bigint;
  correctedChargeNanos: bigint;
  status: DifferenceStatus;
};

export type ReconcileReport = { checked: number; missingCount: number; missing: string[]; differences: Difference[] };

export type ReconcileOptions = {
  sql: Sql;
  /** Each request's generation record is asked of the channel that served it. */
  channels: Pick<Channels, 'byId'>;
  since: Date;
  until: Date;
  fix: boolean;
  progress?: (line: string) => void;
};

export const reconcileCause = (requestId: string) => `reconcile:${requestId}`;

/** `owedTo`: for each paying leg (the first entries), the tenant whose uncollected book takes its shortfall. */
type Correction = { entries: TransferEntry[]; owedTo: string[]; correctedChargeNanos: bigint };

/** The settlement's legs (see plugins/debit/index.ts) as posted minus as the upstream's cost gives them. */
async function correctionOf(
  pricing: TenantPricing,
  request: RecordedRequest,
  upstreamFemtos: bigint,
  revenues: Map<string, bigint> | undefined,
): Promise<Correction> {
  const chain = await pricing.forTenant(request.tenantId);
  const prices = chainPricesNanos(upstreamFemtos, chain.markupsFor(request.model ?? ''));
  const posted = chain.levels.map((level) => revenues?.get(level.tenantId) ?? 0n);
  const delta = (level: number) => (prices[level] ?? 0n) - (posted[level] ?? 0n);
  const costDelta = ceilDiv(upstreamFemtos, FEMTOS_PER_NANO) - request.costNanos;
  const leaf = chain.levels.length - 1;
  const paid = (walletId: bigint, amountNanos: bigint): TransferEntry => ({ walletId, funding: 'paid', amountNanos });
  const entries = [paid(request.walletId, -delta(leaf))];
  const owedTo = [chain.levels[leaf]?.tenantId ?? ''];
  for (let level = leaf; level >= 1; level--) {
    entries.push(paid(chain.levels[level]?.walletId ?? 0n, -delta(level - 1)));
    owedTo.push(chain.levels[level - 1]?.tenantId ?? '');
  }
  for (const [i, level] of chain.levels.entries()) {
    entries.push(paid(level.revenueWalletId, i === 0 ? delta(0) - costDelta : delta(i)));
  }
  entries.push(paid(chain.upstreamWalletId, costDelta));
  return { entries, owedTo, correctedChargeNanos: prices[leaf] ?? 0n };
}

/**
 * Applies a correction with each extra charge capped at what its wallet has available (read under
 * the wallets' row locks, the ones recordTransfer then takes again), the rest written off.
 */
async function applyCapped(sql: Sql, correction: Correction, cause: string, memo: Record<string, string>) {
  return sql.begin(async (tx) => {
    const payers = correction.owedTo.map((tenantId, i) => ({
      tenantId,
      entry: correction.entries[i] as TransferEntry,
    }));
    const uncollected = await Promise.all(payers.map((p) => tenantWalletId(tx, p.tenantId, 'uncollected')));
    await lockWallets(tx, [...correction.entries.map((e) => e.walletId), ...uncollected]);
    const entries = [...correction.entries];
    for (const [i, { entry }] of payers.entries()) {
      if (entry.amountNanos >= 0n) continue;
      const available = (await walletBalance(tx, entry.walletId))?.availableNanos ?? 0n;
      const charged = -entry.amountNanos < available ? -entry.amountNanos : available > 0n ? available : 0n;
      if (charged === -entry.amountNanos) continue;
      entries[i] = { ...entry, amountNanos: -charged };
      entries.push({
        walletId: uncollected[i] as bigint,
        funding: 'paid',
        amountNanos: -(-entry.amountNanos - charged),
      });
    }
    return recordTransfer(tx, { kind: 'adjustment', cause, memo, entries });
  });
}

async function eachBounded<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

type Found = { request: RecordedRequest; upstreamFemtos: bigint };

async function settleDifferences(
  options: ReconcileOptions,
  pricing: TenantPricing,
  found: Found[],
): Promise<Difference[]> {
  const revenues = await levelRevenues(
    options.sql,
    found.map((f) => f.request.id),
  );
  const earlier = await reconciledRequests(
    options.sql,
    found.map((f) => reconcileCause(f.request.id)),
  );
  const differences: Difference[] = [];
  for (const { request, upstreamFemtos } of found) {
    const correction = await correctionOf(pricing, request, upstreamFemtos, revenues.get(request.id));
    const upstreamCostNanos = ceilDiv(upstreamFemtos, FEMTOS_PER_NANO);
    let status: DifferenceStatus = earlier.has(reconcileCause(request.id))
      ? 'fixed_earlier'
      : implausibleRecord(request.costNanos, upstreamCostNanos)
        ? 'implausible'
        : 'unfixed';
    if (status === 'unfixed' && options.fix) {
      const memo = {
        source: 'reconcile',
        requestId: request.id,
        generationId: request.generationId,
        recordedCostNanos: request.costNanos.toString(),
      };
      const result = await applyCapped(options.sql, correction, reconcileCause(request.id), memo);
      status = result.applied ? 'fixed' : 'fixed_earlier';
    }
    differences.push({
      requestId: request.id,
      generationId: request.generationId,
      createdAt: request.createdAt,
      recordedCostNanos: request.costNanos,
      upstreamCostNanos,
      differenceNanos: upstreamCostNanos - request.costNanos,
      recordedChargeNanos: request.chargeNanos,
      correctedChargeNanos: correction.correctedChargeNanos,
      status,
    });
  }
  return differences;
}

export async function reconcile(options: ReconcileOptions): Promise<ReconcileReport> {
  const pricing = createTenantPricing(options.sql);
  const report: ReconcileReport = { checked: 0, missingCount: 0, missing: [], differences: [] };
  let afterId: string | null = null;
  for (let page = 0; page < MAX_RECONCILE_PAGES; page++) {
    const requests = await recordedRequestsPage(options.sql, options, afterId, RECONCILE_PAGE_SIZE);
    if (requests.length === 0) break;
    const found: Found[] = [];
    await eachBounded(requests, RECONCILE_CONCURRENCY, async (request) => {
      const channel = options.channels.byId(request.channelId);
      // A channel priced by the catalog or its own table is charged by tokens: its reported cost is not the price.
      if (channel && channel.priceSource !== 'reported') return;
      const usage =
        channel &&
        (await fetchGenerationUsage(
          channel.baseUrl,
          channelKey(channel),
          request.generationId,
          RECONCILE_LOOKUP_DELAYS_MS,
        ));
      const femtos = usage?.upstreamCostFemtos;
      if (femtos === undefined || femtos === null) {
        report.missingCount += 1;
        if (report.missing.length < MAX_LISTED_MISSING) report.missing.push(request.id);
      } else if (ceilDiv(femtos, FEMTOS_PER_NANO) !== request.costNanos)
        found.push({ request, upstreamFemtos: femtos });
    });
    found.sort(
      (a, b) =>
        a.request.createdAt.getTime() - b.request.createdAt.getTime() || a.request.id.localeCompare(b.request.id),
    );
    report.differences.push(...(await settleDifferences(options, pricing, found)));
    report.checked += requests.length;
    const last = requests.at(-1) as RecordedRequest;
    afterId = last.id;
    if (requests.length === RECONCILE_PAGE_SIZE) {
      options.progress?.(
        `reconcile: ${report.checked} request(s) checked up to ${last.createdAt.toISOString()}, ${report.differences.length} difference(s)`,
      );
    }
  }
  return report;
}
