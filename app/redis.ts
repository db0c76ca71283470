import Redis from 'ioredis';
import type { Logger } from './log.ts';

/**
 * The one Redis connection of a gateway process. Redis only ever holds rate-limit counters, so the
 * client is tuned to fail fast rather than wait: no offline queue (a command while disconnected is
 * rejected at once), a short command timeout, no per-command retries, and a bounded reconnect
 * back-off. Callers fall back to local state on any error.
 */

export const REDIS_COMMAND_TIMEOUT_MS = 250;
export const REDIS_CONNECT_TIMEOUT_MS = 1_000;
const REDIS_RECONNECT_STEP_MS = 100;
const REDIS_RECONNECT_MAX_DELAY_MS = 1_000;

export function connectRedis(url: string, log: Logger): Redis {
  const client = new Redis(url, {
    enableOfflineQueue: false,
    commandTimeout: REDIS_COMMAND_TIMEOUT_MS,
    connectTimeout: REDIS_CONNECT_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: (times) => Math.min(times * REDIS_RECONNECT_STEP_MS, REDIS_RECONNECT_MAX_DELAY_MS),
    lazyConnect: false,
  });
  // Without a listener ioredis prints every reconnect failure; the limit store logs state changes once.
  client.on('error', (error: Error) => log.debug('redis error', { reason: error.message }));
  return client;
}
