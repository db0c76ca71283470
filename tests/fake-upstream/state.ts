import type { Behaviour } from './behaviour.ts';
import { costUsd, type Bill } from './billing.ts';
import type { PricedModel } from './models.ts';

/** What the fake saw: one entry per request, in arrival order. */
export type RecordedRequest = {
  method: string;
  /** Path and query as received, e.g. `/api/v1/generation?id=gen-…`. */
  path: string;
  /** Header names are lowercase. */
  headers: Record<string, string>;
  /** The parsed JSON body; null for a GET or a body that is not JSON. */
  body: unknown;
  /** Arrival time, milliseconds since the epoch. */
  time: number;
};

/** What the fake served: one entry per generation, kept current while a stream is running. */
export type GenerationRecord = {
  id: string;
  model: string;
  streamed: boolean;
  promptTokens: number;
  /** Tokens produced so far; for an aborted or cut stream, those produced before it ended. */
  completionTokens: number;
  /** Exact decimal USD for the tokens above, as `/generation` reports it. */
  totalCostUsd: string;
  /** "stop", "length", "tool_calls", "error", or null while running or after a cut. */
  finishReason: string | null;
  /** True when the client went away before the end. */
  cancelled: boolean;
  createdAt: string;
};

/** Records are capped so a long benchmark cannot grow them without bound; the oldest half goes first. */
const RECORD_LIMIT = 20_000;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export class FakeState {
  readonly requests: RecordedRequest[] = [];
  readonly generations = new Map<string, GenerationRecord>();
  active = 0;
  aborted = 0;
  defaults: Behaviour;
  private counter = 0;
  // Ids stay unique across fake servers in one test process, as a gateway may cache by id.
  private readonly tag = crypto.randomUUID().slice(0, 8);

  constructor(readonly initialDefaults: Behaviour) {
    this.defaults = initialDefaults;
  }

  nextId(prefix: string): string {
    this.counter += 1;
    return `${prefix}${this.tag}${this.counter.toString(36)}`;
  }

  remember(request: RecordedRequest): void {
    if (this.requests.length >= RECORD_LIMIT) this.requests.splice(0, RECORD_LIMIT / 2);
    this.requests.push(request);
  }

  openGeneration(
    id: string,
    model: PricedModel,
    bill: Bill,
    promptTokens: number,
    streamed: boolean,
  ): GenerationRecord {
    if (this.generations.size >= RECORD_LIMIT) {
      let drop = RECORD_LIMIT / 2;
      for (const key of this.generations.keys()) {
        if (drop-- === 0) break;
        this.generations.delete(key);
      }
    }
    const generation: GenerationRecord = {
      id,
      model: model.id,
      streamed,
      promptTokens,
      completionTokens: 0,
      totalCostUsd: costUsd(bill, promptTokens, 0),
      finishReason: null,
      cancelled: false,
      createdAt: new Date().toISOString(),
    };
    this.generations.set(id, generation);
    return generation;
  }

  reset(): void {
    this.requests.length = 0;
    this.generations.clear();
    this.aborted = 0;
    this.defaults = this.initialDefaults;
  }
}

export function setProduced(generation: GenerationRecord, bill: Bill, completionTokens: number): void {
  generation.completionTokens = completionTokens;
  generation.totalCostUsd = costUsd(bill, generation.promptTokens, completionTokens);
}

/**
 * One request in progress, counted in `active` until it ends exactly once: delivered, cut by the
 * fake, or abandoned by its client (also counted in `aborted`).
 */
export class Flight {
  open = true;
  /** Set when a stream outlives the handler and ends the flight itself. */
  held = false;

  constructor(
    private readonly state: FakeState,
    private readonly signal: AbortSignal,
  ) {
    state.active += 1;
  }

  end(): void {
    if (!this.open) return;
    this.open = false;
    this.state.active -= 1;
  }

  /** Ends the flight as abandoned the moment the client disconnects, not when the next timer fires. */
  watch(onAbandon: () => void): void {
    this.signal.addEventListener('abort', () => {
      if (!this.open) return;
      this.end();
      this.state.aborted += 1;
      onAbandon();
    });
  }
}

const JSON_HEADERS = { 'content-type': 'application/json' };

export function jsonResponse(body: string, status = 200): Response {
  return new Response(body, { status, headers: JSON_HEADERS });
}

/** OpenRouter's error shape: `{"error":{"message","code"}}` with the HTTP status as the code. */
export function errorResponse(status: number, message: string): Response {
  return jsonResponse(JSON.stringify({ error: { message, code: status } }), status);
}
