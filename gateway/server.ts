import { Elysia } from 'elysia';
import type Redis from 'ioredis';
import type { Database } from '../db/open.ts';
import { createCatalog } from '../upstream/catalog.ts';
import { createChannelBreakers } from '../upstream/channel-health.ts';
import { createChannels } from '../upstream/channels.ts';
import { createLearnedBounds } from '../upstream/learned-bounds.ts';
import type { Config } from '../app/config.ts';
import { apiPreflight, CORS_RESPONSE_HEADERS, createCorsPolicies, isCorsPath } from '../cors/policies.ts';
import type { RequestContext } from '../plugins/context.ts';
import { GatewayError } from '../core/errors.ts';
import { asGatewayError, errorResponse, notFound } from './errors.ts';
import { ELYSIA_HANDLER_OPTIONS, exactRouting } from './request-target.ts';
import { createLedgerQueues, type SettlementJob } from '../ledger/queues.ts';
import { createMemoryLimitStore, type LimitStore } from '../limits/store.ts';
import { type Logger, reasonOf } from '../app/log.ts';
import { runPipeline, type CompiledRoute } from './pipeline.ts';
import { builtinPlugins } from './plugin-registry.ts';
import { MAX_REQUEST_BODY_BYTES } from '../protocols/request-body.ts';
import { compileRoutes } from './route-compiler.ts';
import { loadRouteTable } from './routes.ts';
import type { BalanceEvents } from '../ledger/types.ts';
import type { Services } from '../plugins/services.ts';
import { NO_REFUSAL_NOTICES, type RefusalNotices } from '../notify/refusals.ts';
import { createSpareHolds } from '../ledger/spare-holds.ts';
import { startSweeper } from '../ledger/sweeper.ts';
import { createTenantPricing } from '../ledger/tenant-pricing.ts';

/** Bun's maximum; streams stay alive through pauses with SSE heartbeats well inside it. */
export const IDLE_TIMEOUT_SECONDS = 255;
export const DRAIN_TIMEOUT_MS = 30_000;
const READY_CHECK_TIMEOUT_MS = 2_000;
/** The origin of requests handled in-process; never resolved, only parsed. */
const IN_PROCESS_URL = 'http://tollgate.in-process';

export type Gateway = {
  url: string;
  port: number;
  services: Services;
  /** Answers a request in-process, exactly as the server would: what tests use when a socket is not the point. */
  handle(request: Request): Promise<Response>;
  stop(drainTimeoutMs?: number): Promise<void>;
};
export type GatewayOptions = {
  port?: number;
  /** false: no socket at all (in-process tests); requests go through `handle`. */
  listen?: boolean;
  limits?: LimitStore;
  /** Shares the channels' breakers between replicas; without it each replica keeps its own. */
  redis?: Redis;
  backgroundCatalog?: boolean;
  /** Extra fixed routes (GraphQL, webhooks) mounted beside the route table. */
  mount?: (app: Elysia, services: Services) => void;
  onSettled?: (job: SettlementJob) => void;
  /** Called once per request with the status of its response head (metrics, request logs). */
  observe?: (ctx: RequestContext, status: number) => void;
  /** Where plugins announce credit changes (the live API); nowhere by default. */
  events?: BalanceEvents;
  /** Where refusals that call for a notice are told (the notifications); nowhere by default. */
  refusals?: RefusalNotices;
};

async function ready(services: Services): Promise<Response> {
  try {
    await Promise.race([
      services.sql`select 1`,
      Bun.sleep(READY_CHECK_TIMEOUT_MS).then(() => Promise.reject(new Error('timeout'))),
    ]);
    return Response.json({ status: 'ready' });
  } catch {
    return Response.json({ status: 'unavailable', reason: 'database unreachable' }, { status: 503 });
  }
}

export function buildApp(
  compiled: CompiledRoute[],
  services: Services,
  tracker: { active: number },
  observe?: GatewayOptions['observe'],
): Elysia {
  const app = new Elysia({ handler: ELYSIA_HANDLER_OPTIONS });
  // Only what runs outside the pipeline ends here: routing, and CORS preflights (which read the
  // tenant's origins from the database). A failure there is the gateway's, not the client's.
  // Registered first: an Elysia hook covers only the routes added after it.
  app.onError(({ code, error }) => {
    const id = Bun.randomUUIDv7();
    if (code === 'NOT_FOUND') return errorResponse(notFound(), id);
    if (code === 'PARSE' || code === 'VALIDATION')
      return errorResponse(new GatewayError(400, 'invalid_request', 'The request could not be processed.'), id);
    const failure = asGatewayError(error);
    if (!(error instanceof GatewayError))
      services.log.error('request failed outside the pipeline', {
        requestId: id,
        reason: reasonOf(error),
      });
    return errorResponse(failure, id);
  });
  for (const route of compiled) {
    const handler = ({ request }: { request: Request }) => {
      const ctx: RequestContext = {
        id: Bun.randomUUIDv7(),
        request,
        route: route.route,
        startedAt: performance.now(),
        clientSignal: request.signal,
        responseHeaders: isCorsPath(route.route.path) ? { ...CORS_RESPONSE_HEADERS } : {},
      };
      tracker.active += 1;
      const answer = runPipeline(route, ctx, services.log, () => (tracker.active -= 1));
      if (!observe) return answer;
      return answer.then((response) => {
        observe(ctx, response.status);
        return response;
      });
    };
    if (route.route.method === 'GET') app.get(route.route.path, handler);
    else app.post(route.route.path, handler, { parse: 'none' });
    if (isCorsPath(route.route.path))
      app.options(route.route.path, ({ request }) => apiPreflight(request, route.route.method, services.cors));
  }
  app.get('/healthz', () => Response.json({ status: 'ok' }));
  app.get('/readyz', () => ready(services));
  return app;
}

export async function startGateway(
  config: Config,
  database: Database,
  log: Logger,
  options: GatewayOptions = {},
): Promise<Gateway> {
  const catalog = await createCatalog({
    sql: database.sql,
    upstreamBaseUrl: config.upstreamBaseUrl,
    upstreamApiKey: config.upstreamApiKey,
    log,
    background: options.backgroundCatalog ?? true,
  });
  const channels = await createChannels({
    sql: database.sql,
    config,
    catalog,
    log,
    background: true,
  });
  const breakers = createChannelBreakers({ config, sql: database.sql, log, channels, redis: options.redis });
  const learnedBounds = await createLearnedBounds({
    sql: database.sql,
    upstream: config.upstreamBaseUrl,
    log,
    background: true,
  });
  const limits = options.limits ?? createMemoryLimitStore();
  const spares = config.spareHolds ? createSpareHolds(database.sql, log, config.holdTtlSeconds) : null;
  const services: Services = {
    config,
    sql: database.sql,
    keyPepper: database.keyPepper,
    rootTenantId: database.root.id,
    log,
    catalog,
    channels,
    breakers,
    learnedBounds,
    tenantPricing: createTenantPricing(database.sql),
    cors: createCorsPolicies(database.sql),
    ledger: createLedgerQueues(
      database.sql,
      log,
      (job) => options.onSettled?.(job),
      () => spares?.pause(),
    ),
    spares,
    limits,
    events: options.events ?? { publishBalanceChange: () => {} },
    refusals: options.refusals ?? NO_REFUSAL_NOTICES,
  };
  const compiled = compileRoutes(loadRouteTable(config.routesFile), builtinPlugins(), services);
  const tracker = { active: 0 };
  const app = buildApp(compiled, services, tracker, options.observe);
  options.mount?.(app, services);
  const stopSweeper = startSweeper(services);
  const server =
    options.listen === false
      ? undefined
      : Bun.serve({
          hostname: config.host,
          port: options.port ?? config.port,
          idleTimeout: IDLE_TIMEOUT_SECONDS,
          maxRequestBodySize: MAX_REQUEST_BODY_BYTES * 2,
          ...exactRouting(app, log),
        });
  const port = server?.port ?? 0;
  return {
    url: server ? `http://${config.host}:${port}` : IN_PROCESS_URL,
    port,
    services,
    handle: (request) => app.handle(request),
    async stop(drainTimeoutMs = DRAIN_TIMEOUT_MS) {
      const deadline = Date.now() + drainTimeoutMs;
      void server?.stop(false);
      while (tracker.active > 0 && Date.now() < deadline) await Bun.sleep(20);
      await services.spares?.close();
      await services.ledger.drain(Math.max(0, deadline - Date.now()));
      stopSweeper();
      catalog.stop();
      channels.stop();
      breakers.stop();
      await learnedBounds.stop();
      await server?.stop(true);
    },
  };
}
