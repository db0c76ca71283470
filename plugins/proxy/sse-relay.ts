import type { RequestContext } from '../context.ts';
import { GatewayError } from '../../core/errors.ts';
import type { StreamFraming, StreamTranslation, TranslatedEvent } from '../../protocols/protocol.ts';
import type { Delivery, OutcomeKind } from '../types.ts';
import { embeddedUpstreamError } from './upstream-errors.ts';

/**
 * Relays an upstream SSE stream to the client event by event, as events complete: nothing is
 * buffered beyond one partial event. Observers see (and may rewrite or drop) each data event; an
 * event they leave alone goes out as it came (its `event:` line included), so a native stream
 * arrives byte for byte. The upstream's framing (protocols/protocol.ts) says which event ends a
 * complete stream: OpenAI's `[DONE]`, Anthropic's `message_stop`. In translated mode each upstream
 * event goes through the translation first, and the observers and the client see the route's
 * protocol. Long silences get comment heartbeats; the end — the last event, a cut, an upstream
 * error, an idle timeout or the client leaving — is reported exactly once through `finish`, and
 * an error after the stream started is sent as the route protocol's error event.
 */

export const STREAM_IDLE_TIMEOUT_MS = 180_000;
/** How long an upstream may take to end its body after its last event before its connection is cut. */
export const UPSTREAM_END_AFTER_DONE_MS = 5_000;

const encoder = new TextEncoder();
const HEARTBEAT = encoder.encode(': keep-alive\n\n');

type ReadResult = { done: true; value?: Uint8Array } | { done: false; value: Uint8Array };

type Relay = {
  ctx: RequestContext;
  delivery: Delivery;
  upstream: ReadableStream<Uint8Array>;
  abortUpstream: () => void;
  heartbeatMs: number;
  /** The upstream's framing: the route protocol's natively, the translator's upstream protocol's otherwise. */
  framing: StreamFraming;
  /** Translated mode: turns the upstream's events into the route protocol's. */
  translation: StreamTranslation | undefined;
  /** The route protocol's mid-stream error event. */
  errorEvent: (error: GatewayError) => Uint8Array;
};

/** Runs the observers on one event's data: what to forward, or null to drop it. */
function observed(observers: Delivery['observers'], data: string): string | null {
  let forwarded: string | null = data;
  for (const observer of observers) {
    if (forwarded === null) break;
    forwarded = observer.event(forwarded);
  }
  return forwarded;
}

/** Translated mode: the route protocol's events, observed and framed. */
function translated(observers: Delivery['observers'], events: readonly TranslatedEvent[], out: string[]): void {
  for (const { event, data } of events) {
    const forwarded = observed(observers, data);
    if (forwarded === null) continue;
    out.push(event === null ? `data: ${forwarded}\n\n` : `event: ${event}\ndata: ${forwarded}\n\n`);
  }
}

export function relayStream({
  ctx,
  delivery,
  upstream,
  abortUpstream,
  heartbeatMs,
  framing,
  translation,
  errorEvent,
}: Relay): ReadableStream<Uint8Array> {
  const reader = upstream.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let pendingRead: Promise<ReadResult> | undefined;
  let lastDataAt = performance.now();
  let sawDone = false;
  let closed = false;
  const state = ctx.upstream;

  const end = (kind: OutcomeKind, status: number, errorCode: string | null) => {
    closed = true;
    delivery.finish({ kind, status, errorCode, producedOutput: (state?.contentEvents ?? 0) > 0 });
  };

  /** Turns complete events in the buffer into output bytes; returns an upstream error event if one came. */
  const drainEvents = (out: string[]): GatewayError | undefined => {
    if (buffer.includes('\r')) buffer = buffer.replace(/\r\n?/g, '\n');
    let boundary = buffer.indexOf('\n\n');
    while (boundary !== -1) {
      const block = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      boundary = buffer.indexOf('\n\n');
      // An `event:` line (Anthropic, Responses) names the event; its data follows on the next line.
      let dataAt = 0;
      let name: string | null = null;
      if (!block.startsWith('data:')) {
        const newline = block.startsWith('event:') ? block.indexOf('\n') : -1;
        if (newline === -1 || !block.startsWith('data:', newline + 1)) {
          if (block.startsWith(':') || newline !== -1) out.push(`${block}\n\n`);
          continue;
        }
        name = block.slice(block.charCodeAt(6) === 32 ? 7 : 6, newline);
        dataAt = newline + 1;
      }
      const data = block.slice(dataAt + (block.charCodeAt(dataAt + 5) === 32 ? 6 : 5));
      if (data === framing.doneData) {
        sawDone = true;
        if (translation) translated(delivery.observers, translation.next(null), out);
        else out.push(`data: ${data}\n\n`);
        continue;
      }
      if (data.startsWith('{"error"') || data.includes('"error":{')) {
        const error = safeError(data);
        if (error) return error;
      }
      if (translation) translated(delivery.observers, translation.next(data), out);
      else {
        const forwarded = observed(delivery.observers, data);
        // A named event nobody rewrote goes out exactly as it came.
        if (forwarded !== null && name === null) out.push(`data: ${forwarded}\n\n`);
        else if (forwarded !== null)
          out.push(forwarded === data ? `${block}\n\n` : `${block.slice(0, dataAt)}data: ${forwarded}\n\n`);
      }
      if (name !== null && framing.doneEvents.includes(name)) {
        sawDone = true;
        if (translation) translated(delivery.observers, translation.next(null), out);
      }
    }
    return undefined;
  };

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        pendingRead ??= reader.read() as Promise<ReadResult>;
        let result: ReadResult | 'heartbeat';
        try {
          result = await withHeartbeat(pendingRead, heartbeatMs);
        } catch {
          // The client left and its abort reached the upstream call first: an abort, not an upstream fault.
          if (ctx.clientSignal.aborted) {
            controller.close();
            return end('aborted', 499, 'client_closed_request');
          }
          controller.enqueue(
            errorEvent(
              new GatewayError(502, 'upstream_disconnected', 'The upstream provider closed the stream unexpectedly.'),
            ),
          );
          controller.close();
          return end('failed', 502, 'upstream_disconnected');
        }
        if (result === 'heartbeat') {
          if (performance.now() - lastDataAt > STREAM_IDLE_TIMEOUT_MS) {
            abortUpstream();
            controller.enqueue(
              errorEvent(new GatewayError(504, 'upstream_timeout', 'The upstream provider stopped sending data.')),
            );
            controller.close();
            return end('failed', 504, 'upstream_timeout');
          }
          controller.enqueue(HEARTBEAT);
          return;
        }
        pendingRead = undefined;
        if (result.done) {
          buffer += decoder.decode();
          const out: string[] = [];
          const error = drainEvents(out);
          if (out.length > 0) controller.enqueue(encoder.encode(out.join('')));
          if (!sawDone || error) {
            const failure =
              error ??
              new GatewayError(502, 'upstream_disconnected', 'The upstream provider closed the stream unexpectedly.');
            controller.enqueue(errorEvent(failure));
            controller.close();
            return end('failed', failure.status, failure.code);
          }
          controller.close();
          return end('completed', 200, null);
        }
        lastDataAt = performance.now();
        if (state && state.firstByteAt === null) state.firstByteAt = lastDataAt;
        buffer += decoder.decode(result.value, { stream: true });
        const out: string[] = [];
        const error = drainEvents(out);
        if (out.length > 0) controller.enqueue(encoder.encode(out.join('')));
        if (error) {
          abortUpstream();
          controller.enqueue(errorEvent(error));
          controller.close();
          return end('failed', error.status, error.code);
        }
        if (sawDone) {
          // The answer is complete at [DONE], so it ends here, in the same turn as its last bytes:
          // a client (the OpenAI SDK) stops reading at [DONE] and would otherwise seem to leave an
          // upstream that is slow to end its body, and Bun writes the last bytes and the end of the
          // response together (measured at 64 streams: 22.1-22.6% of the floor's throughput
          // before, 23.2-24.2% after). The rest is read so the upstream connection can be reused.
          controller.close();
          void drainRest(reader, abortUpstream);
          return end('completed', 200, null);
        }
        if (out.length > 0) return;
      }
    },
    cancel() {
      abortUpstream();
      reader.cancel().catch(() => {});
      if (!closed) end('aborted', 499, 'client_closed_request');
    },
  });
}

/** Reads what an upstream sends after [DONE], so its connection can be reused; one that never ends is cut. */
async function drainRest(reader: ReadableStreamDefaultReader<Uint8Array>, abortUpstream: () => void): Promise<void> {
  const cut = setTimeout(abortUpstream, UPSTREAM_END_AFTER_DONE_MS);
  try {
    while (!(await reader.read()).done);
  } catch {
    // The client has its whole answer; a failure after [DONE] changes nothing.
  } finally {
    clearTimeout(cut);
  }
}

/** Resolves with the read, or with 'heartbeat' after a silence; the timer never outlives the race. */
function withHeartbeat<T>(read: Promise<T>, heartbeatMs: number): Promise<T | 'heartbeat'> {
  let timer: Timer | undefined;
  const silence = new Promise<'heartbeat'>((resolve) => {
    timer = setTimeout(() => resolve('heartbeat'), heartbeatMs);
  });
  return Promise.race([read, silence]).finally(() => clearTimeout(timer));
}

function safeError(data: string): GatewayError | undefined {
  try {
    const payload = JSON.parse(data) as Record<string, unknown>;
    return embeddedUpstreamError(payload);
  } catch {
    return undefined;
  }
}
