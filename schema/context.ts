import type { Account } from '../db/queries/accounts.ts';
import type { ManagementToken } from '../db/queries/management-tokens.ts';
import type { Tenant } from '../db/queries/tenants.ts';
import type { Sql } from '../db/sql.ts';
import type { Config } from '../app/config.ts';
import { forbidden, unauthenticated } from './errors.ts';
import type { DomainCheck } from './domain-check.ts';
import type { LiveEvents } from './live-events.ts';

/**
 * The long-lived parts the API needs, handed in by the gateway once per process. `domainCheck`
 * defaults to the real DNS and HTTP check configured by `config.outbound`; tests hand in their own.
 */
export type ApiServices = {
  sql: Sql;
  config: Config;
  keyPepper: string;
  rootTenantId: string;
  events: LiveEvents;
  domainCheck?: DomainCheck;
};

/** A person signed in with a session (built-in or Clerk); sessionId is null for Clerk tokens. */
type AccountViewer = { kind: 'account'; account: Account; tenant: Tenant; sessionId: string | null };
/** An integrator's software acting as the admin of one tenant, with no account of its own. */
type TokenViewer = { kind: 'management'; token: ManagementToken; tenant: Tenant };
export type Viewer = AccountViewer | TokenViewer;

export type GraphqlContext = ApiServices & {
  domainCheck: DomainCheck;
  request: Request;
  /** The viewer's tenant when signed in, else the tenant the request's host names (or the root). */
  tenant: Tenant;
  viewer: Viewer | null;
  /** Set-Cookie values for the response (sign-in, sign-out, a stale session cookie). */
  cookies: string[];
  /** Who is calling, as far as the network says (schema/throttle.ts); undefined when unknown. */
  clientAddress: string | undefined;
};

export type AccountContext = GraphqlContext & { viewer: AccountViewer };
export type SignedInContext = GraphqlContext & { viewer: Viewer };

export function isAdmin(viewer: Viewer | null): boolean {
  if (!viewer) return false;
  return viewer.kind === 'management' || viewer.account.role === 'admin' || viewer.account.role === 'operator';
}

/** For fields whose scope-auth check already ran but whose context type scope-auth cannot narrow (connections). */
export function signedIn(ctx: GraphqlContext): SignedInContext {
  const viewer = ctx.viewer;
  if (!viewer) throw unauthenticated('Sign in first.');
  return { ...ctx, viewer };
}

/** For subscriptions, whose `subscribe` step scope-auth does not guard: only a person with an account. */
export function accountOnly(ctx: GraphqlContext): AccountContext {
  const viewer = ctx.viewer;
  if (!viewer) throw unauthenticated('Sign in first.');
  if (viewer.kind !== 'account') throw forbidden('Only a signed-in account can subscribe.');
  return { ...ctx, viewer };
}
