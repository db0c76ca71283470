import { formatUsd } from '../core/money.ts';
import {
  policiesFor,
  type PolicyLimits,
  type PolicySubject,
  type SubjectPolicies,
} from '../db/queries/rate-limit-policies.ts';
import type { RequestContext } from './context.ts';
import { GatewayError } from '../core/errors.ts';
import type { LimitStore, SpendCheck, SpendResult, WindowCheck, WindowResult } from '../limits/store.ts';
import { createLookupCache } from '../app/lookup-cache.ts';
import { createSpendSeeder, type SeededWindow } from '../limits/spend-seeds.ts';
import { billedRequest } from '../protocols/request-body.ts';
import { noOptions } from './options.ts';
import type { Plugin, PluginDefinition } from './types.ts';

/**
 * `ratelimit`: requests per minute and per hour, tokens per minute, spend per UTC day and month,
 * and concurrent requests, from the policy table: the key's own limits, the account's (its own
 * policy, else the tenant's default, counted for this account alone) and the cap on the tenant as
 * a whole (db/queries/rate-limit-policies.ts). Refusals are 429
 * with `retry-after`; every answer carries OpenAI-style `x-ratelimit-*` headers for the tightest
 * request window. Spend is the customer's price (what `usage.cost` shows), counted when `debit`
 * has priced the request and started from the usage log (limits/spend-seeds.ts), so a limit
 * counts all of its period's spend, whenever it was set; a tenant's spend is what all its
 * customers' keys spent.
 */

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
/** A changed policy reaches every replica within 2 s (issue #5), the request itself included. */
const POLICY_CACHE_TTL_MS = 1_500;
const POLICY_CACHE_LIMIT = 50_000;

type Subject = { kind: PolicySubject; id: string; policy: PolicyLimits };

function subjectsOf(ctx: RequestContext, policies: SubjectPolicies): Subject[] {
  const principal = ctx.principal;
  if (!principal) return [];
  const ids: Record<PolicySubject, string> = {
    key: principal.key.id,
    account: principal.key.accountId,
    tenant: principal.tenantId,
  };
  return (['key', 'account', 'tenant'] as const).flatMap((kind) => {
    const policy = policies[kind];
    return policy ? [{ kind, id: ids[kind], policy }] : [];
  });
}

function windowChecks(subjects: Subject[]): { checks: WindowCheck[]; tokens: boolean[] } {
  const checks: WindowCheck[] = [];
  const tokens: boolean[] = [];
  for (const { kind, id, policy } of subjects) {
    const add = (check: WindowCheck, isTokens: boolean) => {
      checks.push(check);
      tokens.push(isTokens);
    };
    if (policy.requestsPerMinute)
      add({ key: `rpm:${kind}:${id}`, limit: policy.requestsPerMinute, windowMs: MINUTE_MS, cost: 1 }, false);
    if (policy.requestsPerHour)
      add({ key: `rph:${kind}:${id}`, limit: policy.requestsPerHour, windowMs: HOUR_MS, cost: 1 }, false);
    if (policy.tokensPerMinute)
      add(
        { key: `tpm:${kind}:${id}`, limit: policy.tokensPerMinute, windowMs: MINUTE_MS, cost: 1, record: false },
        true,
      );
  }
  return { checks, tokens };
}

const SPEND_PERIODS = [
  ['day', 'spendPerDayNanos'],
  ['month', 'spendPerMonthNanos'],
] as const;

type SubjectSpendCheck = SpendCheck & SeededWindow & { kind: PolicySubject };

function spendChecks(subjects: Subject[]): SubjectSpendCheck[] {
  return subjects.flatMap(({ kind, id, policy }) =>
    SPEND_PERIODS.flatMap(([period, field]) => {
      const limitNanos = policy[field];
      return limitNanos === null ? [] : [{ kind, key: `${kind}:${id}`, period, limitNanos, subject: { kind, id } }];
    }),
  );
}

function setHeaders(ctx: RequestContext, checks: WindowCheck[], results: WindowResult[], tokens: boolean[]): void {
  const tightest = (wantTokens: boolean) => {
    let best: { check: WindowCheck; result: WindowResult } | undefined;
    checks.forEach((check, i) => {
      const result = results[i] as WindowResult;
      if (tokens[i] === wantTokens && (!best || result.remaining < best.result.remaining)) best = { check, result };
    });
    return best;
  };
  const requests = tightest(false);
  if (requests) {
    ctx.responseHeaders['x-ratelimit-limit-requests'] = String(requests.check.limit);
    ctx.responseHeaders['x-ratelimit-remaining-requests'] = String(requests.result.remaining);
  }
  const tokenWindow = tightest(true);
  if (tokenWindow) {
    ctx.responseHeaders['x-ratelimit-limit-tokens'] = String(tokenWindow.check.limit);
    ctx.responseHeaders['x-ratelimit-remaining-tokens'] = String(tokenWindow.result.remaining);
  }
}

function tooMany(message: string, retryAfterMs: number): GatewayError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new GatewayError(429, 'rate_limit_exceeded', message, null, {
    'retry-after': String(seconds),
    'x-ratelimit-reset-requests': `${seconds}s`,
  });
}

/** A spending limit will not lift before the period ends, so SDK retries would only waste calls. */
function spendRefusal(check: SubjectSpendCheck, result: SpendResult): GatewayError {
  const seconds = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
  const when = check.period === 'day' ? 'at 00:00 UTC' : 'at 00:00 UTC on the first day of next month';
  const message = `Spending limit reached for this ${check.kind}: $${formatUsd(check.limitNanos)} per UTC ${check.period}, $${formatUsd(result.spentNanos)} spent. It resets ${when}.`;
  return new GatewayError(429, 'rate_limit_exceeded', message, null, {
    'retry-after': String(seconds),
    'x-should-retry': 'false',
  });
}

function refusalOf(
  checks: WindowCheck[],
  tokens: boolean[],
  results: WindowResult[],
  spends: ReturnType<typeof spendChecks>,
  spent: SpendResult[],
): GatewayError | undefined {
  const refused = results.findIndex((r) => !r.allowed);
  if (refused !== -1) {
    const check = checks[refused] as WindowCheck;
    const what = tokens[refused] ? 'tokens' : 'requests';
    return tooMany(
      `Rate limit reached: ${check.limit} ${what} per ${check.windowMs === HOUR_MS ? 'hour' : 'minute'}. Retry after the time in retry-after.`,
      (results[refused] as WindowResult).retryAfterMs,
    );
  }
  const over = spent.findIndex((r) => !r.allowed);
  return over === -1 ? undefined : spendRefusal(spends[over] as SubjectSpendCheck, spent[over] as SpendResult);
}

/** Tokens and spend known only once the request is priced; both are added without refusing. */
async function recordUsage(limits: LimitStore, ctx: RequestContext, subjects: Subject[]): Promise<void> {
  const chargeNanos = ctx.charged ? await ctx.charged : 0n;
  const used = (ctx.usage?.promptTokens ?? 0) + (ctx.usage?.completionTokens ?? 0);
  const writes: Promise<void>[] = [];
  if (used > 0) {
    for (const { kind, id, policy } of subjects)
      if (policy.tokensPerMinute) writes.push(limits.record(`tpm:${kind}:${id}`, MINUTE_MS, used));
  }
  const spends = spendChecks(subjects);
  if (chargeNanos > 0n && spends.length > 0) writes.push(limits.recordSpend(spends, chargeNanos));
  await Promise.all(writes);
}

/** The request id holds the slots, so each release gives back exactly this request's lease. */
async function acquireSlots(limits: LimitStore, subjects: Subject[], holder: string): Promise<string[]> {
  const taken: string[] = [];
  for (const { kind, id, policy } of subjects) {
    if (!policy.concurrentRequests) continue;
    const key = `concurrency:${kind}:${id}`;
    if (!(await limits.acquire(key, policy.concurrentRequests, holder))) {
      await Promise.all(taken.map((k) => limits.release(k, holder)));
      throw tooMany(`Too many concurrent requests for this ${kind} (limit ${policy.concurrentRequests}).`, 1_000);
    }
    taken.push(key);
  }
  return taken;
}

/** The concurrency slots a request holds and the subjects whose usage its settle records. */
type Slots = { keys: string[]; subjects: Subject[]; holder: string };

export const ratelimit: PluginDefinition<Record<string, never>> = {
  name: 'ratelimit',
  parseOptions: noOptions,
  create(_options, services) {
    const cache = createLookupCache<SubjectPolicies>({ ttlMs: POLICY_CACHE_TTL_MS, maxEntries: POLICY_CACHE_LIMIT });
    const seeder = createSpendSeeder(services.sql, services.limits, services.log);
    const policies = (ctx: RequestContext): Promise<SubjectPolicies> => {
      const principal = ctx.principal;
      if (!principal) return Promise.resolve({});
      return cache.get(principal.key.id, () =>
        policiesFor(services.sql, {
          tenantId: principal.tenantId,
          accountId: principal.key.accountId,
          apiKeyId: principal.key.id,
        }).then((applied) => applied.subjects),
      );
    };
    const plugin: Plugin<Slots | undefined> = {
      name: 'ratelimit',
      async admit(ctx) {
        const subjects = subjectsOf(ctx, await policies(ctx));
        if (subjects.length === 0) return undefined;
        const { checks, tokens } = windowChecks(subjects);
        const spends = spendChecks(subjects);
        await seeder.ready(spends);
        const admission = await services.limits.consume(checks, spends);
        setHeaders(ctx, checks, admission.windows, tokens);
        const refusal = refusalOf(checks, tokens, admission.windows, spends, admission.spends);
        if (refusal) throw refusal;
        // A concurrency slot is for a request being served, not one still uploading: a slow
        // client would otherwise hold the key's only slot while its body trickles in.
        if (ctx.route.protocol && subjects.some(({ policy }) => policy.concurrentRequests)) await billedRequest(ctx);
        // Kept apart from ctx.id, which `balance` replaces when it takes a spare hold.
        const holder = ctx.id;
        return { keys: await acquireSlots(services.limits, subjects, holder), subjects, holder };
      },
      async settle(ctx, _outcome, held) {
        if (!held) return;
        await Promise.all(held.keys.map((key) => services.limits.release(key, held.holder)));
        await recordUsage(services.limits, ctx, held.subjects);
      },
    };
    return plugin;
  },
};
