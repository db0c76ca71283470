import type { ModelPrice } from '../core/cost.ts';
import type { ChannelTarget } from './channel-models.ts';

/**
 * The order in which a request tries its channels: higher priority first; among channels of one
 * priority, a weighted random order, so traffic splits by weight and a failed channel's share
 * moves to the others.
 */

/** `targets` come highest priority first (the channel list is kept in that order). */
export function attemptOrder(targets: readonly ChannelTarget[], random: () => number = Math.random): ChannelTarget[] {
  if (targets.length <= 1) return [...targets];
  const ordered: ChannelTarget[] = [];
  let start = 0;
  while (start < targets.length) {
    const priority = targets[start]?.channel.priority;
    let end = start;
    while (end < targets.length && targets[end]?.channel.priority === priority) end++;
    ordered.push(...weightedShuffle(targets.slice(start, end), random));
    start = end;
  }
  return ordered;
}

/** Draws without replacement, each remaining target with a chance proportional to its weight. */
function weightedShuffle(group: ChannelTarget[], random: () => number): ChannelTarget[] {
  if (group.length === 1) return group;
  const left = [...group];
  const out: ChannelTarget[] = [];
  while (left.length > 0) {
    const total = left.reduce((sum, target) => sum + target.channel.weight, 0);
    let pick = random() * total;
    let index = 0;
    while (index < left.length - 1 && pick >= (left[index]?.channel.weight ?? 0)) {
      pick -= left[index]?.channel.weight ?? 0;
      index++;
    }
    out.push(...left.splice(index, 1));
  }
  return out;
}

/** Whether a price is within a hold's price, component by component: a charge at it then stays within the hold. */
export function withinPrice(price: ModelPrice, ceiling: ModelPrice): boolean {
  return (
    price.promptNanosPerMtok <= ceiling.promptNanosPerMtok &&
    price.completionNanosPerMtok <= ceiling.completionNanosPerMtok &&
    price.requestNanos <= ceiling.requestNanos &&
    price.imageNanos <= ceiling.imageNanos
  );
}
