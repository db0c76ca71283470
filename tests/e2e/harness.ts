import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { createAccount, type Account, type Role } from '../../db/queries/accounts.ts';
import { createTenant, ensureRootTenant, tenantWalletId, type Tenant } from '../../db/queries/tenants.ts';
import { recordTransfer } from '../../db/queries/transfers.ts';
import type { Sql } from '../../db/sql.ts';
import { loadConfig } from '../../app/config.ts';
import { startFakeUpstream, type FakeUpstream } from '../fake-upstream.ts';
import { testDatabase, testDataDir } from '../helpers.ts';

/**
 * The whole product for browser tests: a real gateway process with /graphql (gateway/main.ts) over
 * a fresh database in front of the fake upstream, the built portal as a child process pointed at
 * it, and Debian's Chromium driven by playwright-core. The gateway runs apart from the test's own
 * process, which drives the browser, as it does in production: under the suite's load a gateway
 * sharing that event loop now and then left a PostgreSQL statement unsent for seconds. The portal
 * is built once per test run, and only when its sources are newer than the build.
 */

export const PEPPER = 'test-pepper-0123456789abcdef0123456789abcdef';
export const UPSTREAM_KEY = 'sk-or-v1-upstreamsecretkey0123456789';
export const PASSWORD = 'correct horse battery';

const ROOT = join(import.meta.dir, '..', '..');
const PORTAL = join(ROOT, 'portal');
const PORTAL_ENTRY = join(PORTAL, 'build', 'index.js');
const PORTAL_START_TIMEOUT_MS = 20_000;
const GATEWAY_ENTRY = join(ROOT, 'gateway', 'main.ts');
/** Start-up includes reading the fake upstream's catalog. */
const GATEWAY_START_TIMEOUT_MS = 30_000;
/** A graceful stop drains requests for up to 30 s; a test's stack has none left worth waiting for. */
const GATEWAY_STOP_TIMEOUT_MS = 5_000;
const BUILD_TIMEOUT_MS = 180_000;
/**
 * For a test file's beforeAll: the gateway, the portal and Chromium start in seconds, but far slower on
 * a loaded 2-core machine, and the first file may also build the portal.
 */
export const STACK_START_TIMEOUT_MS = BUILD_TIMEOUT_MS + 60_000;
export const SCREENSHOTS = join(ROOT, 'test-results', 'screenshots');

/** Host names under .test (a reseller's custom domain, say) resolve to this machine, so a test can visit them. */
export const TEST_DOMAIN_RULE = '--host-resolver-rules=MAP *.test 127.0.0.1';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  TEST_DOMAIN_RULE,
];
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

async function run(command: string[], cwd: string, timeoutMs: number): Promise<void> {
  const child = Bun.spawn(command, {
    cwd,
    stdout: 'pipe',
    stderr: 'pipe',
    env: { ...process.env, NODE_ENV: 'production' },
  });
  const timer = setTimeout(() => child.kill(), timeoutMs);
  const [code, out, err] = await Promise.all([
    child.exited,
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
  ]);
  clearTimeout(timer);
  if (code !== 0) throw new Error(`${command.join(' ')} failed (${code}):\n${out.slice(-3000)}\n${err.slice(-3000)}`);
}

let built: Promise<void> | undefined;

/** Installs the portal's packages and builds it when the build is missing or older than its sources. */
export function buildPortal(): Promise<void> {
  built ??= (async () => {
    if (mtime(join(PORTAL, 'node_modules', '.bin', 'vite')) === 0)
      await run(['bun', 'install', '--frozen-lockfile'], PORTAL, BUILD_TIMEOUT_MS);
    const sources = Math.max(
      newestSource(join(PORTAL, 'src')),
      mtime(join(PORTAL, 'svelte.config.js')),
      mtime(join(PORTAL, 'vite.config.ts')),
    );
    if (mtime(PORTAL_ENTRY) < sources) await run(['bun', '--bun', 'x', 'vite', 'build'], PORTAL, BUILD_TIMEOUT_MS);
  })();
  return built;
}

async function freePort(): Promise<number> {
  const server = Bun.serve({ port: 0, hostname: '127.0.0.1', fetch: () => new Response() });
  const port = server.port;
  await server.stop(true);
  if (port === undefined) throw new Error('no free port');
  return port;
}

export type Stack = {
  sql: Sql;
  root: Tenant;
  upstream: FakeUpstream;
  apiUrl: string;
  portalUrl: string;
  portalPort: number;
  portalLog: string[];
  browser: Browser;
  /** A browser context (its own cookies) at desktop width, or the given viewport. */
  context(viewport?: { width: number; height: number }): Promise<BrowserContext>;
  page(viewport?: { width: number; height: number }): Promise<Page>;
  person(tenant: Tenant, role?: Role, email?: string): Promise<Account>;
  tenant(slug: string, options?: { customDomain?: string; markupBps?: number; parent?: Tenant }): Promise<Tenant>;
  credit(account: Account, nanos: bigint): Promise<void>;
  openai(key: string): OpenAI;
  close(): Promise<void>;
};

export async function startStack(env: Record<string, string> = {}): Promise<Stack> {
  const [, { sql, url }, upstream] = await Promise.all([
    buildPortal(),
    testDatabase(),
    startFakeUpstream({ apiKey: UPSTREAM_KEY }),
  ]);
  const [portalPort, gatewayPort] = [await freePort(), await freePort()];
  const portalUrl = `http://127.0.0.1:${portalPort}`;
  const gatewayEnv: Record<string, string> = {
    HOST: '127.0.0.1',
    PORT: String(gatewayPort),
    DATABASE_URL: url,
    UPSTREAM_BASE_URL: upstream.baseUrl,
    UPSTREAM_API_KEY: UPSTREAM_KEY,
    TOLLGATE_KEY_PEPPER: PEPPER,
    LOG_LEVEL: 'warn',
    PORTAL_URL: portalUrl,
    TOLLGATE_DATA_DIR: testDataDir(),
    ...env,
  };
  const config = loadConfig(gatewayEnv);
  const root = await ensureRootTenant(sql, config.defaultMarkupBps);
  const gatewayLog: string[] = [];
  const gateway = Bun.spawn(['bun', GATEWAY_ENTRY], {
    env: { ...process.env, ...gatewayEnv },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const apiUrl = `http://127.0.0.1:${gatewayPort}`;
  const portalLog: string[] = [];
  const portal = Bun.spawn(['bun', PORTAL_ENTRY], {
    cwd: PORTAL,
    env: {
      ...process.env,
      PORT: String(portalPort),
      HOST: '127.0.0.1',
      TOLLGATE_API_URL: apiUrl,
      NODE_ENV: 'production',
    },
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const collect = async (stream: ReadableStream<Uint8Array>, into: string[]) => {
    const decoder = new TextDecoder();
    const reader = stream.getReader();
    for (let read = await reader.read(); !read.done; read = await reader.read())
      into.push(decoder.decode(read.value, { stream: true }));
  };
  void collect(portal.stdout, portalLog);
  void collect(portal.stderr, portalLog);
  void collect(gateway.stdout, gatewayLog);
  void collect(gateway.stderr, gatewayLog);
  const gatewayDeadline = Date.now() + GATEWAY_START_TIMEOUT_MS;
  for (;;) {
    const ready = await fetch(`${apiUrl}/v1/models`).then(
      async (r) => r.ok && (await r.text()).includes('fake/'),
      () => false,
    );
    if (ready) break;
    if (Date.now() > gatewayDeadline || gateway.exitCode !== null)
      throw new Error(`the gateway did not start:\n${gatewayLog.join('')}`);
    await Bun.sleep(100);
  }
  const deadline = Date.now() + PORTAL_START_TIMEOUT_MS;
  for (;;) {
    const up = await fetch(`${portalUrl}/signin`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline || portal.exitCode !== null)
      throw new Error(`the portal did not start:\n${portalLog.join('')}`);
    await Bun.sleep(100);
  }
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  let people = 0;

  const stack: Stack = {
    sql,
    root,
    upstream,
    apiUrl,
    portalUrl,
    portalPort,
    portalLog,
    browser,
    context: (viewport = DESKTOP) => browser.newContext({ viewport, baseURL: portalUrl }),
    async page(viewport = DESKTOP) {
      const context = await stack.context(viewport);
      return context.newPage();
    },
    async person(tenant, role = 'customer', email) {
      people += 1;
      const passwordHash = await Bun.password.hash(PASSWORD, { algorithm: 'argon2id' });
      return createAccount(sql, {
        tenantId: tenant.id,
        email: email ?? `${role}${people}@${tenant.slug}.example`,
        role,
        passwordHash,
        displayName: `${role} ${people}`,
      });
    },
    tenant: (slug, options = {}) =>
      createTenant(sql, {
        slug,
        name: slug,
        markupBps: options.markupBps ?? 1000,
        parentId: (options.parent ?? root).id,
        customDomain: options.customDomain ?? null,
      }),
    async credit(account, nanos) {
      const clearing = await tenantWalletId(sql, account.tenantId, 'clearing');
      await recordTransfer(sql, {
        kind: 'purchase',
        cause: `e2e-${account.id}-${crypto.randomUUID()}`,
        entries: [
          { walletId: account.walletId, funding: 'paid', amountNanos: nanos },
          { walletId: clearing, funding: 'paid', amountNanos: -nanos },
        ],
      });
    },
    openai: (key) => new OpenAI({ apiKey: key, baseURL: `${apiUrl}/v1`, maxRetries: 0 }),
    async close() {
      // A page that said the API was unreachable leaves its cause here; show it with what the gateway warned of.
      if (portalLog.some((line) => line.includes('the API call to'))) {
        console.log(`portal log:\n${portalLog.join('')}`);
        console.log(`gateway warnings:\n${gatewayLog.slice(-40).join('')}`);
      }
      await browser.close().catch(() => {});
      portal.kill();
      await portal.exited;
      gateway.kill('SIGTERM');
      const stopped = await Promise.race([
        gateway.exited.then(() => true),
        Bun.sleep(GATEWAY_STOP_TIMEOUT_MS).then(() => false),
      ]);
      if (!stopped) gateway.kill('SIGKILL');
      await gateway.exited;
      await upstream.close();
    },
  };
  return stack;
}

/**
 * Opens a portal page and waits until it is hydrated: a field filled before then can be reset by
 * hydration (which happened on the loaded CI machine: the sign-in form went out empty and stayed
 * on /signin).
 */
export async function openHydrated(page: Page, path: string): Promise<void> {
  await page.goto(path);
  await page.waitForSelector('html[data-hydrated]', { state: 'attached' });
}

/** Signs in through the portal's form, as a person would. */
export async function signIn(page: Page, email: string, password = PASSWORD): Promise<void> {
  await openHydrated(page, '/signin');
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(password);
  await Promise.all([
    page.waitForURL((url) => !url.pathname.startsWith('/signin'), { waitUntil: 'commit' }),
    page.getByRole('button', { name: 'Sign in' }).click(),
  ]);
}

/** The same signed-in browser at phone width: a new context carrying the first one's cookies. */
export async function phonePage(stack: Stack, from: BrowserContext): Promise<Page> {
  const phone = await stack.context(PHONE);
  await phone.addCookies(await from.cookies());
  return phone.newPage();
}

/** Saves a full-page screenshot under test-results/screenshots/NAME-desktop.png (or -phone). */
export async function screenshot(page: Page, name: string): Promise<void> {
  const width = page.viewportSize()?.width ?? DESKTOP.width;
  await page.screenshot({
    path: join(SCREENSHOTS, `${name}-${width < 600 ? 'phone' : 'desktop'}.png`),
    fullPage: true,
  });
}
