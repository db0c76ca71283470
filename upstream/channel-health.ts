import type Redis from 'ioredis';
import type { Config } from '../app/config.ts';
import { type Logger, reasonOf } from '../app/log.ts';
import { recordBreakerStates } from '../db/queries/channels.ts';
import type { Sql } from '../db/sql.ts';
import { createMemoryBreakers, splitBreakerKey, type BreakerChange, type Breakers } from './breaker.ts';
import { createRedisBreakers } from './breaker-redis.ts';
import type { Channels } from './channels.ts';

/**
 * The gateway's breakers: shared through Redis when it is configured, in-process otherwise. Each
 * transition is logged and written to `channel_breakers` (off the request's path, not awaited)
 * so that the CLI and the API can show what the gateways decided.
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export type HealthOptions = { config: Config; sql: Sql; log: Logger; channels: Channels; redis?: Redis };

export function createChannelBreakers(options: HealthOptions): Breakers {
  const { config, sql, log, channels } = options;
  const settings = {
    failures: config.breaker.failures,
    windowMs: config.breaker.windowSeconds * 1_000,
    cooldownMs: config.breaker.cooldownSeconds * 1_000,
  };
  // Reports are written one after another, so that the last transition is the one that stays.
  let reported = Promise.resolve();
  const onChange = (change: BreakerChange) => {
    const { channel, model } = splitBreakerKey(change.key);
    const name = UUID.test(channel) ? (channels.byId(channel)?.name ?? channel) : channel;
    const fields = { channel: name, model, cause: change.cause };
    if (change.state === 'open') log.warn('channel breaker opened', fields);
    else log.info(change.state === 'closed' ? 'channel breaker closed' : 'channel breaker probing', fields);
    if (!UUID.test(channel)) return;
    const retryAt = change.retryAt === null ? null : new Date(change.retryAt);
    const report = { channelId: channel, model, state: change.state, retryAt };
    reported = reported
      .then(() => recordBreakerStates(sql, [report]))
      .catch((error: unknown) => log.debug('breaker state not recorded', { reason: reasonOf(error) }));
  };
  return options.redis
    ? createRedisBreakers(options.redis, settings, log, onChange)
    : createMemoryBreakers(settings, onChange);
}
