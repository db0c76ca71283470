/**
 * The one test entry point (`bash scripts/test.sh [filters]`): starts a real PostgreSQL (embedded)
 * and a real Redis for the run, migrates a template database, runs `bun test`, and ends with the
 * one line CI reads: `N passed, N failed`. Exits non-zero on any failure or when no test ran.
 */
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { freePort, startEmbeddedPostgres } from '../db/embedded.ts';
import { prepareTemplate } from './helpers.ts';

const ROOT = resolve(import.meta.dir, '..');
const RUN_DIR = join(ROOT, '.tollgate-test', `run-${Date.now()}`);
const PER_TEST_TIMEOUT_MS = 60_000;
const REDIS_START_TIMEOUT_MS = 10_000;

type Counts = { passed: number; failed: number; skipped: number };

function attribute(tag: string, name: string): number {
  return Number(new RegExp(`\\b${name}="(\\d+)"`).exec(tag)?.[1] ?? '0');
}

/** Counts from bun's JUnit report: the <testsuites> totals, errors counted as failures. */
export function countJunit(xml: string): Counts {
  const totals = /<testsuites\b[^>]*>/.exec(xml)?.[0];
  if (!totals) return { passed: 0, failed: 0, skipped: 0 };
  const tests = attribute(totals, 'tests');
  const failed = attribute(totals, 'failures') + attribute(totals, 'errors');
  const skipped = attribute(totals, 'skipped');
  return { passed: Math.max(0, tests - failed - skipped), failed, skipped };
}

async function startRedis(): Promise<{ url: string; stop: () => void }> {
  const which = spawnSync('sh', ['-c', 'command -v redis-server']);
  if (which.status !== 0) throw new Error('redis-server is not installed: run `bash scripts/setup.sh` (it installs Debian\'s redis-server)');
  const port = await freePort();
  const child = Bun.spawn(['redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdout: 'ignore', stderr: 'inherit' });
  const deadline = Date.now() + REDIS_START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const ping = spawnSync('redis-cli', ['-p', String(port), 'ping']);
    if (ping.stdout?.toString().trim() === 'PONG') return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill() };
    await Bun.sleep(50);
  }
  child.kill();
  throw new Error(`redis-server did not start on port ${port}`);
}

async function main(): Promise<number> {
  await mkdir(RUN_DIR, { recursive: true });
  for (const dir of [join(ROOT, '.tollgate-test'), RUN_DIR]) await chmod(dir, 0o755);
  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step();
    await rm(RUN_DIR, { recursive: true, force: true });
  };
  process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    let databaseUrl = process.env.TEST_DATABASE_URL;
    if (!databaseUrl) {
      const database = await startEmbeddedPostgres(join(RUN_DIR, 'postgres'), () => {});
      cleanups.push(() => database.stop());
      databaseUrl = database.url;
    }
    await prepareTemplate(databaseUrl);
    let redisUrl = process.env.TEST_REDIS_URL;
    if (!redisUrl) {
      const redis = await startRedis();
      cleanups.push(redis.stop);
      redisUrl = redis.url;
    }
    const junit = join(RUN_DIR, 'junit.xml');
    const filters = process.argv.slice(2);
    const child = Bun.spawn(['bun', 'test', `--timeout=${PER_TEST_TIMEOUT_MS}`, '--reporter=junit', `--reporter-outfile=${junit}`, ...(filters.length > 0 ? filters : ['tests/'])], {
      cwd: ROOT,
      env: { ...process.env, TEST_DATABASE_URL: databaseUrl, TEST_REDIS_URL: redisUrl, TOLLGATE_TEST_DIR: RUN_DIR },
      stdout: 'inherit',
      stderr: 'inherit',
    });
    const exitCode = await child.exited;
    const xml = await readFile(junit, 'utf8').catch(() => '');
    const counts = countJunit(xml);
    // A file that fails to load, or a crash, shows only in bun's exit code: count it as a failure.
    if (exitCode !== 0 && counts.failed === 0) counts.failed = 1;
    process.stdout.write(`\n${counts.passed} passed, ${counts.failed} failed${counts.skipped > 0 ? `, ${counts.skipped} skipped` : ''}\n`);
    return counts.failed === 0 && counts.passed > 0 ? 0 : 1;
  } finally {
    await cleanup();
  }
}

if (import.meta.main) {
  try {
    process.exit(await main());
  } catch (error) {
    process.stderr.write(`tests/run: ${error instanceof Error ? error.message : String(error)}\n`);
    process.stdout.write('0 passed, 1 failed\n');
    process.exit(1);
  }
}
