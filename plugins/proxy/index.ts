import { isRecord, type BilledRequest } from '../../core/billed-request.ts';
import type { Channel } from '../../upstream/channel-models.ts';
import type { Served } from '../../upstream/failover.ts';
import type { RequestContext } from '../context.ts';
import { GatewayError } from '../../core/errors.ts';
import type { Protocol, Translator } from '../../protocols/protocol.ts';
import { protocolOf, servedBy } from '../../protocols/registry.ts';
import { billedRequest } from '../../protocols/request-body.ts';
import { booleanOption, onlyKnownOptions } from '../options.ts';
import type { Observer, PluginDefinition } from '../types.ts';
import { channelHeaders, routeChannel, sendToChannels } from './channels.ts';
import { relayStream } from './sse-relay.ts';
import { embeddedUpstreamError, upstreamError } from './upstream-errors.ts';

/**
 * `proxy`: forwards the request to the first of its channels that answers (./channels.ts;
 * OpenRouter by default, or one base URL of the route's own) with everything the client sent —
 * fallback `models`, `provider`, `transforms`, reasoning, tools, images — under the channel's own
 * model id, plus a request for usage, in the route's protocol (protocols/protocol.ts): natively to
 * a channel that speaks it, through the protocol's translator to one that speaks another. Streams
 * are relayed as they arrive; a client that leaves aborts the upstream call.
 */

const MAX_ERROR_BODY_BYTES = 64 * 1024;

type ProxyOptions = {
  baseUrl: string | undefined;
  apiKeyVariable: string | undefined;
  usageAccounting: boolean | undefined;
};

/**
 * How a channel is called for the route's protocol: natively when it speaks it (a route's own
 * upstream lists no protocols and is called natively), else through the protocol's translator for
 * the first of the channel's protocols that has one (upstream/channels.ts offered only channels
 * that speak the protocol or one it translates to).
 */
function translatorFor(protocol: Protocol, channel: Channel): Translator | undefined {
  const speaks = channel.protocols;
  if (speaks.length === 0 || speaks.includes(protocol.name)) return undefined;
  for (const name of speaks) {
    const translator = protocol.translators[name as keyof Protocol['translators']];
    if (translator) return translator;
  }
  return undefined;
}

/** The client headers the protocol passes on (anthropic-version, anthropic-beta) with the channel's own. */
function withPassedHeaders(
  protocol: Protocol,
  request: Request,
  headers: Record<string, string>,
): Record<string, string> {
  if (protocol.passedHeaders.length === 0) return headers;
  const passed = { ...headers };
  for (const [name, fallback] of protocol.passedHeaders) {
    const value = request.headers.get(name) ?? fallback;
    if (value !== null) passed[name] = value;
  }
  return passed;
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

async function answerJson(
  ctx: RequestContext,
  response: Response,
  observers: readonly Observer[],
  translator: Translator | undefined,
  billed: BilledRequest,
): Promise<Response> {
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
  const answer = translator ? translator.response(payload, billed) : payload;
  for (const observer of observers) observer.json(answer);
  return new Response(JSON.stringify(answer), { status: 200, headers: { 'content-type': 'application/json' } });
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
        const protocol = protocolOf(billed.protocol);
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
          // A request a translator cannot carry is refused as the client's error, not counted
          // against the channel: the attempt is answered locally and the refusal thrown after it.
          let untranslatable: GatewayError | undefined;
          served = await sendToChannels(ctx, billed, servedBy(protocol), services, pinned, (target, signal) => {
            const translator = translatorFor(protocol, target.channel);
            const usageAccounting = options.usageAccounting ?? target.channel.usageAccounting;
            let body: string;
            try {
              body = (translator ?? protocol).upstreamBody(billed, target, usageAccounting);
            } catch (error) {
              if (!(error instanceof GatewayError)) throw error;
              untranslatable = error;
              return Promise.resolve(new Response(null, { status: error.status }));
            }
            return fetch(
              `${target.channel.baseUrl}${translator ? protocolOf(translator.upstream).upstreamPath : protocol.upstreamPath}`,
              {
                method: 'POST',
                headers: withPassedHeaders(protocol, ctx.request, headersOf(target.channel)),
                body,
                signal,
              },
            );
          });
          if (untranslatable) throw untranslatable;
          const response = served.response;
          const translator = translatorFor(protocol, served.target.channel);
          ctx.upstream.status = response.status;
          ctx.upstream.served = served.target;
          if (!response.ok)
            throw upstreamError(response.status, await boundedText(response), response.headers.get('retry-after'));
          if (!billed.stream || !response.body) {
            const answer = await answerJson(ctx, response, delivery.observers, translator, billed);
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
            framing: translator ? protocolOf(translator.upstream).framing : protocol.framing,
            translation: translator?.stream(billed),
            errorEvent: protocol.errors.event,
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
