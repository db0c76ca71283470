import { overdueHoldRequests, releaseHolds, type ResolvedHold } from '../db/queries/holds.ts';
import type { RequestRecord } from '../db/queries/requests.ts';
import { findStreamStarts, pruneStreamStarts, type StreamStart } from '../db/queries/stream-starts.ts';
import { chargesOf, settlementOf } from './settlement.ts';
import { fetchGenerationUsage } from '../upstream/generation-record.ts';
import { chargeOf, plausibleRecord } from './charge.ts';
import { basicPrice, type ModelPrice } from '../core/cost.ts';
import type { MeteredUsage } from '../core/reported-usage.ts';
import type { Sql } from '../db/sql.ts';
import { createCatalog } from '../upstream/catalog.ts';
import { channelKey } from '../upstream/channel-models.ts';
import { createChannels, type Channels } from '../upstream/channels.ts';
import type { Config } from '../app/config.ts';
import { createLedgerQueues, type SettlementJob } from './queues.ts';
import { type Logger, reasonOf } from '../app/log.ts';
import type { Catalog } from '../upstream/catalog.ts';
import type { LedgerQueues } from './queues.ts';
import type { TenantPricing } from './tenant-pricing.ts';
import { createTenantPricing } from './tenant-pricing.ts';

/**
 * Resolves holds that outlived their time-to-live: their request's replica died (SIGKILL, a
 * crash, a lost machine) or its settlement could not be written in time. Every replica runs it;
 * two sweeping the same hold is harmless, since a hold resolves once and the loser's write finds
 * it resolved. Policy (docs/architecture.md, settlement): a stream whose first chunk was noted
 * (`stream_starts`) is settled from the upstream's generation record, else by the documented
 * estimate; a request with no noted output is expired, charging nothing.
 */

const SWEEP_BATCH_LIMIT = 500;
/** Generation lookups in parallel: each may wait a few seconds for a record that is not there yet. */
const SWEEP_LOOKUP_CONCURRENCY = 16;
const PRUNE_BATCH_LIMIT = 5_000;
/** Up to this many prune batches per sweep: 100k notes per default 30 s sweep outpaces any stream rate a replica set serves. */
const PRUNE_BATCHES_PER_SWEEP = 20;
/**
 * After a crash only the first chunk is known to have reached the client: the estimate charges
 * the prompt estimate (as for an abandoned stream) and this many completion tokens.
 */
export const CRASH_ESTIMATE_COMPLETION_TOKENS = 1;

export type SweepServices = {
  sql: Sql;
  config: Config;
  catalog: Catalog;
  /** Where each stream was served: its generation record is asked of that channel. */
  channels: Channels;
  tenantPricing: TenantPricing;
  ledger: LedgerQueues;
  log: Logger;
};
/** The sweep's parts outside a gateway (the CLI, tests): the stored catalog, no background refresh. */
export async function standaloneSweepServices(sql: Sql, config: Config, log: Logger): Promise<SweepServices> {
  const catalog = await createCatalog({
    sql,
    upstreamBaseUrl: config.upstreamBaseUrl,
    upstreamApiKey: config.upstreamApiKey,
    log,
    background: false,
  });
  return {
    sql,
    config,
    log,
    catalog,
    channels: await createChannels({ sql, config, catalog, log, background: false }),
    tenantPricing: createTenantPricing(sql),
    ledger: createLedgerQueues(sql, log, () => {}),
  };
}

/** `settled` counts requests posted from a stream note; `expired` lists the holds released without a charge. */
export type SweepResult = { settled: number; expired: ResolvedHold[] };

/** `distrusted`: the generation record was beyond anything the request could cost, and the estimate stands instead. */
async function usageAfterCrash(
  services: SweepServices,
  start: StreamStart,
  price: ModelPrice,
): Promise<{ usage: MeteredUsage; distrusted: boolean }> {
  const channel = services.channels.byId(start.channelId);
  const record = channel && (await fetchGenerationUsage(channel.baseUrl, channelKey(channel), start.generationId));
  const estimate: MeteredUsage = {
    promptTokens: start.promptTokensEstimate,
    completionTokens: CRASH_ESTIMATE_COMPLETION_TOKENS,
    upstreamCostFemtos: null,
    source: 'estimate',
  };
  if (!record) return { usage: estimate, distrusted: false };
  // A channel priced by the catalog or its own table is charged by tokens, whatever cost it reports.
  const usage = channel.priceSource === 'reported' ? record : { ...record, upstreamCostFemtos: null };
  if (plausibleRecord(price, start.promptTokensBound, start.mediaItems, usage)) return { usage, distrusted: false };
  services.log.warn('implausible generation record for a lost stream; settled by the estimate', {
    requestId: start.requestId,
  });
  return { usage: estimate, distrusted: true };
}

function recordAfterCrash(
  start: StreamStart,
  { usage, distrusted }: { usage: MeteredUsage; distrusted: boolean },
  costNanos: bigint,
  chargeNanos: bigint,
): RequestRecord {
  return {
    id: start.requestId,
    tenantId: start.tenantId,
    accountId: start.accountId,
    apiKeyId: start.apiKeyId,
    route: start.route,
    protocol: start.protocol,
    model: start.model,
    stream: true,
    statusCode: 200,
    outcome: 'failed',
    errorCode: 'replica_lost',
    promptTokens: usage.promptTokens,
    completionTokens: usage.completionTokens,
    promptTokensBound: start.promptTokensBound,
    costNanos,
    chargeNanos,
    holdNanos: start.holdNanos,
    estimated: usage.source === 'estimate',
    usageDistrusted: distrusted,
    generationId: start.generationId,
    latencyMs: Date.now() - start.startedAt.getTime(),
    firstByteMs: null,
    channelId: start.channelId,
  };
}

/** The settlement of a stream whose replica died: the same posting `debit` would have made. */
export async function crashSettlement(services: SweepServices, start: StreamStart): Promise<SettlementJob> {
  const [prompt, completion, request, image] = start.priceNanos;
  const noted = basicPrice(prompt, completion, request, image);
  // A note names its channel and that channel's price; older notes hold the hold's price, and the catalog's is truer.
  const price = start.channelId !== null ? noted : (services.catalog.get(start.model)?.price ?? noted);
  const judged = await usageAfterCrash(services, start, price);
  const charge = chargeOf(judged.usage, price, start.mediaItems, start.markupsBps);
  const chain = await services.tenantPricing.forTenant(start.tenantId);
  const basis = {
    requestId: start.requestId,
    walletId: start.walletId,
    modelId: start.model,
    levels: chain.levels,
    upstreamWalletId: chain.upstreamWalletId,
  };
  return {
    settlement: settlementOf(basis, charge),
    request: recordAfterCrash(start, judged, charge.costNanos, charge.levelPricesNanos.at(-1) ?? 0n),
    charges: chargesOf(start.requestId, chain.levels, charge),
  };
}

/** One batch of overdue requests, oldest first; the `tollgate holds sweep` command loops over it. */
export async function sweepOverdueHolds(services: SweepServices): Promise<SweepResult> {
  const requestIds = await overdueHoldRequests(services.sql, SWEEP_BATCH_LIMIT);
  if (requestIds.length === 0) return { settled: 0, expired: [] };
  const starts = await findStreamStarts(services.sql, requestIds);
  const started = new Set(starts.map((start) => start.requestId));
  const silent = requestIds.filter((id) => !started.has(id));
  const expired = silent.length === 0 ? [] : await releaseHolds(services.sql, silent, 'expired');
  for (let i = 0; i < starts.length; i += SWEEP_LOOKUP_CONCURRENCY) {
    const jobs = await Promise.all(
      starts.slice(i, i + SWEEP_LOOKUP_CONCURRENCY).map((start) => crashSettlement(services, start)),
    );
    // The ledger queue retries a failed write; a hold another replica resolved first stays as it is.
    await Promise.all(jobs.map((job) => services.ledger.settle(job)));
  }
  return { settled: starts.length, expired };
}

export function startSweeper(services: SweepServices): () => void {
  const { config, log, sql } = services;
  let running = false;
  const sweep = async () => {
    const result = await sweepOverdueHolds(services);
    if (result.settled > 0) log.warn('settled holds left open by a lost replica', { requests: result.settled });
    if (result.expired.length > 0)
      log.warn('expired overdue holds', { requests: new Set(result.expired.map((hold) => hold.requestId)).size });
    // Notes are kept while any hold of their request is open, and for one TTL so late sweeps find them.
    for (let batch = 0; batch < PRUNE_BATCHES_PER_SWEEP; batch++) {
      if ((await pruneStreamStarts(sql, config.holdTtlSeconds, PRUNE_BATCH_LIMIT)) < PRUNE_BATCH_LIMIT) break;
    }
  };
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    sweep()
      .catch((error: unknown) => log.warn('hold sweep failed', { reason: reasonOf(error) }))
      .finally(() => (running = false));
  }, config.sweepIntervalSeconds * 1_000);
  timer.unref?.();
  return () => clearInterval(timer);
}
