import type { BilledRequest } from '../core/billed-request.ts';
import type { RouteProtocol } from '../protocols/registry.ts';
import type { KeyPrincipal } from '../db/queries/api-keys.ts';
import type { CatalogModel } from '../upstream/catalog.ts';
import type { ChannelTarget } from '../upstream/channel-models.ts';
import type { Attempt } from '../upstream/failover.ts';
import type { MeteredUsage } from '../core/reported-usage.ts';
import type { HoldState, Pricing } from '../ledger/types.ts';

/** What a plugin may know of its route (the runner's route table entry has more). */
export type RouteInfo = { readonly path: string; readonly protocol?: RouteProtocol; readonly free?: boolean };

/**
 * The per-request state plugins share. Plugins talk only through it: each phase reads what an
 * earlier plugin wrote and adds its own part.
 */
export type RequestContext = {
  /**
   * The request's id (x-request-id, the ledger's cause). `balance` may replace it once, with the
   * id of a spare hold the request takes (ledger/spare-holds.ts), before anything is recorded.
   */
  id: string;
  readonly request: Request;
  readonly route: RouteInfo;
  /** performance.now() when the request arrived. */
  readonly startedAt: number;
  /** Aborted when the client goes away; the proxy passes it on to the upstream call. */
  readonly clientSignal: AbortSignal;
  /** Extra headers for the response, success or error (rate-limit headers, for example). */
  readonly responseHeaders: Record<string, string>;
  principal?: KeyPrincipal;
  /** The body validated by the route's protocol; `balance` may lower its output limits. */
  billed?: BilledRequest;
  rawBody?: Uint8Array;
  /** The catalog models the request may be served by (`model-access`); the first is the one it names. */
  models?: readonly CatalogModel[];
  model?: CatalogModel;
  pricing?: Pricing;
  hold?: HoldState;
  upstream?: UpstreamState;
  usage?: MeteredUsage;
  /** The upstream's report was refused as implausible and the request is settled by the estimate. */
  usageDistrusted?: boolean;
  /**
   * Set by `debit` when it settles: the customer's price for the request (0 when nothing is
   * charged), resolved once the usage is final and before the ledger write. Never rejects.
   */
  charged?: Promise<bigint>;
};

export type UpstreamState = {
  status: number;
  generationId: string | null;
  firstByteAt: number | null;
  /**
   * SSE events with content forwarded to the client (for a JSON answer, its text at the estimate's
   * bytes per token): the basis of the estimate when usage never came or was refused.
   */
  contentEvents: number;
  servedModel: string | null;
  /** The channel that answered and the model id it was asked for; null until one has. */
  served: ChannelTarget | null;
  /** Every upstream call the request made, in order (upstream/failover.ts). */
  attempts: Attempt[];
};
