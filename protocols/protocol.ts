import type { BilledRequest, ProtocolName, RequestProblem } from '../core/billed-request.ts';
import type { GatewayError } from '../core/errors.ts';
import type { OutputBudget } from '../core/hold-estimate.ts';
import type { PromptBound } from '../core/prompt-bound.ts';
import type { ReportedUsage } from '../core/reported-usage.ts';
import type { ChannelTarget } from '../upstream/channel-models.ts';

/**
 * THE protocol layer: one module per wire protocol a route may speak (Chat Completions, legacy
 * completions, embeddings, Anthropic Messages, OpenAI Responses). The plugins never look at a wire
 * format themselves; they ask the route's protocol (protocols/registry.ts, `protocolOf`):
 *
 *   request-body  parse          the body → the BilledRequest every plugin reads
 *   balance       promptBound, applyHeldLimits   the hold (core/hold-estimate.ts via ledger/hold-sizing.ts)
 *   proxy         upstreamPath, upstreamBody, upstreamHeaders, framing, translators   the upstream call
 *   meter         meter          usage and cost from the passing answer, and the customer's own price
 *   runner        errors         the error response and the mid-stream error event
 *
 * Everything here is called on the hot path: a protocol is a plain object of functions (a property
 * lookup, no dispatch beyond it), and nothing allocates per request beyond what the wire format
 * itself needs.
 *
 * **Native and translated mode.** A channel lists the protocols it speaks natively (`protocols` on
 * the channel; upstream/channel-models.ts). A channel that speaks the route's protocol is called
 * natively: `upstreamPath`, `upstreamBody`, and the upstream's answer relayed as it is (observed by
 * `meter`). A channel that does not speak it is still usable when the protocol lists a translator
 * for one of the channel's protocols (`translators`): the proxy then calls the channel in that other
 * protocol and converts the answer back, so that the observers (meter, debit) and the client only
 * ever see the route's protocol. Without a translator for any of its protocols, a channel is not a
 * target for the route (upstream/channels.ts `targets`, given the registry's `servedBy`).
 */

/** The parts of a request's state a protocol's observers read and fill (plugins/context.ts has them all). */
export type MeteredRequest = {
  readonly billed?: BilledRequest;
  readonly upstream?: {
    generationId: string | null;
    servedModel: string | null;
    /** Events with content forwarded to the client (for a JSON answer, its text in estimate tokens). */
    contentEvents: number;
  };
};

/**
 * Where a protocol's meter hands what it read (plugins/meter.ts implements it once, for every
 * protocol): the money side — judging a report, pricing it, remembering it for `debit` — is not
 * the protocol's business.
 */
export type UsageSink<Ctx extends MeteredRequest> = {
  /**
   * A usage report as read from the answer (`undefined`: one was present but implausible, e.g. a
   * negative count). The meter settles the request by it and returns the customer's price for the
   * request in USD — what the protocol shows in place of any upstream cost — or undefined when
   * there is no price to show (then the protocol removes the upstream's cost).
   */
  usage(ctx: Ctx, report: ReportedUsage | undefined): number | undefined;
};

/** Sees the answer as it passes (plugins/types.ts `Observer`, the same shape). */
export type ProtocolObserver = {
  /** One SSE event's data; returns the data to forward (possibly rewritten), or null to drop it. */
  event(data: string): string | null;
  /** A whole JSON answer, which the observer may rewrite in place. */
  json(body: Record<string, unknown>): void;
};

/** How a protocol frames its SSE stream. */
export type StreamFraming = {
  /**
   * The data of the event that ends a complete stream (`[DONE]` for OpenAI), or null; the relay
   * ends the stream there (the upstream's body may linger) and a stream cut before it is a failure.
   */
  readonly doneData: string | null;
  /**
   * The `event:` names that end a complete stream (`message_stop` for Anthropic; Responses has three:
   * completed, incomplete and failed), or none.
   */
  readonly doneEvents: readonly string[];
};

/** The protocol's error vocabulary on the wire: the same GatewayError, in the shape its clients parse. */
export type ErrorShape = {
  /** The whole error response (status, body, headers; `requestId` in the protocol's request-id headers). */
  response(error: GatewayError, requestId: string): Response;
  /** The SSE bytes of an error that ends a stream already under way. */
  event(error: GatewayError): Uint8Array;
};

/**
 * Converts a stream in the upstream's protocol into the route's, per request. Called with each
 * upstream event's data in order, then once with null at the upstream's clean end; returns
 * complete SSE event blocks (`event: …\ndata: …\n\n`) in the route's framing, possibly none.
 */
export type StreamTranslation = {
  /** Each event of the route's protocol produced, as data only: the relay runs the observers on it before framing it. */
  next(upstreamData: string | null): readonly TranslatedEvent[];
};
/** One event of the route's protocol: its SSE `event:` name (null for data-only framing) and its data. */
export type TranslatedEvent = { readonly event: string | null; readonly data: string };

/** Serves a protocol through a channel that speaks another one (`upstream`). */
export type Translator = {
  /** The protocol the channel is called in. */
  readonly upstream: ProtocolName;
  /**
   * The body sent to the channel, in the upstream protocol: the request translated, the model
   * mapped to the channel's id (`target.upstreamModel`), usage requested. Something that cannot be
   * translated is refused with a GatewayError 400 (`invalid_request`), never dropped silently.
   */
  upstreamBody(billed: BilledRequest, target: ChannelTarget, usageAccounting: boolean): string;
  /**
   * A whole upstream JSON answer turned into the route's answer. The meter bills a translated
   * request from what the translation produces, so usage must come out in the route protocol's own
   * shape (Messages: `usage` with input_tokens, the cache counts and output_tokens; an upstream's
   * reported cost as `usage.cost`, which the meter bills and replaces with the customer's price).
   */
  response(upstream: Record<string, unknown>, billed: BilledRequest): Record<string, unknown>;
  /**
   * A new stream translation for one request (state: open blocks, tool call indexes, usage so far).
   * As for `response`, usage comes out in the route protocol's events (Messages: the prompt's
   * counts in `message_start`, output_tokens and any reported `cost` in `message_delta`); the
   * upstream must be asked for it (chat: `stream_options.include_usage`).
   */
  stream(billed: BilledRequest): StreamTranslation;
};

export type Protocol = {
  readonly name: ProtocolName;
  /** The path appended to a channel's base URL to call it natively (`/chat/completions`, `/messages`). */
  readonly upstreamPath: string;
  /** Whether answers can be streams at all (embeddings: never). */
  readonly streams: boolean;
  /**
   * Validates a decoded JSON body (an object or anything else a client sent) into the billed
   * request, or says what is wrong with which `param` (the client gets a 400 in `errors`' shape).
   * Only what the gateway relies on is checked; the rest passes through untouched.
   */
  parse(body: unknown): BilledRequest | RequestProblem;
  /**
   * A true upper bound on the prompt's tokens and its media items (core/prompt-bound.ts explains
   * the byte bound): everything the model will read — system, messages, tools, images.
   */
  promptBound(body: Record<string, unknown>): PromptBound;
  /**
   * Writes the output limits the hold covers into the body (`balance`, after the hold), so the
   * upstream never produces more than was held for: `held.output` per choice, and `held.reasoning`
   * for a reasoning budget the protocol bills outside its output limit (HoldFlags.reasoningMaxTokens).
   */
  applyHeldLimits(body: Record<string, unknown>, held: OutputBudget): void;
  /** The body of a native call: the client's body with the channel's model id, and usage asked for. */
  upstreamBody(billed: BilledRequest, target: ChannelTarget, usageAccounting: boolean): string;
  /**
   * Client headers passed on to the upstream on a native call (lower-case names, e.g.
   * `anthropic-version`), with the value sent when the client sent none (null: none sent).
   */
  readonly passedHeaders: readonly (readonly [name: string, fallback: string | null])[];
  readonly framing: StreamFraming;
  /**
   * The observer that reads usage and identity from the answer in this protocol and hands them to
   * the meter's sink; it also rewrites what the customer sees (their own price, never the
   * upstream's cost). `stream` says whether the answer is an SSE stream or one JSON body.
   */
  meter<Ctx extends MeteredRequest>(ctx: Ctx, sink: UsageSink<Ctx>, stream: boolean): ProtocolObserver;
  readonly errors: ErrorShape;
  /** The header, besides `x-request-id`, that carries the request's id on every answer (`request-id`), or null. */
  readonly requestIdHeader: string | null;
  /**
   * Translators by the protocol a channel speaks, for channels that do not speak this one; the
   * registry derives from them which channels may serve the protocol (protocols/registry.ts `servedBy`).
   */
  readonly translators: Partial<Record<ProtocolName, Translator>>;
};
