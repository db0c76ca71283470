/**
 * Group commit. Items that arrive while earlier batches are in flight are collected and sent
 * together, so under load one statement serves many requests. Without a linger an item goes out
 * at once (no timer, no added latency); with one, a batch that is not full waits that long for
 * company, for work nobody waits on. Each caller still gets its own result or error.
 */

export type BatchRunner<Item, Result> = (items: Item[]) => Promise<Result[]>;
export type BatcherOptions = { maxBatchSize: number; maxInFlight: number; lingerMs?: number };

type Pending<Item, Result> = { item: Item; resolve: (result: Result) => void; reject: (error: unknown) => void };

export type Batcher<Item, Result> = {
  submit(item: Item): Promise<Result>;
  /**
   * Takes back an item that is still queued (not yet sent), answering its caller with `result`.
   * False when it is already in flight or done.
   */
  withdraw(item: Item, result: Result): boolean;
  /** Items queued or in flight: what a graceful shutdown waits for. */
  readonly pending: number;
};

export function createBatcher<Item, Result>(
  run: BatchRunner<Item, Result>,
  options: BatcherOptions,
): Batcher<Item, Result> {
  const queue: Pending<Item, Result>[] = [];
  let inFlight = 0;
  let inFlightItems = 0;
  let lingering: ReturnType<typeof setTimeout> | undefined;

  async function flush(batch: Pending<Item, Result>[]): Promise<void> {
    inFlight += 1;
    inFlightItems += batch.length;
    try {
      const results = await run(batch.map((p) => p.item));
      for (const [i, p] of batch.entries()) p.resolve(results[i] as Result);
    } catch (error) {
      for (const p of batch) p.reject(error);
    } finally {
      inFlight -= 1;
      inFlightItems -= batch.length;
      drain();
    }
  }

  function drain(): void {
    if (lingering && queue.length >= options.maxBatchSize) {
      clearTimeout(lingering);
      lingering = undefined;
    }
    if (lingering) return;
    if (options.lingerMs && queue.length > 0 && queue.length < options.maxBatchSize) {
      lingering = setTimeout(() => {
        lingering = undefined;
        sendReady();
      }, options.lingerMs);
      return;
    }
    sendReady();
  }

  function sendReady(): void {
    while (queue.length > 0 && inFlight < options.maxInFlight) {
      void flush(queue.splice(0, options.maxBatchSize));
    }
  }

  return {
    submit(item) {
      return new Promise<Result>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        drain();
      });
    },
    withdraw(item, result) {
      const index = queue.findIndex((p) => p.item === item);
      if (index === -1) return false;
      queue.splice(index, 1)[0]?.resolve(result);
      if (queue.length === 0 && lingering) {
        clearTimeout(lingering);
        lingering = undefined;
      }
      return true;
    },
    get pending() {
      return queue.length + inFlightItems;
    },
  };
}
