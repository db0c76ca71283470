import { Repeater, SlidingBuffer } from 'graphql-yoga';

/**
 * In-process events behind the API's live subscriptions. This is replica-local: a subscriber only
 * hears what its own replica published. With several gateway replicas the fan-out goes through
 * Redis pub/sub behind this same interface.
 */

/** Something changed an account's balance; requestId names the request when a settlement did it. */
export type AccountActivity = { accountId: string; requestId: string | null };

export type LiveEvents = {
  /** A request of the account was settled: its balance and its usage log changed. Called by `debit`. */
  publishSettlement(accountId: string, requestId: string): void;
  /** Credit changed without a request: a purchase, refund or admin adjustment. */
  publishBalanceChange(accountId: string): void;
  /** Every activity of one account from now on; ends when the consumer stops iterating. */
  subscribe(accountId: string): AsyncIterable<AccountActivity>;
};

/**
 * A slow subscriber keeps only its newest events: each one only says "look again", so dropping old
 * ones loses nothing. Every subscriber gets its own buffer (graphql-yoga's createPubSub shares one
 * buffer between all subscribers, which would mix their events).
 */
const SUBSCRIBER_BUFFER_EVENTS = 32;

export function createLiveEvents(): LiveEvents {
  const listeners = new Map<string, Set<(activity: AccountActivity) => void>>();
  const publish = (activity: AccountActivity) => {
    for (const listener of listeners.get(activity.accountId) ?? []) listener(activity);
  };
  return {
    publishSettlement: (accountId, requestId) => publish({ accountId, requestId }),
    publishBalanceChange: (accountId) => publish({ accountId, requestId: null }),
    subscribe: (accountId) =>
      new Repeater<AccountActivity>(async (push, stop) => {
        const listener = (activity: AccountActivity) => void push(activity);
        const set = listeners.get(accountId) ?? new Set();
        set.add(listener);
        listeners.set(accountId, set);
        await stop;
        set.delete(listener);
        if (set.size === 0) listeners.delete(accountId);
      }, new SlidingBuffer(SUBSCRIBER_BUFFER_EVENTS)),
  };
}
