import { GraphQLError } from 'graphql';
import { createLogger, createYoga, maskError, type YogaServerOptions } from 'graphql-yoga';
import { authenticate } from './authenticate.ts';
import type { ApiServices, GraphqlContext } from './context.ts';
import { schema } from './index.ts';
import { protection } from './protection.ts';

/**
 * The GraphQL management API as a fetch handler, mounted by the gateway at /graphql. Everything
 * per request (who is calling, which tenant) is resolved once, in the context factory.
 */

export type GraphqlDeps = ApiServices;

type ServerContext = { cookies: string[] };

/** Browsers may call with credentials only from the portal, the gateway's own origin, or the host they are on. */
function corsFor(config: ApiServices['config']): NonNullable<YogaServerOptions<ServerContext, GraphqlContext>['cors']> {
  const allowed = new Set([new URL(config.portalUrl).origin, new URL(config.publicUrl).origin]);
  return (request: Request) => {
    const origin = request.headers.get('origin');
    const host = request.headers.get('host');
    const sameHost = origin !== null && host !== null && URL.canParse(origin) && new URL(origin).host === host;
    const permitted = origin !== null && (allowed.has(origin) || sameHost);
    return { origin: permitted ? [origin, origin] : ['null', 'null'], credentials: true, methods: ['GET', 'POST', 'OPTIONS'] };
  };
}

export function createGraphqlHandler(deps: GraphqlDeps): (request: Request) => Promise<Response> {
  // Yoga's own debug and info lines describe every request's parsing; only its warnings help an operator.
  const logger = createLogger(deps.config.logLevel === 'error' ? 'error' : 'warn');
  const yoga = createYoga<ServerContext, GraphqlContext>({
    schema,
    graphqlEndpoint: '/graphql',
    batching: false,
    multipart: false,
    landingPage: false,
    graphiql: !deps.config.production,
    logging: logger,
    cors: corsFor(deps.config),
    maskedErrors: {
      isDev: false,
      // Expected failures are GraphQLErrors and pass through; anything else is logged (message only) and masked.
      maskError: (error, message, isDev) => {
        const original = error instanceof GraphQLError ? error.originalError : error;
        if (original && !(original instanceof GraphQLError)) logger.error(`graphql: ${original instanceof Error ? original.message : String(original)}`);
        return maskError(error, message, isDev);
      },
    },
    plugins: [protection(deps.config.production)],
    context: async ({ request, cookies }) => {
      const auth = await authenticate(deps, request);
      cookies.push(...auth.cookies);
      return { ...deps, request, tenant: auth.tenant, viewer: auth.viewer, cookies };
    },
  });
  return async (request) => {
    const cookies: string[] = [];
    const response = await yoga.fetch(request, { cookies });
    for (const cookie of cookies) response.headers.append('set-cookie', cookie);
    return response;
  };
}
