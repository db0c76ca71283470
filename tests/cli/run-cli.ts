import { expect } from 'bun:test';
import { join } from 'node:path';
import { runTollgate } from '../../cli/run.ts';

/**
 * The CLI in tests: in-process by default (`runTollgate`, the same code path `cli/tollgate.ts`
 * runs, with only the given environment), and as a real subprocess where the process is the point
 * (exit codes, stdout/stderr, a crash outside the command).
 */

const REPO_ROOT = join(import.meta.dir, '..', '..');
/** Generous: a cold `bun` start plus a database round trip; a hung CLI fails the test instead of the suite. */
const CLI_TIMEOUT_MS = 20_000;

type CliResult = { exitCode: number; stdout: string; stderr: string };

/** Runs `tollgate <args>` in this process; stdout and stderr are what a terminal would show. */
export async function runCli(args: readonly string[], env: Record<string, string>, input = ''): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const exitCode = await runTollgate(args, env, {
    out: (text) => {
      stdout += `${text}\n`;
    },
    err: (line) => {
      stderr += `${line}\n`;
    },
    input: async () => input,
  });
  return { exitCode, stdout, stderr };
}

/** Runs the real CLI as a subprocess, the way an operator does; `input`, when given, is its stdin. */
export async function runCliProcess(
  args: readonly string[],
  env: Record<string, string>,
  input?: string,
): Promise<CliResult> {
  // --no-env-file: a developer's .env must not leak into what the test sets up.
  const child = Bun.spawn([process.execPath, '--no-env-file', 'cli/tollgate.ts', ...args], {
    cwd: REPO_ROOT,
    env,
    stdin: input === undefined ? 'ignore' : new Blob([input]),
    stdout: 'pipe',
    stderr: 'pipe',
    timeout: CLI_TIMEOUT_MS,
  });
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  return { exitCode, stdout, stderr };
}

/** Runs a command with --json, expects success and returns the parsed document. */
export async function runCliJson<T>(args: readonly string[], env: Record<string, string>): Promise<T> {
  const result = await runCli([...args, '--json'], env);
  if (result.exitCode !== 0) throw new Error(`tollgate ${args.join(' ')} exited ${result.exitCode}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** The CLI's promise for every failure: one line on stderr, prefixed, no stack trace, the given exit code. */
export function expectOneLineFailure(result: CliResult, exitCode: number, pattern: RegExp): void {
  expect(result.exitCode).toBe(exitCode);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^tollgate: /);
  expect(lines[0]).toMatch(pattern);
  expect(result.stderr).not.toContain('    at ');
  expect(result.stdout).not.toContain('    at ');
}
