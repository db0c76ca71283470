import type { ModelPrice } from '../core/cost.ts';
import { breakerKey, type Breakers, type Pass } from './breaker.ts';
import type { Channel, ChannelTarget } from './channel-models.ts';
import { attemptOrder, withinPrice } from './routing.ts';

/**
 * The attempt loop: a request goes to its channels in attempt order until one answers. Failover
 * happens only before the answer starts, which is before any byte reaches the client: on a
 * connection that fails, a response head that does not come in time, 401 (the channel's key), 402
 * (its credit), 408, 429 and 5xx. Any other answer, success or not, is the channel's answer and
 * goes to the client; a stream that breaks later is never retried elsewhere (it has been seen).
 * Every attempt is recorded, with its channel, status, outcome and latency.
 */

/** Upstream calls per request at most, whatever the number of channels. */
export const MAX_ATTEMPTS = 4;
const MAX_ERROR_BODY_CHARS = 64 * 1024;
const CHANNEL_RPM_WINDOW_MS = 60_000;
/** The Retry-After of a request no channel could take (all open or at their caps), at least. */
const MIN_UNAVAILABLE_RETRY_MS = 1_000;

export type AttemptOutcome = 'answered' | 'failed' | 'unreachable' | 'timeout' | 'capped' | 'aborted';
export type Attempt = { channel: string; status: number; outcome: AttemptOutcome; ms: number };

/** The parts of the limit store (limits/store.ts) a channel's caps use. */
export type ChannelSlots = {
  consume(
    checks: readonly { key: string; limit: number; windowMs: number; cost: number }[],
  ): Promise<{ windows: readonly { allowed: boolean }[] }>;
  acquire(key: string, limit: number, holder: string): Promise<boolean>;
  release(key: string, holder: string): Promise<void>;
};

export type LastFailure =
  | { kind: 'status'; status: number; bodyText: string; retryAfter: string | null }
  | { kind: 'unreachable' }
  | { kind: 'timeout' }
  | { kind: 'aborted' }
  | { kind: 'unavailable'; retryAfterMs: number };

/** No channel answered: `last` is the last attempt's failure (or why none was made). */
export class UpstreamFailure extends Error {
  constructor(readonly last: LastFailure) {
    super(`upstream failure: ${last.kind}`);
  }
}

export type FailoverRequest = {
  targets: readonly ChannelTarget[];
  /** The customer-facing model: breakers are per channel and model. */
  model: string;
  /** A hold's price: a channel dearer than this is not tried (its charge could exceed the hold). */
  maxPrice: ModelPrice | undefined;
  clientSignal: AbortSignal;
  /** How long an attempt may wait for its response head unless its channel says otherwise. */
  headersTimeoutMs: number;
  /** For an answer that is not streamed: how long its body may take, counted from the attempt's start. */
  bodyTimeoutMs: number | null;
  /** Filled as attempts are made; the request records it. */
  attempts: Attempt[];
  send(target: ChannelTarget, signal: AbortSignal): Promise<Response>;
};

export type Served = {
  response: Response;
  target: ChannelTarget;
  abort(): void;
  /** The upstream call is over: clears its deadline and frees its channel's slot. Idempotent. */
  end(): void;
  timedOut(): boolean;
};

export type FailoverServices = { breakers: Breakers; slots: ChannelSlots };

export function isFailoverStatus(status: number): boolean {
  return status === 401 || status === 402 || status === 408 || status === 429 || status >= 500;
}

const concurrencyKey = (channel: Channel) => `channel:${channel.id ?? channel.name}`;

/** Takes the channel's concurrency slot and a unit of its request rate; false when either cap is reached. */
async function takeCaps(channel: Channel, slots: ChannelSlots, holder: string): Promise<boolean> {
  if (channel.maxRequestsPerMinute !== null) {
    const key = `channel-rpm:${channel.id ?? channel.name}`;
    const check = { key, limit: channel.maxRequestsPerMinute, windowMs: CHANNEL_RPM_WINDOW_MS, cost: 1 };
    const admission = await slots.consume([check]);
    if (!admission.windows.every((w) => w.allowed)) return false;
  }
  return channel.maxConcurrency === null || slots.acquire(concurrencyKey(channel), channel.maxConcurrency, holder);
}

type Call = { controller: AbortController; timer: Timer | undefined; timedOut: boolean; ended: boolean };

function startCall(request: FailoverRequest, channel: Channel): Call {
  const call: Call = { controller: new AbortController(), timer: undefined, timedOut: false, ended: false };
  const timeoutMs = Math.min(channel.headersTimeoutMs ?? request.headersTimeoutMs, request.headersTimeoutMs);
  call.timer = setTimeout(() => {
    call.timedOut = true;
    call.controller.abort();
  }, timeoutMs);
  return call;
}

function servedBy(
  request: FailoverRequest,
  target: ChannelTarget,
  response: Response,
  call: Call,
  services: FailoverServices,
  startedAt: number,
  holder: string,
): Served {
  const onClientAbort = () => call.controller.abort();
  request.clientSignal.addEventListener('abort', onClientAbort, { once: true });
  // The head has come: a stream's deadline is now the relay's idle timeout; a JSON answer's body has what is left.
  clearTimeout(call.timer);
  if (request.bodyTimeoutMs !== null) {
    const left = Math.max(0, request.bodyTimeoutMs - (performance.now() - startedAt));
    call.timer = setTimeout(() => {
      call.timedOut = true;
      call.controller.abort();
    }, left);
  }
  return {
    response,
    target,
    abort: () => call.controller.abort(),
    end() {
      if (call.ended) return;
      call.ended = true;
      clearTimeout(call.timer);
      request.clientSignal.removeEventListener('abort', onClientAbort);
      if (target.channel.maxConcurrency !== null) void services.slots.release(concurrencyKey(target.channel), holder);
    },
    timedOut: () => call.timedOut,
  };
}

type Tried = { served: Served } | { failure: LastFailure };

/** One attempt on one channel, its breaker already passed and its caps taken. */
async function attempt(
  request: FailoverRequest,
  target: ChannelTarget,
  pass: Pass,
  services: FailoverServices,
  holder: string,
): Promise<Tried> {
  const { channel } = target;
  const key = breakerKey(channel, request.model);
  const call = startCall(request, channel);
  const onClientAbort = () => call.controller.abort();
  request.clientSignal.addEventListener('abort', onClientAbort, { once: true });
  const startedAt = performance.now();
  const record = (status: number, outcome: AttemptOutcome) =>
    request.attempts.push({ channel: channel.name, status, outcome, ms: Math.round(performance.now() - startedAt) });
  const release = () => {
    clearTimeout(call.timer);
    if (channel.maxConcurrency !== null) void services.slots.release(concurrencyKey(channel), holder);
  };
  try {
    const response = await request.send(target, call.controller.signal);
    if (!isFailoverStatus(response.status)) {
      services.breakers.success(key, pass);
      record(response.status, 'answered');
      return { served: servedBy(request, target, response, call, services, startedAt, holder) };
    }
    services.breakers.failure(key, pass);
    const bodyText = (await response.text().catch(() => '')).slice(0, MAX_ERROR_BODY_CHARS);
    record(response.status, 'failed');
    release();
    return {
      failure: { kind: 'status', status: response.status, bodyText, retryAfter: response.headers.get('retry-after') },
    };
  } catch {
    release();
    if (request.clientSignal.aborted) {
      record(0, 'aborted');
      return { failure: { kind: 'aborted' } };
    }
    services.breakers.failure(key, pass);
    record(0, call.timedOut ? 'timeout' : 'unreachable');
    return { failure: { kind: call.timedOut ? 'timeout' : 'unreachable' } };
  } finally {
    request.clientSignal.removeEventListener('abort', onClientAbort);
  }
}

/** Sends the request to its channels in attempt order until one answers; throws UpstreamFailure if none does. */
export async function sendWithFailover(request: FailoverRequest, services: FailoverServices): Promise<Served> {
  const eligible = request.maxPrice
    ? request.targets.filter((t) => withinPrice(t.price, request.maxPrice as ModelPrice))
    : request.targets;
  let last: LastFailure | undefined;
  let retryAfterMs = Number.POSITIVE_INFINITY;
  let made = 0;
  // The concurrency slots this request takes on its channels are held under one id of its own.
  const holder = Bun.randomUUIDv7();
  for (const target of attemptOrder(eligible)) {
    if (made >= MAX_ATTEMPTS) break;
    const key = breakerKey(target.channel, request.model);
    if (!(await takeCaps(target.channel, services.slots, holder))) {
      request.attempts.push({ channel: target.channel.name, status: 0, outcome: 'capped', ms: 0 });
      retryAfterMs = Math.min(retryAfterMs, MIN_UNAVAILABLE_RETRY_MS);
      continue;
    }
    const pass = await services.breakers.admit(key, request.headersTimeoutMs);
    if (pass === undefined) {
      if (target.channel.maxConcurrency !== null) void services.slots.release(concurrencyKey(target.channel), holder);
      retryAfterMs = Math.min(retryAfterMs, services.breakers.retryAfterMs(key));
      continue;
    }
    made += 1;
    const tried = await attempt(request, target, pass, services, holder);
    if ('served' in tried) return tried.served;
    last = tried.failure;
    if (last.kind === 'aborted') break;
  }
  const waitMs = Number.isFinite(retryAfterMs)
    ? Math.max(retryAfterMs, MIN_UNAVAILABLE_RETRY_MS)
    : MIN_UNAVAILABLE_RETRY_MS;
  throw new UpstreamFailure(last ?? { kind: 'unavailable', retryAfterMs: waitMs });
}
