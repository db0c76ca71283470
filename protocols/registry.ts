import type { ProtocolName } from '../core/billed-request.ts';
import { messages } from './messages/index.ts';
import { chat, completions, embeddings } from './openai/index.ts';
import type { Protocol } from './protocol.ts';
import { responses } from './responses/index.ts';

/**
 * Every protocol a route may name (gateway/routes.ts `protocol`), by name. A new protocol is a
 * module implementing protocols/protocol.ts and one line here.
 */
const PROTOCOLS: Partial<Record<ProtocolName, Protocol>> = { chat, completions, embeddings, messages, responses };

export const ROUTE_PROTOCOLS = Object.keys(PROTOCOLS) as ProtocolName[];

/** Per protocol: itself and every protocol it has a translator for, the channel protocols that may serve it. */
const SERVED_BY = new Map(
  Object.values(PROTOCOLS).map((p) => [p.name, [p.name, ...(Object.keys(p.translators) as ProtocolName[])]]),
);

/** The channel protocols that may serve a route of this protocol: natively, or through one of its translators. */
export function servedBy(protocol: Protocol): readonly ProtocolName[] {
  return SERVED_BY.get(protocol.name) ?? [protocol.name];
}

export function isRouteProtocol(name: unknown): name is ProtocolName {
  return typeof name === 'string' && Object.hasOwn(PROTOCOLS, name);
}

/** The protocol of a route that names one (the route table is checked at start, so it exists). */
export function protocolOf(name: ProtocolName): Protocol {
  const protocol = PROTOCOLS[name];
  if (!protocol) throw new Error(`no protocol ${name}`);
  return protocol;
}
