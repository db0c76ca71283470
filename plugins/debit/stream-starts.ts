import { insertStreamStarts, type StreamStart } from '../../db/queries/stream-starts.ts';
import type { Sql } from '../../db/sql.ts';
import { createBatcher } from '../../core/batcher.ts';
import { estimateUsage } from '../../ledger/charge.ts';
import type { RequestContext } from '../context.ts';
import { type Logger, reasonOf } from '../../app/log.ts';
import type { Observer } from '../types.ts';

/**
 * Notes a stream's generation id in the database as soon as its first chunk has passed, so that a
 * replica killed mid-stream leaves enough behind for another replica's sweeper to settle the hold
 * from the upstream's generation record. The write is group-committed and never awaited by the
 * response: a stream pays one queue push, not a database round trip.
 */

const STREAM_START_BATCH_SIZE = 256;
const STREAM_STARTS_IN_FLIGHT = 1;
/**
 * Nobody waits on a note, so a batch that is not full waits this long for company, and a stream
 * that ends within it needs no note at all (`forget`). A replica lost within this time of a
 * stream's first chunk leaves that hold to expire.
 */
const STREAM_START_LINGER_MS = 50;

type Note = Omit<StreamStart, 'startedAt'>;

function noteOf(ctx: RequestContext, generationId: string): Note | undefined {
  const { principal, pricing, model, hold } = ctx;
  if (!principal || !pricing || !model || !hold) return undefined;
  // The serving channel's price: a sweeper settling this stream charges what that channel costs.
  const served = ctx.upstream?.served;
  const price = served?.price ?? pricing.shape.price;
  return {
    requestId: ctx.id,
    generationId,
    tenantId: principal.tenantId,
    accountId: principal.key.accountId,
    apiKeyId: principal.key.id,
    walletId: principal.walletId,
    route: ctx.route.path,
    protocol: ctx.route.protocol ?? null,
    model: model.id,
    markupsBps: pricing.markupsBps,
    priceNanos: [price.promptNanosPerMtok, price.completionNanosPerMtok, price.requestNanos, price.imageNanos],
    promptTokensEstimate: estimateUsage(pricing.bound, 0).promptTokens,
    promptTokensBound: pricing.bound.tokens,
    mediaItems: pricing.bound.mediaItems,
    holdNanos: hold.grantedNanos.at(-1) ?? 0n,
    channelId: served?.channel.id ?? null,
  };
}

/** A request's note, once its first chunk has been noted: debit's per-request state, from admit to settle. */
export type NotedStream = { note: Note | null };

export type StreamStartRecorder = {
  observer(ctx: RequestContext, noted: NotedStream): Observer;
  /**
   * The request's settlement is queued: a note not yet written is no longer needed and is not
   * written at all. Most streams are short, so most notes never reach the database (at 64 streamed
   * connections the notes were about a quarter of PostgreSQL's work per request). A replica lost
   * before that settlement is written leaves the hold to expire, as for a request that is not
   * streamed.
   */
  forget(noted: NotedStream): void;
};

export function createStreamStartRecorder(sql: Sql, log: Logger): StreamStartRecorder {
  const notes = createBatcher<Note, void>(
    async (batch) => {
      // A note guards against a lost replica, not a lost database, so it does not wait for the WAL
      // flush: otherwise every stream adds a disk sync that the next request's hold queues behind.
      // A database crash can lose the last moment of notes; their holds are then settled like
      // those of a request that died before its first chunk.
      await sql.begin(async (tx) => {
        await tx`set local synchronous_commit = off`;
        await insertStreamStarts(tx, batch);
      });
      return batch.map(() => undefined);
    },
    { maxBatchSize: STREAM_START_BATCH_SIZE, maxInFlight: STREAM_STARTS_IN_FLIGHT, lingerMs: STREAM_START_LINGER_MS },
  );
  return {
    observer(ctx, noted) {
      let seen = false;
      return {
        event(data) {
          // `meter` runs first and reads the generation id from the first chunk.
          const generationId = ctx.upstream?.generationId;
          if (seen || !generationId) return data;
          seen = true;
          const note = noteOf(ctx, generationId);
          if (note) {
            noted.note = note;
            notes.submit(note).catch((error: unknown) =>
              log.warn('stream start not recorded; a crash now would leave the hold to expire', {
                requestId: ctx.id,
                reason: reasonOf(error),
              }),
            );
          }
          return data;
        },
        json() {},
      };
    },
    forget(noted) {
      if (noted.note) notes.withdraw(noted.note, undefined);
    },
  };
}
