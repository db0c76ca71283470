import { describe, expect, test } from 'bun:test';
import { createBatcher } from '../../core/batcher.ts';

/** A runner that records the batches it was given and answers each item with its double. */
function recordingRunner() {
  const batches: number[][] = [];
  const run = async (items: number[]) => {
    batches.push(items);
    await Bun.sleep(1);
    return items.map((item) => item * 2);
  };
  return { batches, run };
}

describe('group commit', () => {
  test('without a linger the first item goes out at once and later arrivals share the next batch', async () => {
    const { batches, run } = recordingRunner();
    const batcher = createBatcher(run, { maxBatchSize: 10, maxInFlight: 1 });
    const results = await Promise.all([1, 2, 3, 4].map((item) => batcher.submit(item)));
    expect(results).toEqual([2, 4, 6, 8]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  test('with a linger, items that arrive within it share one batch', async () => {
    const { batches, run } = recordingRunner();
    const batcher = createBatcher(run, { maxBatchSize: 10, maxInFlight: 1, lingerMs: 20 });
    const first = batcher.submit(1);
    await Bun.sleep(5);
    const second = batcher.submit(2);
    expect(await Promise.all([first, second])).toEqual([2, 4]);
    expect(batches).toEqual([[1, 2]]);
  });

  test('an item withdrawn while queued is never sent and its caller gets the answer given; one in flight cannot be', async () => {
    const { batches, run } = recordingRunner();
    const batcher = createBatcher(run, { maxBatchSize: 10, maxInFlight: 1, lingerMs: 20 });
    const kept = batcher.submit(1);
    const dropped = batcher.submit(2);
    expect(batcher.withdraw(2, -1)).toBe(true);
    expect(batcher.withdraw(2, -1)).toBe(false);
    expect(await Promise.all([kept, dropped])).toEqual([2, -1]);
    expect(batches).toEqual([[1]]);
    const alone = batcher.submit(3);
    expect(batcher.withdraw(3, -1)).toBe(true);
    expect(await alone).toBe(-1);
    await Bun.sleep(40);
    expect(batches).toEqual([[1]]);
    const sent = createBatcher(run, { maxBatchSize: 10, maxInFlight: 1 });
    const inFlight = sent.submit(4);
    expect(sent.withdraw(4, -1)).toBe(false);
    expect(await inFlight).toBe(8);
  });

  test('a full batch does not wait for the linger', async () => {
    const { batches, run } = recordingRunner();
    const batcher = createBatcher(run, { maxBatchSize: 3, maxInFlight: 1, lingerMs: 10_000 });
    const started = performance.now();
    expect(await Promise.all([1, 2, 3].map((item) => batcher.submit(item)))).toEqual([2, 4, 6]);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  test('a failed batch rejects each of its callers and the batcher keeps working', async () => {
    let calls = 0;
    const batcher = createBatcher(
      async (items: number[]) => {
        calls += 1;
        if (calls === 1) throw new Error('database unreachable');
        return items;
      },
      { maxBatchSize: 10, maxInFlight: 1, lingerMs: 5 },
    );
    const failed = await Promise.allSettled([batcher.submit(1), batcher.submit(2)]);
    expect(failed.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
    expect(await batcher.submit(3)).toBe(3);
    expect(batcher.pending).toBe(0);
  });
});
