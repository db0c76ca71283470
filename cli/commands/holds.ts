import { createLogger } from '../../app/log.ts';
import { standaloneSweepServices, sweepOverdueHolds } from '../../ledger/sweeper.ts';
import type { Command } from '../command.ts';
import { money } from '../format.ts';

/** A bound on the loop (of batches of 500 requests) so a sweep always ends. */
const MAX_SWEEP_BATCHES = 1_000;

export const holdsSweepCommand: Command = {
  name: 'holds sweep',
  summary: 'resolve every hold past its expiry now, as the gateway does periodically',
  options: {},
  prepare: () => async (session) => {
    const { sql } = session.db;
    const log = createLogger('error', session.note);
    // The gateway's own sweep: a stream a dead replica left is settled from the upstream's
    // generation record (or the documented estimate) rather than expired for free.
    const services = await standaloneSweepServices(sql, session.config, log);
    const expiredRequests = new Set<string>();
    let settled = 0;
    let holds = 0;
    let releasedNanos = 0n;
    for (let batch = 0; batch < MAX_SWEEP_BATCHES; batch++) {
      const result = await sweepOverdueHolds(services);
      if (result.settled === 0 && result.expired.length === 0) break;
      settled += result.settled;
      holds += result.expired.length;
      for (const hold of result.expired) expiredRequests.add(hold.requestId);
      releasedNanos = result.expired.reduce((sum, hold) => sum + hold.amountNanos, releasedNanos);
    }
    const requests = expiredRequests.size;
    const text = `holds sweep: expired ${holds} hold(s) of ${requests} request(s), releasing $${money(releasedNanos).usd}; settled ${settled} stream(s) left by a lost replica`;
    return { json: { requests, holds, released: money(releasedNanos), settled }, text };
  },
};
