import { createAutoTopUp } from '../billing/auto-top-up.ts';
import { stripeClient } from '../billing/stripe-client.ts';
import type { Database } from '../db/open.ts';
import { startNotifications, type NotificationOptions } from '../notify/runtime.ts';
import { createLiveEvents, type LiveEvents } from '../schema/live-events.ts';
import { createGraphqlHandler } from '../schema/server.ts';
import type { Config } from '../app/config.ts';
import type { Logger } from '../app/log.ts';
import { startGateway, type Gateway, type GatewayOptions } from './server.ts';

/**
 * The whole API process: the /v1 route table, the GraphQL management API at /graphql, and the
 * live events that tie them together (a settled request updates its account's subscriptions), and,
 * with Stripe configured, auto top-up checked after each settled request; and the outbox worker that
 * delivers e-mails and webhooks, stopped with the gateway.
 */

export type Platform = { gateway: Gateway; events: LiveEvents };
export type PlatformOptions = GatewayOptions & { notifications?: NotificationOptions };

export async function startPlatform(
  config: Config,
  database: Database,
  log: Logger,
  options: PlatformOptions = {},
): Promise<Platform> {
  const notifications = startNotifications(config, database, log, options.notifications);
  const live = createLiveEvents();
  // A credit outside a request (a purchase, an adjustment) may re-arm a balance alert: check it too.
  const events: LiveEvents = {
    ...live,
    publishBalanceChange(accountId) {
      live.publishBalanceChange(accountId);
      notifications.thresholds.nudge(accountId);
    },
  };
  const graphql = createGraphqlHandler({
    sql: database.sql,
    config,
    keyPepper: database.keyPepper,
    rootTenantId: database.root.id,
    events,
  });
  const autoTopUp = config.stripe
    ? createAutoTopUp({ sql: database.sql, stripe: stripeClient(config.stripe), log }, events)
    : undefined;
  const gateway = await startGateway(config, database, log, {
    ...options,
    events,
    refusals: notifications.refusals,
    mount: (app, services) => {
      app.all('/graphql', ({ request, server }) => graphql(request, server?.requestIP(request)?.address), {
        parse: 'none',
      });
      options.mount?.(app, services);
    },
    onSettled: (job) => {
      events.publishSettlement(job.request.accountId, job.request.id);
      autoTopUp?.nudge(job.request.accountId);
      notifications.thresholds.nudge(job.request.accountId);
      options.onSettled?.(job);
    },
  }).catch(async (error: unknown) => {
    await notifications.stop();
    throw error;
  });
  return {
    gateway: {
      ...gateway,
      async stop(drainTimeoutMs) {
        await gateway.stop(drainTimeoutMs);
        await notifications.stop();
      },
    },
    events,
  };
}
