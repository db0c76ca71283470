import { formatUsd } from '../core/money.ts';
import { keySpend } from '../db/queries/api-keys.ts';
import { policiesFor, type AppliedPolicies } from '../db/queries/rate-limit-policies.ts';
import { walletBalance } from '../db/queries/transfers.ts';
import { GatewayError } from '../core/errors.ts';
import { noOptions } from './options.ts';
import type { PluginDefinition } from './types.ts';

/**
 * `key-info`: `GET /v1/key`, like OpenRouter's key endpoint — the calling key's spend and credit
 * limit, its account's balance, and the rate limits that apply. Amounts are exact USD strings.
 * Read fresh, after this replica has written the key's settlements in progress: a client asking
 * right after a response sees that response's charge.
 */

const usdOrNull = (nanos: bigint | null) => (nanos === null ? null : formatUsd(nanos));

/**
 * By what is counted: `key`, `account` (with `source`: its own policy or the tenant default, both
 * counted for this account alone) and `tenant` (the cap on all of the tenant's customers together).
 * Spending limits are money: exact USD text, as for the balance (and bigint has no JSON form).
 */
function rateLimitsJson({ subjects, accountSource }: AppliedPolicies) {
  return Object.fromEntries(
    Object.entries(subjects).map(([subject, { spendPerDayNanos, spendPerMonthNanos, ...counts }]) => [
      subject,
      {
        ...counts,
        spendPerDayUsd: usdOrNull(spendPerDayNanos),
        spendPerMonthUsd: usdOrNull(spendPerMonthNanos),
        ...(subject === 'account' ? { source: accountSource } : {}),
      },
    ]),
  );
}

export const keyInfo: PluginDefinition<Record<string, never>> = {
  name: 'key-info',
  parseOptions: noOptions,
  create(_options, services) {
    return {
      name: 'key-info',
      async handle(ctx) {
        const principal = ctx.principal;
        if (!principal) throw new GatewayError(401, 'missing_api_key', 'Missing API key.');
        const { key } = principal;
        await services.ledger.keySettled(key.id);
        const [balance, limits, spend] = await Promise.all([
          walletBalance(services.sql, principal.walletId),
          policiesFor(services.sql, { tenantId: principal.tenantId, accountId: key.accountId, apiKeyId: key.id }),
          keySpend(services.sql, key.id),
        ]);
        const cap = spend?.creditCapNanos ?? null;
        const spentNanos = spend?.spentNanos ?? 0n;
        const payload = {
          data: {
            label: key.publicId,
            name: key.name,
            usage: formatUsd(spentNanos),
            limit: usdOrNull(cap),
            // What the cap still allows; `limit_held` is the part of it reserved by requests in flight.
            limit_remaining: cap === null ? null : formatUsd(cap > spentNanos ? cap - spentNanos : 0n),
            limit_held: cap === null ? null : formatUsd(spend?.heldNanos ?? 0n),
            expires_at: key.expiresAt?.toISOString() ?? null,
            allowed_models: key.allowedModels,
            balance: {
              available: formatUsd(balance?.availableNanos ?? 0n),
              held: formatUsd(balance?.heldNanos ?? 0n),
              paid: formatUsd(balance?.paidNanos ?? 0n),
              granted: formatUsd(balance?.grantedNanos ?? 0n),
            },
            rate_limits: rateLimitsJson(limits),
          },
        };
        return new Response(JSON.stringify(payload), { headers: { 'content-type': 'application/json' } });
      },
    };
  },
};
