/**
 * A fake OpenRouter on 127.0.0.1 for tests and benchmarks: a real HTTP server speaking OpenRouter's
 * OpenAI-compatible API under `/api/v1`, deterministic so a test can compute the exact usage and
 * cost it will report. Each request can steer it with directives such as `[[fake:status=500]]`
 * (see `Behaviour` in ./fake-upstream/behaviour.ts); prompt tokens are counted by
 * `fakePromptTokens` (see ./fake-upstream/tokens.ts). Completions are `tok0 tok1 …`, one token per
 * chunk; usage.cost is prompt_tokens × prompt price + completion_tokens × completion price, exact.
 *
 * This file is the entry point, so the public API is re-exported here from the files defining it.
 */
import { behaviourFor, DEFAULT_BEHAVIOUR, type Behaviour } from './fake-upstream/behaviour.ts';
import { completionResponse } from './fake-upstream/completion.ts';
import { embeddingsResponse } from './fake-upstream/embeddings.ts';
import { messagesResponse } from './fake-upstream/messages.ts';
import { endpointsJson, MODELS_JSON } from './fake-upstream/models.ts';
import { responsesResponse } from './fake-upstream/responses.ts';
import {
  errorResponse,
  FakeState,
  Flight,
  isRecord,
  jsonResponse,
  type GenerationRecord,
  type RecordedRequest,
} from './fake-upstream/state.ts';

export type { Behaviour } from './fake-upstream/behaviour.ts';
export { FAKE_MODELS, type FakeModel } from './fake-upstream/models.ts';
export type { GenerationRecord, RecordedRequest } from './fake-upstream/state.ts';
export { fakePromptTokens } from './fake-upstream/tokens.ts';
export { fakeResponsesInputTokens } from './fake-upstream/responses.ts';
export { fakeMessagesPromptTokens } from './fake-upstream/messages.ts';

export type FakeUpstream = {
  /** e.g. `http://127.0.0.1:PORT/api/v1`, OpenRouter's prefix. */
  baseUrl: string;
  requests: RecordedRequest[];
  generations: Map<string, GenerationRecord>;
  /** Requests in progress, streams included. */
  readonly active: number;
  /** Requests whose client went away before the end. */
  readonly aborted: number;
  setDefaults(behaviour: Partial<Behaviour>): void;
  /** Clears requests, generations and `aborted`, and restores the defaults given at start. */
  reset(): void;
  close(): Promise<void>;
};

type FakeUpstreamOptions = { apiKey?: string; defaults?: Partial<Behaviour> };

const API_PREFIX = '/api/v1';
const HOST = '127.0.0.1';
const UPSTREAM_SECRET = 'sk-upstream-SECRET';

/** An upstream failure as OpenRouter reports it, with provider metadata a gateway must never forward. */
function upstreamError(status: number): Response {
  const body = {
    error: {
      message: `Fake upstream error ${status}`,
      code: status,
      metadata: { provider_name: 'Fake', provider_key: UPSTREAM_SECRET },
    },
  };
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (status === 429) headers['retry-after'] = '1';
  return new Response(JSON.stringify(body), { status, headers });
}

/** Sends no headers, ever; the request ends when its client disconnects. */
function hang(flight: Flight): Promise<Response> {
  return new Promise((resolve) => flight.watch(() => resolve(new Response(null, { status: 499 }))));
}

/** GET /generation?id=…, OpenRouter's generation-stats shape. */
function generationResponse(state: FakeState, query: string): Response {
  const generation = state.generations.get(new URLSearchParams(query).get('id') ?? '');
  if (generation === undefined) return errorResponse(404, 'Generation not found');
  const { id, model, promptTokens, completionTokens, cancelled, streamed, finishReason, createdAt } = generation;
  const data = JSON.stringify({
    id,
    model,
    streamed,
    cancelled,
    finish_reason: finishReason,
    tokens_prompt: promptTokens,
    tokens_completion: completionTokens,
    native_tokens_prompt: promptTokens,
    native_tokens_completion: completionTokens,
    created_at: createdAt,
  });
  // total_cost is spliced in as text so it prints exactly.
  return jsonResponse(`{"data":{"total_cost":${generation.totalCostUsd},${data.slice(1)}}`);
}

function post(
  state: FakeState,
  flight: Flight,
  endpoint: string,
  body: Record<string, unknown>,
  rawBody: string,
): Response | Promise<Response> {
  // Anthropic's Messages API lives apart, with its own error shape: ./fake-upstream/messages.ts.
  if (endpoint === '/messages') return messagesResponse(state, flight, body, rawBody);
  const behaviour = behaviourFor(rawBody, state.defaults);
  if (typeof behaviour === 'string') return errorResponse(400, behaviour);
  if (behaviour.status !== null) return upstreamError(behaviour.status);
  if (behaviour.hang) return hang(flight);
  if (endpoint === '/embeddings') return embeddingsResponse(state, flight, body, behaviour);
  // OpenAI Responses (native mode of /v1/responses): its own module, apart from the chat formats.
  if (endpoint === '/responses') return responsesResponse(state, flight, body, behaviour);
  return completionResponse(state, flight, body, behaviour, endpoint === '/chat/completions' ? 'chat' : 'text');
}

const POST_ENDPOINTS = new Set(['/chat/completions', '/completions', '/embeddings', '/messages', '/responses']);

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function handle(state: FakeState, request: Request, apiKey: string | undefined): Promise<Response> {
  const { url, method } = request;
  const target = url.slice(url.indexOf('/', url.indexOf('//') + 2));
  const rawBody = method === 'POST' ? await request.text() : '';
  const body = method === 'POST' ? parseJson(rawBody) : null;
  state.remember({
    method,
    path: target,
    headers: Object.fromEntries(request.headers),
    body: body ?? null,
    time: Date.now(),
  });
  if (apiKey !== undefined && request.headers.get('authorization') !== `Bearer ${apiKey}`)
    return errorResponse(401, 'No auth credentials found');
  const queryAt = target.indexOf('?');
  const path = queryAt === -1 ? target : target.slice(0, queryAt);
  const endpoint = path.startsWith(API_PREFIX) ? path.slice(API_PREFIX.length) : '';
  if (method === 'GET' && endpoint === '/models') return jsonResponse(MODELS_JSON);
  const listing = method === 'GET' ? /^\/models\/(.+)\/endpoints$/.exec(endpoint) : null;
  if (listing) {
    const body = endpointsJson(decodeURIComponent(listing[1] ?? ''));
    return body === undefined ? errorResponse(404, 'Model not found') : jsonResponse(body);
  }
  if (method === 'GET' && endpoint === '/generation')
    return generationResponse(state, queryAt === -1 ? '' : target.slice(queryAt + 1));
  if (method !== 'POST' || !POST_ENDPOINTS.has(endpoint)) return errorResponse(404, `No route for ${method} ${path}`);
  if (!isRecord(body)) return errorResponse(400, 'Request body must be a JSON object');
  const flight = new Flight(state, request.signal);
  try {
    return await post(state, flight, endpoint, body, rawBody);
  } finally {
    if (!flight.held) flight.end();
  }
}

export async function startFakeUpstream(options: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const state = new FakeState({ ...DEFAULT_BEHAVIOUR, ...options.defaults });
  const server = Bun.serve({
    hostname: HOST,
    port: 0,
    // Never time out: `hang` and long pauses must last as long as the test wants, like a slow provider.
    idleTimeout: 0,
    // Production mode keeps a deliberate `cut_after` from printing a stack trace into test output.
    development: false,
    fetch: (request) => handle(state, request, options.apiKey),
  });
  return {
    baseUrl: `http://${HOST}:${server.port}${API_PREFIX}`,
    requests: state.requests,
    generations: state.generations,
    get active() {
      return state.active;
    },
    get aborted() {
      return state.aborted;
    },
    setDefaults(behaviour) {
      state.defaults = { ...state.defaults, ...behaviour };
    },
    reset: () => state.reset(),
    close: () => server.stop(true),
  };
}
