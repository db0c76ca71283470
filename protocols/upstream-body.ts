import type { BilledRequest } from '../core/billed-request.ts';
import type { ChannelTarget } from '../upstream/channel-models.ts';

/**
 * The model ids the channel knows, written into a copy of the client's body: the channel's own id
 * for the model, and for OpenRouter's fallback `models`. Every protocol's native body starts here.
 */
export function bodyForChannel(billed: BilledRequest, target: ChannelTarget): Record<string, unknown> {
  const body: Record<string, unknown> = { ...billed.body };
  if (target.upstreamModel !== billed.model) body.model = target.upstreamModel;
  const map = target.channel.modelMap;
  if (Array.isArray(body.models) && Object.keys(map).length > 0)
    body.models = body.models.map((id: unknown) => (typeof id === 'string' ? (map[id] ?? id) : id));
  return body;
}
