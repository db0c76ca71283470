import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Runs Claude Code itself (`claude -p`, the @anthropic-ai/claude-code package) against a gateway,
 * offline: a temp HOME, telemetry and every non-essential call off, no retries and no
 * non-streaming fallback (../shared/AGENTIC-CLIENTS.md), every model name mapped to `model`.
 */

const CLAUDE = join(import.meta.dir, '../../node_modules/.bin/claude');
const CLAUDE_TIMEOUT_MS = 60_000;

export async function runClaude(
  gatewayUrl: string,
  env: Record<string, string>,
  prompt: string,
  model = 'fake/gpt-small',
): Promise<{ stdout: string; stderr: string; code: number }> {
  const home = mkdtempSync(join(tmpdir(), 'tollgate-claude-'));
  const child = Bun.spawn([CLAUDE, '-p', prompt], {
    cwd: home,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      ANTHROPIC_BASE_URL: gatewayUrl,
      ANTHROPIC_MODEL: model,
      ANTHROPIC_DEFAULT_SONNET_MODEL: model,
      ANTHROPIC_DEFAULT_HAIKU_MODEL: model,
      ANTHROPIC_DEFAULT_OPUS_MODEL: model,
      ANTHROPIC_SMALL_FAST_MODEL: model,
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
  const timer = setTimeout(() => child.kill(), CLAUDE_TIMEOUT_MS);
  const [stdout, stderr, code] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  clearTimeout(timer);
  return { stdout, stderr, code };
}
