import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, OpenAIResponsesModel, run, setTracingDisabled, tool } from '@openai/agents';
import { eventually, startHarness, type Harness } from './harness.ts';

/**
 * The Responses clients people run, through a listening gateway (native mode): an `@openai/agents`
 * agent doing a tool-calling turn, and the Codex CLI answering a prompt (`codex exec`, offline: its
 * config keeps it on loopback, docs/codex.md has the provider block).
 */

const CODEX = join(import.meta.dir, '..', '..', 'node_modules', '.bin', 'codex');
/** Codex starts in about a second here; a hung run must not hang the suite. */
const CODEX_TIMEOUT_MS = 60_000;

let h: Harness;
let home: string;
beforeAll(async () => {
  h = await startHarness();
  home = mkdtempSync(join(tmpdir(), 'tollgate-codex-'));
  setTracingDisabled(true);
});
afterAll(async () => {
  await h.close();
  rmSync(home, { recursive: true, force: true });
});

type Row = { protocol: string | null; outcome: string; charge_nanos: bigint; route: string };
const rowsOf = (accountId: string, count: number) =>
  eventually(
    () => h.sql<Row[]>`select protocol, outcome, charge_nanos, route from requests
      where account_id = ${accountId}::uuid order by created_at`,
    (rows) => rows.length >= count,
  );

describe('the OpenAI Agents SDK', () => {
  test('an agent runs a tool-calling turn through Tollgate, each model call billed', async () => {
    const { key, account } = await h.customer('1.00');
    const calls: string[] = [];
    const weather = tool({
      name: 'weather',
      description: 'The weather in a city',
      parameters: {
        type: 'object',
        properties: { city: { type: 'string' } },
        required: ['city'],
        additionalProperties: false,
      },
      strict: true,
      execute: async (input) => {
        calls.push(JSON.stringify(input));
        return 'Sunny';
      },
    });
    const agent = new Agent({
      name: 'Forecaster',
      instructions: 'Answer with the weather.',
      model: new OpenAIResponsesModel(h.client(key), 'fake/gpt-small'),
      tools: [weather],
    });
    const result = await run(agent, 'Weather in Paris? [[fake:tool_call]]');
    expect(calls).toEqual(['{"city":"Paris"}']);
    expect(result.finalOutput).toBe('tok0 tok1 tok2 tok3 tok4 ');
    const turns = h.upstream.requests.filter((r) => r.path === '/api/v1/responses').slice(-2);
    const input = (turns[1]?.body as { input: { type?: string; output?: unknown }[] } | undefined)?.input ?? [];
    expect(input.at(-1)).toMatchObject({ type: 'function_call_output', output: 'Sunny' });
    const rows = await rowsOf(account.id, 2);
    expect(rows.map((r) => [r.protocol, r.outcome])).toEqual([
      ['responses', 'completed'],
      ['responses', 'completed'],
    ]);
    expect(rows.every((r) => r.charge_nanos > 0n)).toBe(true);
  });
});

function codexHome(name: string): string {
  const dir = join(home, name, '.codex');
  mkdirSync(dir, { recursive: true });
  // The provider block of docs/codex.md, plus what keeps Codex offline and quick in a test.
  writeFileSync(
    join(dir, 'config.toml'),
    `model = "fake/gpt-small"
model_provider = "tollgate"
check_for_update_on_startup = false

[model_providers.tollgate]
name = "Tollgate"
base_url = "${h.gateway.url}/v1"
env_key = "TOLLGATE_API_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0

[analytics]
enabled = false
[feedback]
enabled = false
[features]
plugins = false
remote_plugin = false
apps = false
plugin_sharing = false
in_app_updates = false
shell_snapshot = false
`,
  );
  return dir;
}

async function codexExec(name: string, key: string, prompt: string) {
  const codexDir = codexHome(name);
  const proc = Bun.spawn(
    [CODEX, 'exec', '--skip-git-repo-check', '--ephemeral', '--sandbox', 'read-only', '--color', 'never', prompt],
    {
      cwd: join(codexDir, '..'),
      env: { PATH: process.env.PATH ?? '', HOME: join(codexDir, '..'), CODEX_HOME: codexDir, TOLLGATE_API_KEY: key },
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: 'pipe',
    },
  );
  const timer = setTimeout(() => proc.kill(), CODEX_TIMEOUT_MS);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { stdout, stderr, code };
}

describe('the Codex CLI', () => {
  test(
    'codex exec answers a prompt through Tollgate, and the turn is billed as responses',
    async () => {
      const { key, account } = await h.customer('1.00');
      const result = await codexExec('ok', key, 'Say hi');
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('tok0 tok1 tok2 tok3 tok4');
      const sent = h.upstream.requests.at(-1);
      expect(sent?.path).toBe('/api/v1/responses');
      expect(JSON.stringify(sent)).not.toContain(key);
      const [row] = await rowsOf(account.id, 1);
      expect(row).toMatchObject({ protocol: 'responses', outcome: 'completed', route: '/v1/responses' });
      expect(row?.charge_nanos).toBeGreaterThan(0n);
    },
    CODEX_TIMEOUT_MS,
  );

  test(
    'a bad key makes codex exit 1 with the 401 message',
    async () => {
      const result = await codexExec('bad', 'tg-not-a-key', 'Say hi');
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('401 Unauthorized');
    },
    CODEX_TIMEOUT_MS,
  );
});
