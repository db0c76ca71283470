import { createYoga, type Plugin, type YogaLogger } from 'graphql-yoga';
import { createCorsPolicies, graphqlBaseOrigins, graphqlOriginAllowed, withGraphqlCors } from '../cors/policies.ts';
import { createLogger, type Logger } from '../app/log.ts';
import { authenticate } from './authenticate.ts';
import { withCsrfGuard } from './csrf.ts';
import { createDomainCheck } from './domain-check.ts';
import type { ApiServices, GraphqlContext } from './context.ts';
import { schema } from './index.ts';
import { ApiError } from './errors.ts';
import { inputGuard } from './input-guard.ts';
import { clientAddress } from './throttle.ts';
import { protection } from './protection.ts';

/**
 * The GraphQL management API as a fetch handler, mounted by the gateway at /graphql. Everything
 * per request (who is calling, which tenant) is resolved once, in the context factory.
 */

export type GraphqlDeps = ApiServices;

type ServerContext = { cookies: string[]; peerAddress: string | undefined };

/**
 * Yoga logs an unexpected (masked) error with its stack; this keeps the gateway's one-line JSON
 * format and only the error's name and message. Yoga's debug and info lines (request parsing) are dropped.
 */
function yogaLogging(log: Logger): YogaLogger {
  const line = (args: unknown[]) =>
    args.map((arg) => (arg instanceof Error ? `${arg.name}: ${arg.message}` : String(arg))).join(' ');
  return {
    debug: () => {},
    info: () => {},
    warn: (...args: unknown[]) => log.warn(`graphql: ${line(args)}`),
    error: (...args: unknown[]) => log.error(`graphql: ${line(args)}`),
  };
}

/**
 * Yoga reads the `variables` and `extensions` of a query string (GET) or a form body with a bare
 * JSON.parse, whose SyntaxError it would mask as a 500. Broken JSON from a client is its mistake:
 * 400, as yoga already answers for a broken JSON body.
 */
const clientJsonIsBadRequest: Plugin = {
  onRequestParse({ requestParser, setRequestParser }) {
    if (!requestParser) return;
    setRequestParser(async (request) => {
      try {
        return await requestParser(request);
      } catch (error) {
        if (!(error instanceof SyntaxError)) throw error;
        throw new ApiError('BAD_REQUEST', 'The variables or extensions parameter is not valid JSON.');
      }
    });
  },
};

/** `peerAddress` is the connection's remote address, for counting sign-in attempts per client. */
export type GraphqlHandler = (request: Request, peerAddress?: string) => Promise<Response>;

export function createGraphqlHandler(deps: GraphqlDeps): GraphqlHandler {
  const domainCheck = deps.domainCheck ?? createDomainCheck(deps.config.outbound);
  const yoga = createYoga<ServerContext, GraphqlContext>({
    schema,
    graphqlEndpoint: '/graphql',
    batching: false,
    multipart: false,
    landingPage: false,
    graphiql: !deps.config.production,
    logging: yogaLogging(createLogger(deps.config.logLevel)),
    // Answered around yoga (cors/policies.ts), per tenant, with a refused preflight that says so.
    cors: false,
    // Expected failures are GraphQLErrors and pass through; anything else becomes "Unexpected error.".
    maskedErrors: { isDev: false },
    plugins: [clientJsonIsBadRequest, protection(deps.config.production), inputGuard()],
    context: async ({ request, cookies, peerAddress }) => {
      const auth = await authenticate(deps, request);
      cookies.push(...auth.cookies);
      const client = clientAddress(request, peerAddress, deps.config.trustedProxies);
      return {
        ...deps,
        domainCheck,
        request,
        tenant: auth.tenant,
        viewer: auth.viewer,
        cookies,
        clientAddress: client,
      };
    },
  });
  // The wrappers below pass the request on unchanged; its peer address rides beside it.
  const peers = new WeakMap<Request, string>();
  const handle = async (request: Request) => {
    const cookies: string[] = [];
    const response = await yoga.fetch(request, { cookies, peerAddress: peers.get(request) });
    for (const cookie of cookies) response.headers.append('set-cookie', cookie);
    return response;
  };
  const origins = graphqlBaseOrigins(deps.config.portalUrl, deps.config.publicUrl);
  const policies = createCorsPolicies(deps.sql);
  const guarded = withCsrfGuard(handle, (request, origin) => graphqlOriginAllowed(request, origin, origins, policies));
  const cors = withGraphqlCors(guarded, origins, policies);
  return (request, peerAddress) => {
    if (peerAddress !== undefined) peers.set(request, peerAddress);
    return cors(request);
  };
}
