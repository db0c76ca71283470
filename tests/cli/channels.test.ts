import { beforeAll, describe, expect, test } from 'bun:test';
import { recordBreakerStates } from '../../db/queries/channels.ts';
import { testDatabase } from '../helpers.ts';
import { expectOneLineFailure, runCli, runCliJson } from './run-cli.ts';

/** `tollgate channels …` end to end: the rows it writes are the channels the gateway routes by. */

type ChannelJson = {
  id: string;
  name: string;
  state: string;
  baseUrl: string | null;
  keyVariable: string | null;
  priority: number;
  weight: number;
  modelMap: Record<string, string>;
  maxConcurrency: number | null;
  prices: { model: string; promptUsdPerMtok: string; completionUsdPerMtok: string }[];
};
type ListJson = { channels: ChannelJson[]; breakers: { channel: string | null; model: string; state: string }[] };

const PASTED_KEY = 'sk-or-v1-0123456789abcdef0123456789abcdef';
let db: Awaited<ReturnType<typeof testDatabase>>;
let env: Record<string, string>;

beforeAll(async () => {
  db = await testDatabase();
  env = { DATABASE_URL: db.url };
});

describe('tollgate channels', () => {
  test('add stores a channel by its key variable name, with its mapping, priority and caps', async () => {
    const added = await runCliJson<ChannelJson>(
      [
        'channels',
        'add',
        'backup',
        '--base-url',
        'https://backup.example.com/v1',
        '--key-variable',
        'BACKUP_UPSTREAM_KEY',
        '--map',
        'gpt-4o=openai/gpt-4o',
        '--priority=-5',
        '--max-concurrency',
        '8',
      ],
      env,
    );
    expect(added).toMatchObject({
      name: 'backup',
      state: 'active',
      baseUrl: 'https://backup.example.com/v1',
      keyVariable: 'BACKUP_UPSTREAM_KEY',
      priority: -5,
      modelMap: { 'gpt-4o': 'openai/gpt-4o' },
      maxConcurrency: 8,
    });
    const [row] = await db.sql<{ key_variable: string }[]>`select key_variable from channels where name = 'backup'`;
    expect(row?.key_variable).toBe('BACKUP_UPSTREAM_KEY');
  });

  test('a key pasted where its variable name belongs is refused in one line, without echoing it', async () => {
    const result = await runCli(
      ['channels', 'add', 'leaky', '--base-url', 'https://x.example.com/v1', '--key-variable', PASTED_KEY],
      env,
    );
    expectOneLineFailure(result, 2, /NAME of an environment variable/);
    expect(result.stderr + result.stdout).not.toContain(PASTED_KEY);
    expect(await db.sql`select 1 from channels where name = 'leaky'`).toHaveLength(0);
  });

  test('set changes only what it is given; none clears a cap; an unknown channel is a usage error', async () => {
    const changed = await runCliJson<ChannelJson>(
      ['channels', 'set', 'backup', '--weight', '3', '--max-concurrency', 'none'],
      env,
    );
    expect(changed).toMatchObject({ weight: 3, maxConcurrency: null, priority: -5 });
    expectOneLineFailure(await runCli(['channels', 'set', 'nosuch', '--weight', '2'], env), 2, /no channel named/);
    expectOneLineFailure(await runCli(['channels', 'set', 'backup', '--weight', '0'], env), 2, /weight/);
  });

  test('price sets an entry of the price table in USD per million tokens; --remove takes it out', async () => {
    const priced = await runCliJson<ChannelJson>(
      ['channels', 'price', 'backup', '--model', 'gpt-4o', '--prompt', '2.5', '--completion', '10'],
      env,
    );
    expect(priced.prices).toEqual([
      expect.objectContaining({ model: 'gpt-4o', promptUsdPerMtok: '2.50', completionUsdPerMtok: '10.00' }),
    ]);
    const [row] = await db.sql<{ p: string }[]>`
      select prompt_nanos_per_mtok::text as p from channel_prices where model = 'gpt-4o'`;
    expect(row?.p).toBe('2500000000');
    const removed = await runCliJson<ChannelJson>(
      ['channels', 'price', 'backup', '--model', 'gpt-4o', '--remove'],
      env,
    );
    expect(removed.prices).toEqual([]);
  });

  test('drain, disable and enable set the state; list shows channels in order and open breakers', async () => {
    expect((await runCliJson<ChannelJson>(['channels', 'drain', 'backup'], env)).state).toBe('draining');
    expect((await runCliJson<ChannelJson>(['channels', 'disable', 'backup'], env)).state).toBe('disabled');
    const backup = await runCliJson<ChannelJson>(['channels', 'enable', 'backup'], env);
    expect(backup.state).toBe('active');
    await recordBreakerStates(db.sql, [
      { channelId: backup.id, model: 'gpt-4o', state: 'open', retryAt: new Date(Date.now() + 30_000) },
    ]);
    const list = await runCliJson<ListJson>(['channels', 'list'], env);
    expect(list.channels.map((c) => c.name)).toEqual(['default', 'backup']);
    expect(list.breakers).toEqual([expect.objectContaining({ channel: 'backup', model: 'gpt-4o', state: 'open' })]);
    const text = await runCli(['channels', 'list'], env);
    expect(text.stdout).toContain('(UPSTREAM_BASE_URL)');
    expect(text.stdout).toMatch(/backup\s+gpt-4o\s+open/);
  });
});
