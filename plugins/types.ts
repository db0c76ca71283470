import type { RequestContext } from './context.ts';
import type { Services } from './services.ts';

/**
 * The one plugin interface. A route lists plugins in order; the runner calls `admit` in that
 * order, then the single `handle` (the plugin that answers), and finally `settle` in reverse order
 * for every plugin whose `admit` completed, once the response body has ended, failed or been
 * abandoned by the client. That pairing is what guarantees every hold is posted or voided and every
 * concurrency slot released, whatever fails in between.
 */
export type Plugin<State = unknown> = {
  readonly name: string;
  /**
   * What `admit` returns is the plugin's own state for this request (a concurrency slot, a spare
   * hold in use), handed back to its `settle`: no per-request state hides in the plugin.
   */
  admit?(ctx: RequestContext): State | Promise<State>;
  handle?(ctx: RequestContext, delivery: Delivery): Promise<Response>;
  /** Sees the upstream answer as it passes: each SSE event of a stream, or a whole JSON body. `state` is admit's. */
  observe?(ctx: RequestContext, state: State | undefined): Observer | undefined;
  settle?(ctx: RequestContext, outcome: Outcome, state: State | undefined): void | Promise<void>;
};

export type Observer = {
  /** Returns the event data to forward (possibly rewritten), or null to drop the event. */
  event(data: string): string | null;
  json(body: Record<string, unknown>): void;
};

export type Finish = (outcome: Outcome) => void;

/**
 * Handed to the answering plugin: the observers of this request and its once-only end signal. A
 * handler that streams calls `claim()` and then `finish` itself when the body ends; for any other
 * handler the runner finishes the request as soon as `handle` returns.
 */
export type Delivery = { readonly observers: Observer[]; readonly finish: Finish; claim(): void };

export type OutcomeKind = 'completed' | 'aborted' | 'failed' | 'refused';
export type Outcome = { kind: OutcomeKind; status: number; errorCode: string | null; producedOutput: boolean };

/** A plugin module: a name, an options parser that explains what is wrong, and a factory. */
export type PluginDefinition<Options> = {
  readonly name: string;
  parseOptions(raw: Record<string, unknown>): Options;
  create(options: Options, services: Services): Plugin;
};
