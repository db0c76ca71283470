import type { Config } from '../app/config.ts';
import type { Logger } from '../app/log.ts';
import { connectDatabase } from '../db/sql.ts';
import { startOutboxWorker, type OutboxTiming } from '../outbox/worker.ts';
import { startOperatorDigests } from './digest.ts';
import { emailDeliverer } from './email-delivery.ts';
import { createMailer } from './mailer.ts';
import { createRefusalNotices, type RefusalNotices } from './refusals.ts';
import { startThresholdWatch, type ThresholdWatch } from './thresholds.ts';
import { addressPolicy, webhookDeliverer } from './webhook-delivery.ts';

/**
 * The outbound side of one gateway process: the outbox worker with its deliverers, the watch
 * over customers' balance thresholds, the notices of refused requests, and the operators' daily
 * digest. All run on a small pool of their own, so a slow SMTP server or webhook receiver, or a
 * burst of notices, never takes a connection the /v1 request path is waiting for.
 */

const OUTBOX_POOL_CONNECTIONS = 3;
const POOL_CLOSE_TIMEOUT_SECONDS = 5;

export type Notifications = { thresholds: ThresholdWatch; refusals: RefusalNotices; stop(): Promise<void> };

export type NotificationOptions = { timing?: Partial<OutboxTiming>; thresholdSweepIntervalMs?: number };

export function startNotifications(
  config: Config,
  database: { url: string; keyPepper: string },
  log: Logger,
  options: NotificationOptions = {},
): Notifications {
  const sql = connectDatabase(database.url, {
    maxConnections: OUTBOX_POOL_CONNECTIONS,
    applicationName: 'tollgate-outbox',
  });
  const mailer = createMailer(config, log);
  const worker = startOutboxWorker({
    sql,
    log,
    deliverers: {
      email: emailDeliverer(sql, config, mailer),
      webhook: webhookDeliverer(sql, database.keyPepper, addressPolicy(config.outbound.allowPrivate)),
    },
    timing: options.timing,
  });
  const thresholds = startThresholdWatch(sql, log, options.thresholdSweepIntervalMs);
  const refusals = createRefusalNotices(sql, log);
  const digests = startOperatorDigests(sql, log);
  return {
    thresholds,
    refusals,
    async stop() {
      await thresholds.stop();
      await refusals.stop();
      await digests.stop();
      await worker.stop();
      mailer.close();
      await sql.end({ timeout: POOL_CLOSE_TIMEOUT_SECONDS });
    },
  };
}
