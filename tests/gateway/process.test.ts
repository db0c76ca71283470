import { afterAll, expect, test } from 'bun:test';
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { freePort } from '../../db/embedded.ts';
import { testDatabase } from '../helpers.ts';

/** The gateway as an operator runs it: `bun run gateway/main.ts`, no configuration but a port and a folder. */

const ROOT = resolve(import.meta.dir, '..', '..');
const DATA_DIR = join(process.env.TOLLGATE_TEST_DIR ?? join(ROOT, '.tollgate-test'), `zero-config-${Date.now()}`);
const START_TIMEOUT_MS = 30_000;

afterAll(async () => {
  await rm(DATA_DIR, { recursive: true, force: true });
});

async function startGateway(port: number) {
  const child = Bun.spawn(['bun', 'gateway/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/root',
      PORT: String(port),
      TOLLGATE_DATA_DIR: DATA_DIR,
    },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return child;
    await Bun.sleep(100);
  }
  child.kill();
  throw new Error(`the gateway did not become ready: ${await new Response(child.stderr).text()}`);
}

function cli(args: string[]) {
  return Bun.spawnSync(['bun', 'cli/tollgate.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root', TOLLGATE_DATA_DIR: DATA_DIR },
  });
}

test('starts with no configuration on embedded PostgreSQL, stops on SIGTERM, and keeps its data across a restart', async () => {
  await mkdir(DATA_DIR, { recursive: true });
  const port = await freePort();
  const first = await startGateway(port);
  const created = cli(['account', 'create', '--email', 'persist@example.com', '--json']);
  expect(created.exitCode).toBe(0);
  first.kill('SIGTERM');
  expect(await first.exited).toBe(0);

  const second = await startGateway(port);
  const balance = cli(['balance', '--account', 'persist@example.com', '--json']);
  expect(balance.exitCode).toBe(0);
  expect(JSON.parse(balance.stdout.toString())).toMatchObject({ available: expect.anything() });
  second.kill('SIGTERM');
  expect(await second.exited).toBe(0);
}, 90_000);

test('a bad configuration value stops the gateway with one line naming the variable', () => {
  const result = Bun.spawnSync(['bun', 'gateway/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', PORT: 'eighty' },
    stderr: 'pipe',
  });
  const stderr = result.stderr.toString();
  expect(result.exitCode).toBe(2);
  expect(stderr.trim().split('\n')).toEqual([
    'tollgate: configuration: PORT: must be a port number between 1 and 65535, got "eighty"',
  ]);
});

test('a port already in use stops the gateway with one line saying so, not a stack trace', async () => {
  const { url } = await testDatabase();
  const squatter = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: () => new Response('taken') });
  try {
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/root',
      PORT: String(squatter.port),
      DATABASE_URL: url,
      LOG_LEVEL: 'error',
    };
    const result = Bun.spawnSync(['bun', 'gateway/main.ts'], { cwd: ROOT, env, stderr: 'pipe' });
    expect(result.exitCode).toBe(2);
    expect(result.stderr.toString().trim().split('\n')).toEqual([
      `tollgate: port ${squatter.port} on 127.0.0.1 is in use: stop what listens there, or set PORT`,
    ]);
  } finally {
    await squatter.stop(true);
  }
}, 30_000);
