import { afterAll, beforeAll, expect, test } from 'bun:test';
import { changeChannel } from './channels-harness.ts';
import { runClaude } from './claude-code-runner.ts';
import { eventually, startHarness, type Harness } from './harness.ts';

/**
 * Claude Code itself answering through Tollgate in translated mode: the only channel speaks Chat
 * Completions alone, so its whole Messages request (system blocks with cache_control, its tools,
 * adaptive thinking, output_config, a system message inside messages) goes upstream as chat, and
 * the chat stream comes back as the Messages events Claude Code needs.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
  await changeChannel(h.sql, [h.gateway], 'default', { protocols: ['chat', 'completions', 'embeddings'] });
});
afterAll(() => h.close());

test('Claude Code answers a prompt through a chat-only upstream, billed as messages', async () => {
  const { key, account } = await h.customer('1.00');
  const result = await runClaude(h.gateway.url, { ANTHROPIC_API_KEY: key }, 'Say hello [[fake:chunks=3]]');
  expect(result.stderr).not.toContain('API Error');
  expect(result.code).toBe(0);
  expect(result.stdout).toContain('tok0 tok1 tok2');
  const sent = h.upstream.requests.filter((r) => r.method === 'POST');
  expect(sent.length).toBeGreaterThan(0);
  expect(sent.every((r) => r.path === '/api/v1/chat/completions')).toBe(true);
  const body = sent.at(-1)?.body as { tools?: unknown[]; messages: { role: string }[]; stream?: boolean };
  expect(body.stream).toBe(true);
  expect(body.tools?.length).toBeGreaterThan(5);
  expect(body.messages[0]?.role).toBe('system');
  // Its prompt-cache breakpoints ride on the chat parts, for OpenRouter to pass on.
  expect(JSON.stringify(body.messages[0])).toContain('"cache_control":{"type":"ephemeral"');
  const rows = await eventually(
    () =>
      h.sql<
        { protocol: string; outcome: string; charge_nanos: bigint }[]
      >`select protocol, outcome, charge_nanos from requests where account_id = ${account.id}::uuid`,
    (r) => r.length > 0 && r.every((row) => row.outcome === 'completed'),
  );
  expect(rows.every((row) => row.protocol === 'messages' && row.charge_nanos > 0n)).toBe(true);
}, 90_000);
