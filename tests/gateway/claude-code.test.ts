import { afterAll, beforeAll, expect, test } from 'bun:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, startHarness, type Harness } from './harness.ts';

/**
 * Claude Code itself (`claude -p`, the @anthropic-ai/claude-code package) answering a prompt
 * through Tollgate's Messages API in native mode, offline: a temp HOME, telemetry and every
 * non-essential call off (../shared/AGENTIC-CLIENTS.md), the gateway on 127.0.0.1.
 */

const CLAUDE = join(import.meta.dir, '../../node_modules/.bin/claude');

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

async function runClaude(env: Record<string, string>, prompt: string) {
  const home = mkdtempSync(join(tmpdir(), 'tollgate-claude-'));
  const child = Bun.spawn([CLAUDE, '-p', prompt], {
    cwd: home,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      ANTHROPIC_BASE_URL: h.gateway.url,
      ANTHROPIC_MODEL: 'fake/gpt-small',
      ANTHROPIC_DEFAULT_SONNET_MODEL: 'fake/gpt-small',
      ANTHROPIC_DEFAULT_HAIKU_MODEL: 'fake/gpt-small',
      ANTHROPIC_DEFAULT_OPUS_MODEL: 'fake/gpt-small',
      ANTHROPIC_SMALL_FAST_MODEL: 'fake/gpt-small',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_TELEMETRY: '1',
      DISABLE_AUTOUPDATER: '1',
      DISABLE_ERROR_REPORTING: '1',
      CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS: '1',
      CLAUDE_CODE_MAX_RETRIES: '0',
      CLAUDE_CODE_DISABLE_NONSTREAMING_FALLBACK: '1',
      ...env,
    },
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const timer = setTimeout(() => child.kill(), 60_000);
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  clearTimeout(timer);
  return { stdout, stderr, code };
}

test('Claude Code answers a prompt through the gateway with ANTHROPIC_API_KEY (x-api-key), and it is billed as messages', async () => {
  const { key, account } = await h.customer('1.00');
  const result = await runClaude({ ANTHROPIC_API_KEY: key }, 'Say hello [[fake:chunks=3]]');
  expect(result.stderr).not.toContain('API Error');
  expect(result.code).toBe(0);
  expect(result.stdout).toContain('tok0 tok1 tok2');
  const sent = h.upstream.requests.filter((r) => r.path === '/api/v1/messages');
  expect(sent.length).toBeGreaterThan(0);
  expect(JSON.stringify(sent)).not.toContain(key);
  const rows = await eventually(
    () =>
      h.sql<
        { protocol: string; outcome: string; charge_nanos: bigint }[]
      >`select protocol, outcome, charge_nanos from requests where account_id = ${account.id}::uuid`,
    (r) => r.length > 0 && r.every((row) => row.outcome === 'completed'),
  );
  expect(rows.every((row) => row.protocol === 'messages' && row.charge_nanos > 0n)).toBe(true);
}, 90_000);

test('Claude Code with ANTHROPIC_AUTH_TOKEN (Authorization: Bearer) works too, and a bad key fails to authenticate', async () => {
  const { key } = await h.customer('1.00');
  const ok = await runClaude({ ANTHROPIC_AUTH_TOKEN: key }, 'Again [[fake:chunks=2]]');
  expect(ok.code).toBe(0);
  expect(ok.stdout).toContain('tok0 tok1');
  const bad = await runClaude({ ANTHROPIC_API_KEY: 'tg-not-a-key' }, 'hi');
  expect(bad.code).not.toBe(0);
  expect(`${bad.stdout}${bad.stderr}`).toContain('401');
}, 150_000);
