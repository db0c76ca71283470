import type { ProtocolName } from '../core/billed-request.ts';
import { messages, messagesCountTokens } from './messages/index.ts';
import { chat, completions, embeddings } from './openai/index.ts';
import type { Protocol } from './protocol.ts';
import { responses } from './responses/index.ts';

/**
 * What a route may name as its protocol (gateway/routes.ts `protocol`): a wire protocol, or a
 * variant of one for a route with another body (Messages' count_tokens has no max_tokens).
 */
export type RouteProtocol = ProtocolName | 'messages_count_tokens';

/**
 * Every protocol a route may name, by name. A new protocol is a module implementing
 * protocols/protocol.ts and one line here.
 */
const PROTOCOLS: Partial<Record<RouteProtocol, Protocol>> = {
  chat,
  completions,
  embeddings,
  messages,
  messages_count_tokens: messagesCountTokens,
  responses,
};

export const ROUTE_PROTOCOLS = Object.keys(PROTOCOLS) as RouteProtocol[];

/** Per protocol: itself and every protocol it has a translator for, the channel protocols that may serve it. */
const SERVED_BY = new Map(
  Object.values(PROTOCOLS).map((p) => [p.name, [p.name, ...(Object.keys(p.translators) as ProtocolName[])]]),
);

/** The channel protocols that may serve a route of this protocol: natively, or through one of its translators. */
export function servedBy(protocol: Protocol): readonly ProtocolName[] {
  return SERVED_BY.get(protocol.name) ?? [protocol.name];
}

export function isRouteProtocol(name: unknown): name is RouteProtocol {
  return typeof name === 'string' && Object.hasOwn(PROTOCOLS, name);
}

/** The protocol of a route that names one (the route table is checked at start, so it exists). */
export function protocolOf(name: RouteProtocol): Protocol {
  const protocol = PROTOCOLS[name];
  if (!protocol) throw new Error(`no protocol ${name}`);
  return protocol;
}
