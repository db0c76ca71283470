import { readSecretVariable } from '../../app/config.ts';
import { GatewayError } from '../../core/errors.ts';
import type { BilledRequest } from '../../core/billed-request.ts';
import { channelKey, targetFor, withKey, type Channel, type ChannelTarget } from '../../upstream/channel-models.ts';
import { usesOpenRouterAccounting } from '../../upstream/channels.ts';
import { sendWithFailover, UpstreamFailure, type LastFailure, type Served } from '../../upstream/failover.ts';
import type { RequestContext } from '../context.ts';
import type { Services } from '../services.ts';
import { upstreamError } from './upstream-errors.ts';

/**
 * The proxy's side of channel routing (upstream/failover.ts does the attempts): which channels a
 * request may go to, the headers each gets, and the error the client sees when none answered.
 */

export const FIRST_BYTE_TIMEOUT_MS = 120_000;
export const NON_STREAM_TIMEOUT_MS = 240_000;

export type RouteUpstream = { baseUrl: string | undefined; apiKeyVariable: string | undefined };

/** A route's own upstream (the proxy's `baseUrl`/`apiKeyVariable` options): one channel, not stored, no failover. */
export function routeChannel(options: RouteUpstream, services: Services): Channel | undefined {
  if (options.baseUrl === undefined && options.apiKeyVariable === undefined) return undefined;
  const baseUrl = (options.baseUrl ?? services.config.upstreamBaseUrl).replace(/\/+$/, '');
  const key = options.apiKeyVariable ? readSecretVariable(options.apiKeyVariable) : services.config.upstreamApiKey;
  const channel: Channel = {
    id: null,
    name: 'route',
    baseUrl,
    protocols: [],
    models: ['*'],
    modelMap: {},
    priority: 0,
    weight: 1,
    maxConcurrency: null,
    maxRequestsPerMinute: null,
    priceSource: 'reported',
    headersTimeoutMs: null,
    state: 'active',
    usageAccounting: usesOpenRouterAccounting(baseUrl),
    prices: new Map(),
    problem: null,
  };
  return withKey(channel, key);
}

/** Each channel's request headers, made once per channel object (a reload makes new ones). */
export function channelHeaders(publicUrl: string): (channel: Channel) => Record<string, string> {
  const made = new WeakMap<Channel, Record<string, string>>();
  return (channel) => {
    let headers = made.get(channel);
    if (!headers) {
      headers = { 'content-type': 'application/json', 'http-referer': publicUrl, 'x-title': 'Tollgate' };
      const key = channelKey(channel);
      if (key) headers.authorization = `Bearer ${key}`;
      made.set(channel, headers);
    }
    return headers;
  };
}

function clientError(last: LastFailure): GatewayError {
  switch (last.kind) {
    case 'status':
      return upstreamError(last.status, last.bodyText, last.retryAfter);
    case 'aborted':
      return new GatewayError(499, 'client_closed_request', 'The client closed the request.');
    case 'timeout':
      return new GatewayError(504, 'upstream_timeout', 'The upstream provider did not answer in time.');
    case 'unreachable':
      return new GatewayError(502, 'upstream_unreachable', 'The upstream provider could not be reached.');
    case 'unavailable':
      return new GatewayError(
        503,
        'upstream_unavailable',
        'No upstream provider can take this request right now. Please retry later.',
        null,
        { 'retry-after': String(Math.ceil(last.retryAfterMs / 1000)) },
      );
  }
}

/** Sends the request to the first channel that answers (upstream/failover.ts), or throws the client's error. */
/** `protocols`: the channel protocols that may serve the request (protocols/registry.ts `servedBy`). */
export async function sendToChannels(
  ctx: RequestContext,
  billed: BilledRequest,
  protocols: readonly string[],
  services: Services,
  pinned: Channel | undefined,
  send: (target: ChannelTarget, signal: AbortSignal) => Promise<Response>,
): Promise<Served> {
  const pinnedTarget = pinned && targetFor(pinned, billed.model, services.catalog);
  const targets = pinned ? (pinnedTarget ? [pinnedTarget] : []) : services.channels.targets(billed.model, protocols);
  try {
    return await sendWithFailover(
      {
        targets,
        model: billed.model,
        maxPrice: ctx.pricing?.shape.price,
        clientSignal: ctx.clientSignal,
        headersTimeoutMs: billed.stream ? FIRST_BYTE_TIMEOUT_MS : NON_STREAM_TIMEOUT_MS,
        bodyTimeoutMs: billed.stream ? null : NON_STREAM_TIMEOUT_MS,
        attempts: ctx.upstream?.attempts ?? [],
        send,
      },
      { breakers: services.breakers, slots: services.limits },
    );
  } catch (error) {
    if (!(error instanceof UpstreamFailure)) throw error;
    if (ctx.upstream && error.last.kind === 'status') ctx.upstream.status = error.last.status;
    throw clientError(error.last);
  }
}
