import { reasonOf } from '../../app/log.ts';
import type { RequestRecord } from '../../db/queries/requests.ts';
import { usageBoundFemtos } from '../../core/hold-estimate.ts';
import { computeCharge, estimateUsage, trustedUsage, type Charge } from '../../ledger/charge.ts';
import { chargesOf, settlementOf } from '../../ledger/settlement.ts';
import type { MeteredUsage } from '../../core/reported-usage.ts';
import type { RequestContext } from '../context.ts';
import type { SettlementJob } from '../../ledger/queues.ts';
import type { Services } from '../services.ts';
import { channelKey } from '../../upstream/channel-models.ts';
import { fetchGenerationUsage } from '../../upstream/generation-record.ts';
import { booleanOption, onlyKnownOptions } from '../options.ts';
import { createStreamStartRecorder, type NotedStream } from './stream-starts.ts';
import type { Outcome, Plugin, PluginDefinition } from '../types.ts';

/**
 * `debit`: settles the request once its response has ended — completed, abandoned by the client,
 * or failed — and records it in the usage log. The settlement policy (docs/architecture.md):
 * usage reported by the upstream wins; else the upstream's generation record; else, if output was
 * delivered, the documented estimate (flagged); an upstream error before any output voids the hold.
 */

async function settledUsage(ctx: RequestContext, outcome: Outcome, lookup: boolean): Promise<MeteredUsage | undefined> {
  // `meter` has already judged a report that came with the answer (and replaced a refused one).
  if (ctx.usage) return ctx.usage;
  const generationId = ctx.upstream?.generationId;
  const served = ctx.upstream?.served?.channel;
  const delivered = ctx.upstream?.contentEvents ?? 0;
  if (lookup && generationId && served && outcome.kind !== 'refused') {
    // The record is asked of the channel that served the request, with that channel's key.
    const record = await fetchGenerationUsage(served.baseUrl, channelKey(served), generationId);
    if (record && ctx.pricing && ctx.hold) {
      const judged = trustedUsage(ctx.pricing, ctx.hold, record, delivered);
      if (judged.distrusted) ctx.usageDistrusted = true;
      return judged.usage;
    }
  }
  if (outcome.producedOutput && ctx.pricing) return estimateUsage(ctx.pricing.bound, delivered);
  return undefined;
}

/** A trusted report with a cost teaches the learned bound of its model how far the catalog falls short. */
function learnFrom(ctx: RequestContext, services: Services, usage: MeteredUsage | undefined): void {
  if (!usage || usage.source === 'estimate' || usage.upstreamCostFemtos === null || !ctx.pricing || !ctx.model) return;
  const bound = usageBoundFemtos(ctx.pricing.shape, usage.promptTokens, usage.completionTokens);
  services.learnedBounds.observe(ctx.model.id, usage.upstreamCostFemtos, bound);
}

function recordOf(
  ctx: RequestContext,
  outcome: Outcome,
  usage: MeteredUsage | undefined,
  charge: Charge | undefined,
): RequestRecord {
  const principal = ctx.principal;
  const firstByteAt = ctx.upstream?.firstByteAt ?? null;
  return {
    id: ctx.id,
    tenantId: principal?.tenantId ?? '',
    accountId: principal?.key.accountId ?? '',
    apiKeyId: principal?.key.id ?? null,
    route: ctx.route.path,
    protocol: ctx.route.protocol ?? null,
    model: ctx.upstream?.servedModel ?? ctx.model?.id ?? ctx.billed?.model ?? null,
    stream: ctx.billed?.stream ?? false,
    statusCode: outcome.status,
    outcome: outcome.kind,
    errorCode: outcome.errorCode,
    promptTokens: usage?.promptTokens ?? 0,
    completionTokens: usage?.completionTokens ?? 0,
    promptTokensBound: ctx.pricing?.bound.tokens ?? null,
    costNanos: charge?.costNanos ?? 0n,
    chargeNanos: charge?.levelPricesNanos.at(-1) ?? 0n,
    holdNanos: ctx.hold?.grantedNanos.at(-1) ?? 0n,
    estimated: usage?.source === 'estimate',
    usageDistrusted: ctx.usageDistrusted === true,
    generationId: ctx.upstream?.generationId ?? null,
    latencyMs: performance.now() - ctx.startedAt,
    firstByteMs: firstByteAt === null ? null : firstByteAt - ctx.startedAt,
    channelId: ctx.upstream?.served?.channel.id ?? null,
    attempts: ctx.upstream?.attempts ?? [],
  };
}

type Priced = { usage: MeteredUsage | undefined; charge: Charge | undefined };

/** Final usage and charge; for an abandoned stream this may wait on the upstream's generation record. */
async function price(ctx: RequestContext, outcome: Outcome, services: Services, lookup: boolean): Promise<Priced> {
  const usage = ctx.hold ? await settledUsage(ctx, outcome, lookup) : undefined;
  ctx.usage = usage;
  learnFrom(ctx, services, usage);
  return { usage, charge: usage ? computeCharge(ctx, services.catalog, usage) : undefined };
}

async function post(
  ctx: RequestContext,
  outcome: Outcome,
  services: Services,
  { usage, charge }: Priced,
): Promise<void> {
  const principal = ctx.principal;
  if (!principal) return;
  let job: SettlementJob = { settlement: null, request: recordOf(ctx, outcome, usage, charge), charges: [] };
  const pricing = ctx.pricing;
  if (ctx.hold && charge && pricing) {
    // The chain was read when the hold was placed: settling needs no database read, so it can
    // queue (and retry) even while the database is unreachable.
    const basis = {
      requestId: ctx.id,
      walletId: principal.walletId,
      modelId: ctx.model?.id ?? null,
      levels: pricing.levels,
      upstreamWalletId: pricing.upstreamWalletId,
    };
    job = { ...job, settlement: settlementOf(basis, charge), charges: chargesOf(ctx.id, pricing.levels, charge) };
  }
  await services.ledger.settle(job);
}

export const debit: PluginDefinition<{ generationLookup: boolean }> = {
  name: 'debit',
  parseOptions(raw) {
    onlyKnownOptions(raw, ['generationLookup']);
    return { generationLookup: booleanOption(raw, 'generationLookup', true) };
  },
  create(options, services) {
    const starts = createStreamStartRecorder(services.sql, services.log);
    const plugin: Plugin<NotedStream> = {
      name: 'debit',
      admit: () => ({ note: null }),
      observe: (ctx, noted) => (ctx.billed?.stream && noted ? starts.observer(ctx, noted) : undefined),
      settle(ctx, outcome, noted) {
        if (!ctx.principal) return;
        // Detached on purpose: settlement (and any generation lookup) must not delay the other
        // plugins' settle steps, such as releasing the concurrency slot. `ctx.charged` lets them
        // wait for the price alone (spending limits count it) without waiting on the ledger.
        const priced = price(ctx, outcome, services, options.generationLookup);
        ctx.charged = priced.then(
          ({ charge }) => charge?.levelPricesNanos.at(-1) ?? 0n,
          () => 0n,
        );
        priced
          .then((result) => {
            if (noted) starts.forget(noted);
            return post(ctx, outcome, services, result);
          })
          .catch((error: unknown) => {
            services.log.error('debit failed; the hold sweeper will resolve the hold', {
              requestId: ctx.id,
              reason: reasonOf(error),
            });
          });
      },
    };
    return plugin;
  },
};
