import Stripe from 'stripe';
import type { Sql } from '../db/sql.ts';
import type { Config } from '../app/config.ts';
import type { Logger } from '../app/log.ts';

/**
 * The one way Tollgate talks to the Stripe API: an SDK client per configuration, pointed at
 * STRIPE_API_BASE_URL when set (a fake Stripe in tests). The fetch HTTP client is Bun's own fetch.
 */

type StripeSettings = NonNullable<Config['stripe']>;

/** What the billing code needs: the database, the Stripe API, and somewhere to log. */
export type BillingDeps = { sql: Sql; stripe: Stripe; log: Logger };

/** A Stripe call that takes longer is failed (and, for a webhook, retried later by Stripe). */
const STRIPE_TIMEOUT_MS = 20_000;
/** The SDK retries network failures and 409/429/5xx with the same idempotency key. */
const STRIPE_MAX_NETWORK_RETRIES = 2;

const clients = new WeakMap<StripeSettings, Stripe>();

function endpoint(apiBaseUrl: string | undefined): { host?: string; port?: number; protocol?: 'http' | 'https' } {
  if (!apiBaseUrl) return {};
  const url = new URL(apiBaseUrl);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  return { host: url.hostname, port: url.port ? Number(url.port) : protocol === 'http' ? 80 : 443, protocol };
}

export function stripeClient(settings: StripeSettings): Stripe {
  const existing = clients.get(settings);
  if (existing) return existing;
  const client = new Stripe(settings.secretKey, {
    httpClient: Stripe.createFetchHttpClient(),
    timeout: STRIPE_TIMEOUT_MS,
    maxNetworkRetries: STRIPE_MAX_NETWORK_RETRIES,
    appInfo: { name: 'Tollgate' },
    ...endpoint(settings.apiBaseUrl),
  });
  clients.set(settings, client);
  return client;
}
