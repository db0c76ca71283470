import { reasonOf } from '../app/log.ts';
import { affordableOutputTokens, holdNanosPerLevel, splitOutputBudget } from '../core/hold-estimate.ts';
import { formatUsd } from '../core/money.ts';
import { MINIMUM_OUTPUT_TOKENS, sizeHold } from '../ledger/hold-sizing.ts';
import { releaseHolds, wholeHoldLeg, type HoldLeg, type HoldOutcome, type HoldRequest } from '../db/queries/holds.ts';
import type { RequestContext } from './context.ts';
import { GatewayError, insufficientCredit, serviceUnavailable } from '../core/errors.ts';
import { DATABASE_DEADLINE_MS, withinDatabaseDeadline } from '../app/lookup-cache.ts';
import { protocolOf } from '../protocols/registry.ts';
import { billedRequest } from '../protocols/request-body.ts';
import type { Services } from './services.ts';
import type { ChainPricing } from '../ledger/tenant-pricing.ts';
import { optionalNumberOption, onlyKnownOptions } from './options.ts';
import type { Plugin, PluginDefinition } from './types.ts';

/**
 * `balance`: reserves the most a request can cost before it is proxied (DESIGN.md, "Holds, not
 * hope"): the hold estimate (core/hold-estimate.ts) at the dearest price the request may be served
 * at, raised by what this model's upstream was learned to overshoot (upstream/learned-bounds.ts),
 * marked up at every tenant level, held on the customer's wallet and on each reseller's wholesale
 * wallet in one atomic batch. When only part is affordable, the output limits are lowered to what
 * the hold covers; the upstream always receives exactly the limits held for. Below a minimal
 * request, the answer is 402.
 */

/**
 * A hold not answered within the database deadline is refused with 503 (lookup-cache.ts). A grant
 * that still arrives after the refusal is voided, retried this many times, so no credit stays
 * reserved for a request that never ran.
 */
const LATE_VOID_ATTEMPTS = 10;
const LATE_VOID_RETRY_MS = 1_000;

/** Legs in hold order: the customer at the leaf price, then each reseller at its parent's price. */
function holdLegs(ctx: RequestContext, chain: ChainPricing, desired: bigint[], minimum: bigint[]): HoldLeg[] {
  const leaf = chain.levels.length - 1;
  const legs: HoldLeg[] = [
    { walletId: ctx.principal?.walletId ?? 0n, desiredNanos: desired[leaf] ?? 0n, minimumNanos: minimum[leaf] ?? 0n },
  ];
  for (let level = leaf; level >= 1; level--) {
    legs.push({
      walletId: chain.levels[level]?.walletId ?? 0n,
      desiredNanos: desired[level - 1] ?? 0n,
      minimumNanos: minimum[level - 1] ?? 0n,
    });
  }
  return legs;
}

/** Granted amounts come back in leg order; the price functions index by level (root first). */
function grantedByLevel(grantedLegs: readonly bigint[]): bigint[] {
  return [...grantedLegs].reverse();
}

function refusal(outcome: Extract<HoldOutcome, { ok: false }>, minimumNanos: bigint): GatewayError {
  if (outcome.reason === 'key_credit_cap')
    return insufficientCredit(
      `This API key's credit limit has less left than this request needs ($${formatUsd(minimumNanos)}). Raise it.`,
    );
  if (outcome.legIndex > 0)
    return insufficientCredit(
      'This service cannot accept paid requests right now: its wholesale credit is exhausted. Contact support.',
    );
  return insufficientCredit(
    `Insufficient credit: this request needs at least $${formatUsd(minimumNanos)} available. Add credit to continue.`,
  );
}

/** Voids a grant that arrived after its request was refused, retrying while the database recovers. */
async function voidLateHold(requestId: string, services: Services): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await releaseHolds(services.sql, [requestId], 'voided');
      return;
    } catch (error) {
      if (attempt >= LATE_VOID_ATTEMPTS) {
        services.log.warn('late hold not voided; the sweeper will expire it', {
          requestId,
          reason: reasonOf(error),
        });
        return;
      }
      await Bun.sleep(LATE_VOID_RETRY_MS);
    }
  }
}

/** A hold (`granted` tells whether it was placed) answered within the database deadline, else 503; one placed after that is voided. */
async function holdWithinDeadline<T>(
  requestId: string,
  services: Services,
  pending: Promise<T>,
  granted: (result: T) => boolean,
): Promise<T> {
  try {
    return await withinDatabaseDeadline(pending);
  } catch (error) {
    services.spares?.pause();
    services.log.error('hold failed', {
      requestId,
      reason:
        error instanceof GatewayError
          ? `no answer within ${DATABASE_DEADLINE_MS} ms`
          : error instanceof Error
            ? error.message
            : String(error),
    });
    pending.then(
      (late) => (granted(late) ? voidLateHold(requestId, services) : undefined),
      () => {},
    );
    throw serviceUnavailable();
  }
}

const placeHoldNow = (services: Services, request: HoldRequest) =>
  holdWithinDeadline(request.requestId, services, services.ledger.hold(request), (outcome) => outcome.ok);

/** How a request that asked for a spare hold tells the spares it has ended: admit's state, ended by settle. */
type SpareUse = { end(): void };

/**
 * A direct customer's whole hold may already be waiting as a spare (ledger/spare-holds.ts), or be
 * on its way: the request then takes its id. A hold refused or shrunk while this replica keeps
 * spares on the wallet is placed again once they are voided, so a spare never costs a request its
 * credit here.
 */
async function holdOrTakeSpare(
  ctx: RequestContext,
  services: Services,
  request: HoldRequest,
  keyId: string,
  use: SpareUse,
): Promise<HoldOutcome> {
  const leg = wholeHoldLeg(request);
  const spares = services.spares;
  if (!spares || !leg) return holdAfterKeySettlements(ctx, services, request, keyId);
  const { spare, done } = spares.take(keyId, leg.walletId, leg.desiredNanos);
  use.end = done;
  if (spare && (await holdWithinDeadline(spare.requestId, services, spare.placed, (placed) => placed))) {
    ctx.id = spare.requestId;
    return { ok: true, grantedNanos: [spare.amountNanos] };
  }
  const outcome = await placeHoldNow(services, request);
  const short = !outcome.ok || (outcome.grantedNanos[0] ?? 0n) < leg.desiredNanos;
  if (!short || !(await spares.surrender(leg.walletId))) return outcome;
  return placeAgain(ctx, services, request, outcome);
}

/** Places a refused or shrunk hold once more, after what reserved the credit it lacked was released. */
async function placeAgain(
  ctx: RequestContext,
  services: Services,
  request: HoldRequest,
  outcome: HoldOutcome,
): Promise<HoldOutcome> {
  if (outcome.ok) {
    // The shrunk hold is voided; a request id holds once, so the new hold gets a new one. A void
    // that fails is retried in the background: the request has not reached the pipeline's
    // settlement, which would otherwise never resolve that hold.
    const shrunk = ctx.id;
    await withinDatabaseDeadline(releaseHolds(services.sql, [shrunk], 'voided')).catch((error: unknown) => {
      void voidLateHold(shrunk, services);
      throw error;
    });
    ctx.id = Bun.randomUUIDv7();
  }
  return placeHoldNow(services, { ...request, requestId: ctx.id });
}

/**
 * A hold refused or shrunk while this replica still writes the same key's settlements (a client
 * sending its next request as soon as the last ended) is placed again once their holds are released.
 */
async function holdAfterKeySettlements(
  ctx: RequestContext,
  services: Services,
  request: HoldRequest,
  keyId: string,
): Promise<HoldOutcome> {
  const outcome = await placeHoldNow(services, request);
  const short = outcome.ok
    ? outcome.grantedNanos.some((granted, leg) => granted < (request.legs[leg]?.desiredNanos ?? 0n))
    : outcome.reason !== 'duplicate_request';
  if (!short || !(await services.ledger.keySettled(keyId))) return outcome;
  return placeAgain(ctx, services, request, outcome);
}

async function placeHold(
  ctx: RequestContext,
  services: Services,
  markupOverrideBps: number | undefined,
  use: SpareUse,
): Promise<void> {
  const principal = ctx.principal;
  if (!principal) throw new Error('balance runs after auth');
  const billed = await billedRequest(ctx);
  const models = ctx.models;
  if (!models) throw new Error('model-access runs before balance');
  const chain = await services.tenantPricing.forTenant(principal.tenantId);
  const markupsBps = chain.markupsFor(billed.model, markupOverrideBps);
  const protocol = protocolOf(billed.protocol);
  const bound = protocol.promptBound(billed.body);
  const learned = Math.max(...models.map((m) => services.learnedBounds.factorBps(m.id)));
  const { shape, budget } = sizeHold(billed, models, bound, learned);
  const ceiling = budget.output + budget.reasoning;
  const minimumTokens = Math.min(MINIMUM_OUTPUT_TOKENS, ceiling);
  const desired = holdNanosPerLevel(shape, ceiling, markupsBps);
  const minimum = holdNanosPerLevel(shape, minimumTokens, markupsBps);
  const legs = holdLegs(ctx, chain, desired, minimum);
  const apiKeyId = principal.key.creditCapNanos === null ? null : principal.key.id;
  const outcome = await holdOrTakeSpare(
    ctx,
    services,
    { requestId: ctx.id, legs, apiKeyId, ttlSeconds: services.config.holdTtlSeconds },
    principal.key.id,
    use,
  );
  if (!outcome.ok) throw refusal(outcome, legs[0]?.minimumNanos ?? 0n);
  const granted = grantedByLevel(outcome.grantedNanos);
  const affordable = granted.every((g, level) => g >= (desired[level] ?? 0n))
    ? ceiling
    : affordableOutputTokens(shape, markupsBps, granted, ceiling);
  protocol.applyHeldLimits(billed.body, splitOutputBudget(affordable, budget));
  ctx.model = models[0];
  ctx.pricing = { levels: chain.levels, upstreamWalletId: chain.upstreamWalletId, markupsBps, bound, shape };
  ctx.hold = { grantedNanos: granted, maxOutputTokens: affordable };
}

export const balance: PluginDefinition<{ markupBps: number | undefined }> = {
  name: 'balance',
  parseOptions(raw) {
    onlyKnownOptions(raw, ['markupPercent']);
    const percent = optionalNumberOption(raw, 'markupPercent', 0, 10_000);
    return { markupBps: percent === undefined ? undefined : Math.round(percent * 100) };
  },
  create(options, services) {
    const plugin: Plugin<SpareUse> = {
      name: 'balance',
      async admit(ctx) {
        const use: SpareUse = { end: () => {} };
        try {
          await placeHold(ctx, services, options.markupBps, use);
        } catch (error) {
          use.end();
          throw error;
        }
        return use;
      },
      settle: (_ctx, _outcome, use) => use?.end(),
    };
    return plugin;
  },
};
