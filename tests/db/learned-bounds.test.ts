import { beforeAll, describe, expect, test } from 'bun:test';
import { createLogger } from '../../app/log.ts';
import type { Sql } from '../../db/sql.ts';
import { createLearnedBounds, DECAY_REPORTS, MAX_LEARNED_FACTOR_BPS } from '../../upstream/learned-bounds.ts';
import { testDatabase } from '../helpers.ts';

/** Learned bounds (upstream/learned-bounds.ts), shared by replicas through PostgreSQL. */

let sql: Sql;
const lines: string[] = [];
const log = createLogger('info', (line) => lines.push(line));

beforeAll(async () => {
  ({ sql } = await testDatabase());
});

const replica = () => createLearnedBounds({ sql, upstream: 'https://up.example/api/v1', log, background: false });

describe('a learned bound', () => {
  test('is raised at once by an overshoot, to its ratio plus a margin, and reaches another replica after a flush', async () => {
    const a = await replica();
    const b = await replica();
    expect(a.factorBps('m/one')).toBe(10_000);
    a.observe('m/one', 600n, 100n);
    expect(a.factorBps('m/one')).toBe(75_000);
    expect(b.factorBps('m/one')).toBe(10_000);
    await a.flush();
    await b.flush();
    expect(b.factorBps('m/one')).toBe(75_000);
    expect(lines.some((line) => line.includes('learned hold bound raised') && line.includes('m/one'))).toBe(true);
  });

  test('never goes above its maximum, and a smaller overshoot elsewhere does not lower it', async () => {
    const a = await replica();
    const b = await replica();
    a.observe('m/two', 1_000_000n, 1n);
    b.observe('m/two', 300n, 100n);
    await a.flush();
    await b.flush();
    await a.flush();
    expect(a.factorBps('m/two')).toBe(MAX_LEARNED_FACTOR_BPS);
    expect(b.factorBps('m/two')).toBe(MAX_LEARNED_FACTOR_BPS);
  });

  test('decays slowly while reports come back inside the catalog bound', async () => {
    const a = await replica();
    a.observe('m/three', 200n, 100n);
    await a.flush();
    expect(a.factorBps('m/three')).toBe(25_000);
    for (let i = 0; i < DECAY_REPORTS / 10; i++) a.observe('m/three', 90n, 100n);
    await a.flush();
    // A tenth of DECAY_REPORTS sheds about 9.5% of the excess over 1x: slowly, but it moves.
    const decayed = a.factorBps('m/three');
    expect(decayed).toBeLessThan(25_000);
    expect(decayed).toBeGreaterThan(23_000);
  });
});
