import { Repeater } from 'graphql-yoga';
import { findAccountUsage, type UsageRecord } from '../db/queries/usage.ts';
import type { WalletBalance } from '../db/queries/transfers.ts';
import { accountBalance, BalanceRef } from './account.ts';
import { builder } from './builder.ts';
import { accountOnly, type GraphqlContext } from './context.ts';
import type { AccountActivity } from './live-events.ts';
import { UsageRecordRef } from './usage.ts';

/**
 * Live updates over Server-Sent Events (graphql-yoga answers `Accept: text/event-stream`): the
 * viewer's balance and usage as requests settle. Events only say "this account changed"; the
 * value sent is always read fresh from the database, so a dropped or merged event loses nothing.
 * scope-auth guards only `resolve`, so each `subscribe` checks the viewer itself (accountOnly).
 */

/**
 * Sends `first()` at once, then `load(event)` for each event until the client goes away. Stopping
 * also ends the source iterator, so no listener outlives its subscription.
 */
function liveStream<T>(
  source: AsyncIterable<AccountActivity>,
  first: () => Promise<T | undefined>,
  load: (event: AccountActivity) => Promise<T | undefined>,
): Repeater<T> {
  return new Repeater<T>(async (push, stop) => {
    const iterator = source[Symbol.asyncIterator]();
    const stopped = stop.then(() => ({ done: true as const, value: undefined }));
    stop.then(() => iterator.return?.());
    const initial = await first();
    if (initial !== undefined) await push(initial);
    for (;;) {
      const next = await Promise.race([iterator.next(), stopped]);
      if (next.done) break;
      const value = await load(next.value);
      if (value !== undefined) await push(value);
    }
    stop();
  });
}

builder.subscriptionField('balanceUpdated', (t) =>
  t.field({
    type: BalanceRef,
    description: "The signed-in account's balance: sent at once, then whenever a request settles or credit changes.",
    subscribe: (_root, _args, rawCtx: GraphqlContext) => {
      const ctx = accountOnly(rawCtx);
      const load = () => accountBalance(ctx, ctx.viewer.account);
      return liveStream<WalletBalance>(ctx.events.subscribe(ctx.viewer.account.id), load, load);
    },
    resolve: (balance: WalletBalance) => balance,
  }),
);

builder.subscriptionField('usageRecorded', (t) =>
  t.field({
    type: UsageRecordRef,
    description: 'Each request of the signed-in account as soon as it is settled.',
    subscribe: (_root, _args, rawCtx: GraphqlContext) => {
      const ctx = accountOnly(rawCtx);
      return liveStream<UsageRecord>(
        ctx.events.subscribe(ctx.viewer.account.id),
        async () => undefined,
        async (event) =>
          event.requestId ? await findAccountUsage(ctx.sql, ctx.viewer.account.id, event.requestId) : undefined,
      );
    },
    resolve: (record: UsageRecord) => record,
  }),
);
