import { formatUsd } from '../core/money.ts';
import { usageChargedNanos } from '../db/queries/api-keys.ts';
import { policiesFor } from '../db/queries/rate-limit-policies.ts';
import { walletBalance } from '../db/queries/transfers.ts';
import { GatewayError } from '../core/errors.ts';
import { noOptions } from './options.ts';
import type { PluginDefinition } from './types.ts';

/**
 * `key-info`: `GET /v1/key`, like OpenRouter's key endpoint — the calling key's spend and credit
 * limit, its account's balance, and the rate limits that apply. Amounts are exact USD strings.
 */

const usdOrNull = (nanos: bigint | null) => (nanos === null ? null : formatUsd(nanos));

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
        const cap = key.creditCapNanos;
        const [balance, limits, usageNanos] = await Promise.all([
          walletBalance(services.sql, principal.walletId),
          policiesFor(services.sql, { tenantId: principal.tenantId, accountId: key.accountId, apiKeyId: key.id }),
          cap === null ? usageChargedNanos(services.sql, key.id) : Promise.resolve(key.spentNanos),
        ]);
        const payload = {
          data: {
            label: key.publicId,
            name: key.name,
            usage: formatUsd(usageNanos),
            limit: cap === null ? null : formatUsd(cap),
            limit_remaining: cap === null ? null : formatUsd(cap - key.spentNanos - key.heldNanos),
            expires_at: key.expiresAt?.toISOString() ?? null,
            allowed_models: key.allowedModels,
            balance: {
              available: formatUsd(balance?.availableNanos ?? 0n),
              held: formatUsd(balance?.heldNanos ?? 0n),
              paid: formatUsd(balance?.paidNanos ?? 0n),
              granted: formatUsd(balance?.grantedNanos ?? 0n),
            },
            // Spending limits are money: exact USD text, as for the balance (and bigint has no JSON form).
            rate_limits: Object.fromEntries(
              Object.entries(limits).map(([subject, { spendPerDayNanos, spendPerMonthNanos, ...counts }]) => [
                subject,
                {
                  ...counts,
                  spendPerDayUsd: usdOrNull(spendPerDayNanos),
                  spendPerMonthUsd: usdOrNull(spendPerMonthNanos),
                },
              ]),
            ),
          },
        };
        return new Response(JSON.stringify(payload), { headers: { 'content-type': 'application/json' } });
      },
    };
  },
};
