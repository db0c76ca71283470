/**
 * Group commit. Items that arrive while earlier batches are in flight are collected and sent
 * together, so under load one statement serves many requests, and at low load an item goes out
 * at once (no timer, no added latency). Each caller still gets its own result or error.
 */

export type BatchRunner<Item, Result> = (items: Item[]) => Promise<Result[]>;
export type BatcherOptions = { maxBatchSize: number; maxInFlight: number };

type Pending<Item, Result> = { item: Item; resolve: (result: Result) => void; reject: (error: unknown) => void };

export type Batcher<Item, Result> = {
  submit(item: Item): Promise<Result>;
  /** Items queued or in flight: what a graceful shutdown waits for. */
  readonly pending: number;
};

export function createBatcher<Item, Result>(run: BatchRunner<Item, Result>, options: BatcherOptions): Batcher<Item, Result> {
  const queue: Pending<Item, Result>[] = [];
  let inFlight = 0;
  let inFlightItems = 0;

  async function flush(batch: Pending<Item, Result>[]): Promise<void> {
    inFlight += 1;
    inFlightItems += batch.length;
    try {
      const results = await run(batch.map((p) => p.item));
      batch.forEach((p, i) => p.resolve(results[i] as Result));
    } catch (error) {
      for (const p of batch) p.reject(error);
    } finally {
      inFlight -= 1;
      inFlightItems -= batch.length;
      drain();
    }
  }

  function drain(): void {
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
    get pending() {
      return queue.length + inFlightItems;
    },
  };
}
