import { isRecord, type BilledRequest } from '../../core/openai-request.ts';
import type { ChannelTarget } from '../../upstream/channel-models.ts';
import type { Served } from '../../upstream/failover.ts';
import type { RequestContext } from '../context.ts';
import { GatewayError } from '../../core/errors.ts';
import { billedRequest } from '../../protocols/request-body.ts';
import { booleanOption, onlyKnownOptions } from '../options.ts';
import type { Observer, PluginDefinition } from '../types.ts';
import { channelHeaders, mappedModels, routeChannel, sendToChannels } from './channels.ts';
import { relayStream } from './sse-relay.ts';
import { embeddedUpstreamError, upstreamError } from './upstream-errors.ts';

/**
 * `proxy`: forwards the request to the first of its channels that answers (./channels.ts;
 * OpenRouter by default, or one base URL of the route's own) with everything the client sent —
 * fallback `models`, `provider`, `transforms`, reasoning, tools, images — under the channel's own
 * model id, plus a request for usage. Streams are relayed as they arrive; a client that leaves
 * aborts the upstream call.
 */

const MAX_ERROR_BODY_BYTES = 64 * 1024;
const UPSTREAM_PATHS = { chat: '/chat/completions', completions: '/completions', embeddings: '/embeddings' } as const;

type ProxyOptions = {
  baseUrl: string | undefined;
  apiKeyVariable: string | undefined;
  usageAccounting: boolean | undefined;
};

function upstreamBody(billed: BilledRequest, target: ChannelTarget, usageAccounting: boolean): string {
  const body: Record<string, unknown> = { ...billed.body };
  mappedModels(body, billed, target);
  if (billed.stream) {
    const clientOptions =
      typeof body.stream_options === 'object' && body.stream_options !== null ? body.stream_options : {};
    body.stream_options = { ...clientOptions, include_usage: true };
  }
  if (usageAccounting) body.usage = { include: true };
  return JSON.stringify(body);
}

async function boundedText(response: Response): Promise<string> {
  const text = await response.text();
  return text.length > MAX_ERROR_BODY_BYTES ? text.slice(0, MAX_ERROR_BODY_BYTES) : text;
}

function failureOf(error: unknown, ctx: RequestContext, timedOut: boolean): GatewayError {
  if (error instanceof GatewayError) return error;
  if (ctx.clientSignal.aborted) return new GatewayError(499, 'client_closed_request', 'The client closed the request.');
  if (timedOut) return new GatewayError(504, 'upstream_timeout', 'The upstream provider did not answer in time.');
  return new GatewayError(502, 'upstream_unreachable', 'The upstream provider could not be reached.');
}

async function answerJson(ctx: RequestContext, response: Response, observers: readonly Observer[]): Promise<Response> {
  const text = await response.text();
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    payload = undefined;
  }
  // Only an object is an answer: `null`, an array or a bare number is as unreadable as broken JSON.
  if (!isRecord(payload))
    throw new GatewayError(502, 'upstream_invalid_response', 'The upstream provider sent an unreadable answer.');
  const embedded = embeddedUpstreamError(payload);
  if (embedded) throw embedded;
  if (ctx.upstream) ctx.upstream.firstByteAt = performance.now();
  for (const observer of observers) observer.json(payload);
  return new Response(JSON.stringify(payload), { status: 200, headers: { 'content-type': 'application/json' } });
}

export const proxy: PluginDefinition<ProxyOptions> = {
  name: 'proxy',
  parseOptions(raw) {
    onlyKnownOptions(raw, ['baseUrl', 'apiKeyVariable', 'usageAccounting']);
    const { baseUrl, apiKeyVariable } = raw;
    if (baseUrl !== undefined && (typeof baseUrl !== 'string' || !/^https?:\/\/\S+$/.test(baseUrl)))
      throw new Error('option baseUrl must be an http(s) URL');
    if (
      apiKeyVariable !== undefined &&
      (typeof apiKeyVariable !== 'string' || !/^[A-Z][A-Z0-9_]*$/.test(apiKeyVariable))
    ) {
      throw new Error('option apiKeyVariable must name an environment variable, like OTHER_UPSTREAM_KEY');
    }
    const usageAccounting =
      raw.usageAccounting === undefined ? undefined : booleanOption(raw, 'usageAccounting', false);
    return {
      baseUrl: baseUrl as string | undefined,
      apiKeyVariable: apiKeyVariable as string | undefined,
      usageAccounting,
    };
  },
  create(options, services) {
    const pinned = routeChannel(options, services);
    const headersOf = channelHeaders(services.config.publicUrl);
    return {
      name: 'proxy',
      async handle(ctx, delivery) {
        const billed = await billedRequest(ctx);
        const endpoint = billed.endpoint;
        delivery.claim();
        ctx.upstream = {
          status: 0,
          generationId: null,
          firstByteAt: null,
          contentEvents: 0,
          servedModel: null,
          served: null,
          attempts: [],
        };
        let served: Served | undefined;
        try {
          served = await sendToChannels(ctx, billed, services, pinned, (target, signal) =>
            fetch(`${target.channel.baseUrl}${UPSTREAM_PATHS[endpoint]}`, {
              method: 'POST',
              headers: headersOf(target.channel),
              body: upstreamBody(billed, target, options.usageAccounting ?? target.channel.usageAccounting),
              signal,
            }),
          );
          const response = served.response;
          ctx.upstream.status = response.status;
          ctx.upstream.served = served.target;
          if (!response.ok)
            throw upstreamError(response.status, await boundedText(response), response.headers.get('retry-after'));
          if (!billed.stream || !response.body) {
            const answer = await answerJson(ctx, response, delivery.observers);
            delivery.finish({ kind: 'completed', status: 200, errorCode: null, producedOutput: true });
            return answer;
          }
          const call = served;
          const body = relayStream({
            ctx,
            delivery: {
              ...delivery,
              finish: (outcome) => {
                call.end();
                delivery.finish(outcome);
              },
            },
            upstream: response.body,
            abortUpstream: () => call.abort(),
            heartbeatMs: services.config.streamHeartbeatSeconds * 1000,
          });
          return new Response(body, {
            status: 200,
            headers: {
              'content-type': 'text/event-stream; charset=utf-8',
              'cache-control': 'no-cache',
              'x-accel-buffering': 'no',
            },
          });
        } catch (error) {
          served?.abort();
          served?.end();
          throw failureOf(error, ctx, served?.timedOut() ?? false);
        } finally {
          if (!billed.stream) served?.end();
        }
      },
    };
  },
};
