import { overdueHoldRequests, releaseHolds } from '../../db/queries/holds.ts';
import type { Command } from '../command.ts';
import { money } from '../format.ts';

/** Requests per statement, and a bound on the loop so a sweep always ends. */
const SWEEP_BATCH_SIZE = 500;
const MAX_SWEEP_BATCHES = 1_000;

export const holdsSweepCommand: Command = {
  name: 'holds sweep',
  summary: 'release every hold past its expiry now (the gateway also does this periodically)',
  options: {},
  prepare: () => async (session) => {
    let requests = 0;
    let holds = 0;
    let releasedNanos = 0n;
    for (let batch = 0; batch < MAX_SWEEP_BATCHES; batch++) {
      const overdue = await overdueHoldRequests(session.db.sql, SWEEP_BATCH_SIZE);
      if (overdue.length === 0) break;
      const released = await releaseHolds(session.db.sql, overdue, 'expired');
      requests += overdue.length;
      holds += released.length;
      releasedNanos = released.reduce((sum, hold) => sum + hold.amountNanos, releasedNanos);
    }
    const text = `holds sweep: expired ${holds} hold(s) of ${requests} request(s), releasing $${money(releasedNanos).usd}`;
    return { json: { requests, holds, released: money(releasedNanos) }, text };
  },
};
