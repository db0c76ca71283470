import { policiesFor, type PolicySubject, type RateLimitPolicy, type SubjectPolicies } from '../db/queries/rate-limits.ts';
import type { RequestContext } from '../gateway/context.ts';
import { GatewayError } from '../gateway/errors.ts';
import type { LimitStore, WindowCheck, WindowResult } from '../gateway/limits.ts';
import { noOptions } from './options.ts';
import type { PluginDefinition } from './types.ts';

/**
 * `ratelimit`: requests per minute and per hour, tokens per minute and concurrent requests, per
 * key, account and tenant, from the policy table. Refusals are 429 with `retry-after`; every answer
 * carries OpenAI-style `x-ratelimit-*` headers for the tightest request window.
 */

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;
const POLICY_CACHE_TTL_MS = 2_000;
const POLICY_CACHE_LIMIT = 50_000;

type Subject = { kind: PolicySubject; id: string; policy: RateLimitPolicy };

function subjectsOf(ctx: RequestContext, policies: SubjectPolicies): Subject[] {
  const principal = ctx.principal;
  if (!principal) return [];
  const ids: Record<PolicySubject, string> = { key: principal.key.id, account: principal.key.accountId, tenant: principal.tenantId };
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
    if (policy.requestsPerMinute) add({ key: `rpm:${kind}:${id}`, limit: policy.requestsPerMinute, windowMs: MINUTE_MS, cost: 1 }, false);
    if (policy.requestsPerHour) add({ key: `rph:${kind}:${id}`, limit: policy.requestsPerHour, windowMs: HOUR_MS, cost: 1 }, false);
    if (policy.tokensPerMinute) add({ key: `tpm:${kind}:${id}`, limit: policy.tokensPerMinute, windowMs: MINUTE_MS, cost: 1, record: false }, true);
  }
  return { checks, tokens };
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
  return new GatewayError(429, 'rate_limit_exceeded', message, null, { 'retry-after': String(seconds), 'x-ratelimit-reset-requests': `${seconds}s` });
}

async function acquireSlots(limits: LimitStore, subjects: Subject[]): Promise<string[]> {
  const taken: string[] = [];
  for (const { kind, id, policy } of subjects) {
    if (!policy.concurrentRequests) continue;
    const key = `concurrency:${kind}:${id}`;
    if (!(await limits.acquire(key, policy.concurrentRequests))) {
      await Promise.all(taken.map((k) => limits.release(k)));
      throw tooMany(`Too many concurrent requests for this ${kind} (limit ${policy.concurrentRequests}).`, 1_000);
    }
    taken.push(key);
  }
  return taken;
}

export const ratelimit: PluginDefinition<Record<string, never>> = {
  name: 'ratelimit',
  parseOptions: noOptions,
  create(_options, services) {
    const cache = new Map<string, { policies: Promise<SubjectPolicies>; expiresAt: number }>();
    const slots = new WeakMap<RequestContext, { keys: string[]; subjects: Subject[] }>();
    const policies = (ctx: RequestContext): Promise<SubjectPolicies> => {
      const principal = ctx.principal;
      if (!principal) return Promise.resolve({});
      const hit = cache.get(principal.key.id);
      if (hit && hit.expiresAt > Date.now()) return hit.policies;
      if (cache.size >= POLICY_CACHE_LIMIT) cache.clear();
      const loaded = policiesFor(services.sql, { tenantId: principal.tenantId, accountId: principal.key.accountId, apiKeyId: principal.key.id });
      cache.set(principal.key.id, { policies: loaded, expiresAt: Date.now() + POLICY_CACHE_TTL_MS });
      loaded.catch(() => cache.delete(principal.key.id));
      return loaded;
    };
    return {
      name: 'ratelimit',
      async admit(ctx) {
        const subjects = subjectsOf(ctx, await policies(ctx));
        if (subjects.length === 0) return;
        const { checks, tokens } = windowChecks(subjects);
        const results = await services.limits.consume(checks);
        setHeaders(ctx, checks, results, tokens);
        const refused = results.findIndex((r) => !r.allowed);
        if (refused !== -1) {
          const check = checks[refused] as WindowCheck;
          const what = tokens[refused] ? 'tokens' : 'requests';
          throw tooMany(`Rate limit reached: ${check.limit} ${what} per ${check.windowMs === HOUR_MS ? 'hour' : 'minute'}. Retry after the time in retry-after.`, (results[refused] as WindowResult).retryAfterMs);
        }
        slots.set(ctx, { keys: await acquireSlots(services.limits, subjects), subjects });
      },
      async settle(ctx) {
        const held = slots.get(ctx);
        if (!held) return;
        await Promise.all(held.keys.map((key) => services.limits.release(key)));
        const used = (ctx.usage?.promptTokens ?? 0) + (ctx.usage?.completionTokens ?? 0);
        if (used === 0) return;
        for (const { kind, id, policy } of held.subjects) {
          if (policy.tokensPerMinute) await services.limits.record(`tpm:${kind}:${id}`, MINUTE_MS, used);
        }
      },
    };
  },
};
