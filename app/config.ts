import { parseAddressRange, type AddressRange } from '../core/ip-address.ts';
import { dnsServer, hostName } from './config-entries.ts';

/**
 * The only reader of process.env. Every variable is validated once at start-up; a bad value
 * stops the process with one line naming the variable, never a stack trace.
 */

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    reason: string,
  ) {
    super(`${variable}: ${reason}`);
  }
}

export type Config = {
  host: string;
  port: number;
  portalPort: number;
  publicUrl: string;
  portalUrl: string;
  dataDir: string;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  /** How many gateway replicas share Redis: each keeps 1/replicas of every limit while Redis is down. */
  replicas: number;
  /** How long a hold may stay open before any replica's sweeper settles or expires it. */
  holdTtlSeconds: number;
  /** How often each replica's sweeper looks for expired holds. */
  sweepIntervalSeconds: number;
  /** A stream silent this long gets an SSE comment, so proxies and clients keep it open. */
  streamHeartbeatSeconds: number;
  /** Whether a key in back-to-back use gets its next request's hold placed ahead (ledger/spare-holds.ts). */
  spareHolds: boolean;
  upstreamBaseUrl: string;
  upstreamApiKey: string | undefined;
  /** Each channel's circuit breaker per model: open after `failures` within `windowSeconds`, probe after `cooldownSeconds`. */
  breaker: { failures: number; windowSeconds: number; cooldownSeconds: number };
  defaultMarkupBps: number;
  keyPepper: string | undefined;
  routesFile: string | undefined;
  logLevel: LogLevel;
  production: boolean;
  /** Peers (the portal, a load balancer) whose X-Forwarded-For names the client, for sign-in throttling. */
  trustedProxies: AddressRange[];
  /** Host names no tenant may claim as its custom domain, besides PUBLIC_URL's and PORTAL_URL's. */
  reservedDomains: string[];
  /**
   * Requests to targets a customer names (domain checks, webhook deliveries): resolvers (none: the
   * system's), and whether loopback, private, link-local or metadata addresses are allowed.
   */
  outbound: { dnsServers: string[]; allowPrivate: boolean };
  stripe:
    | {
        secretKey: string;
        webhookSecrets: string[];
        publishableKey: string | undefined;
        apiBaseUrl: string | undefined;
      }
    | undefined;
  clerk: { secretKey: string | undefined; jwtKey: string | undefined; publishableKey: string | undefined } | undefined;
  /** Outbound e-mail: SMTP when smtpUrl is set, else messages are written to a folder under dataDir. */
  mail: { smtpUrl: string | undefined; from: string };
  /** Settings read under an old name: one line each for the start-up log. */
  deprecations: string[];
};

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

type Env = Record<string, string | undefined>;

const DEFAULT_PORT = 8787;
const DEFAULT_PORTAL_PORT = 3000;
const DEFAULT_UPSTREAM_BASE_URL = 'https://openrouter.ai/api/v1';
const DEFAULT_MARKUP_PERCENT = '20';
const MAX_MARKUP_PERCENT = 10_000;

function text(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

const SWITCH_VALUES: Record<string, boolean> = {
  on: true,
  true: true,
  '1': true,
  off: false,
  false: false,
  '0': false,
};

function onOff(env: Env, name: string, fallback: boolean): boolean {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  const value = SWITCH_VALUES[raw.toLowerCase()];
  if (value === undefined) throw new ConfigError(name, `must be on or off, got "${raw}"`);
  return value;
}

function port(env: Env, name: string, fallback: number): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1 || value > 65535)
    throw new ConfigError(name, `must be a port number between 1 and 65535, got "${raw}"`);
  return value;
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = text(env, name);
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `must be a URL (${protocols.join(' or ')})`);
  }
  if (!protocols.includes(parsed.protocol))
    throw new ConfigError(name, `must use ${protocols.join(' or ')}, got ${parsed.protocol}`);
  return raw;
}

/** Parses a percentage such as "20" or "12.5" into basis points, exactly (no floats). */
export function percentToBps(raw: string): number | undefined {
  const match = /^(\d{1,6})(?:\.(\d{1,2}))?$/.exec(raw.trim());
  if (!match) return undefined;
  const whole = Number(match[1]);
  const fraction = Number((match[2] ?? '').padEnd(2, '0'));
  const bps = whole * 100 + fraction;
  return whole > MAX_MARKUP_PERCENT ? undefined : bps;
}

function markupBps(env: Env): number {
  const raw = text(env, 'TOLLGATE_DEFAULT_MARKUP_PERCENT') ?? DEFAULT_MARKUP_PERCENT;
  const bps = percentToBps(raw);
  if (bps === undefined)
    throw new ConfigError(
      'TOLLGATE_DEFAULT_MARKUP_PERCENT',
      `must be a percentage like 20 or 12.5 (0 to ${MAX_MARKUP_PERCENT}), got "${raw}"`,
    );
  return bps;
}

const MAX_REPLICAS = 1_000;

function replicas(env: Env): number {
  const raw = text(env, 'TOLLGATE_REPLICAS') ?? '1';
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1 || value > MAX_REPLICAS)
    throw new ConfigError('TOLLGATE_REPLICAS', `must be a whole number from 1 to ${MAX_REPLICAS}, got "${raw}"`);
  return value;
}

/** Longer than any request may live (upstream timeouts, long streams), so only abandoned holds expire. */
const DEFAULT_HOLD_TTL_SECONDS = 15 * 60;
const DEFAULT_SWEEP_INTERVAL_SECONDS = 30;
const MAX_HOLD_TTL_SECONDS = 7 * 24 * 3600;
/** `ledger verify` counts a hold open two minutes past its expiry as a fault: sweeps must come well within that. */
const MAX_SWEEP_INTERVAL_SECONDS = 60;
const DEFAULT_STREAM_HEARTBEAT_SECONDS = 15;
/** Under Bun's idle timeout (255 s, gateway/server.ts), which would otherwise close a silent stream first. */
const MAX_STREAM_HEARTBEAT_SECONDS = 240;

function seconds(env: Env, name: string, fallback: number, max: number): number {
  const raw = text(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1 || value > max)
    throw new ConfigError(name, `must be a whole number of seconds from 1 to ${max}, got "${raw}"`);
  return value;
}

const DEFAULT_BREAKER_FAILURES = 5;
const MAX_BREAKER_FAILURES = 10_000;
const DEFAULT_BREAKER_WINDOW_SECONDS = 30;
const DEFAULT_BREAKER_COOLDOWN_SECONDS = 30;
const MAX_BREAKER_SECONDS = 3_600;

function breaker(env: Env): Config['breaker'] {
  const raw = text(env, 'TOLLGATE_BREAKER_FAILURES') ?? String(DEFAULT_BREAKER_FAILURES);
  const failures = Number(raw);
  if (!/^\d+$/.test(raw) || failures < 1 || failures > MAX_BREAKER_FAILURES)
    throw new ConfigError(
      'TOLLGATE_BREAKER_FAILURES',
      `must be a whole number from 1 to ${MAX_BREAKER_FAILURES}, got "${raw}"`,
    );
  return {
    failures,
    windowSeconds: seconds(env, 'TOLLGATE_BREAKER_WINDOW_SECONDS', DEFAULT_BREAKER_WINDOW_SECONDS, MAX_BREAKER_SECONDS),
    cooldownSeconds: seconds(
      env,
      'TOLLGATE_BREAKER_COOLDOWN_SECONDS',
      DEFAULT_BREAKER_COOLDOWN_SECONDS,
      MAX_BREAKER_SECONDS,
    ),
  };
}

function logLevel(env: Env): LogLevel {
  const raw = text(env, 'LOG_LEVEL') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(raw))
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`);
  return raw as LogLevel;
}

function pepper(env: Env): string | undefined {
  const value = text(env, 'TOLLGATE_KEY_PEPPER');
  if (value !== undefined && value.length < 32)
    throw new ConfigError('TOLLGATE_KEY_PEPPER', 'must be at least 32 characters (use `openssl rand -hex 32`)');
  return value;
}

function stripe(env: Env): Config['stripe'] {
  const secretKey = text(env, 'STRIPE_SECRET_KEY');
  const webhookSecrets = [text(env, 'STRIPE_WEBHOOK_SECRET'), text(env, 'STRIPE_WEBHOOK_SECRET_PREVIOUS')].filter(
    (s): s is string => s !== undefined,
  );
  if (secretKey === undefined) {
    if (webhookSecrets.length > 0)
      throw new ConfigError('STRIPE_SECRET_KEY', 'is required when STRIPE_WEBHOOK_SECRET is set');
    return undefined;
  }
  if (!/^(sk|rk)_/.test(secretKey)) throw new ConfigError('STRIPE_SECRET_KEY', 'must start with sk_ or rk_');
  if (webhookSecrets.length === 0)
    throw new ConfigError('STRIPE_WEBHOOK_SECRET', 'is required when STRIPE_SECRET_KEY is set');
  for (const secret of webhookSecrets) {
    if (!secret.startsWith('whsec_')) throw new ConfigError('STRIPE_WEBHOOK_SECRET', 'must start with whsec_');
  }
  return {
    secretKey,
    webhookSecrets,
    publishableKey: text(env, 'STRIPE_PUBLISHABLE_KEY'),
    apiBaseUrl: url(env, 'STRIPE_API_BASE_URL', ['http:', 'https:']),
  };
}

function clerk(env: Env): Config['clerk'] {
  const secretKey = text(env, 'CLERK_SECRET_KEY');
  const jwtKey = text(env, 'CLERK_JWT_KEY');
  if (secretKey === undefined && jwtKey === undefined) return undefined;
  return { secretKey, jwtKey, publishableKey: text(env, 'CLERK_PUBLISHABLE_KEY') };
}

/** An address, bare or with a display name: `ops@example.com` or `Acme <ops@example.com>`. */
const MAIL_FROM = /^(?:[^<>@\r\n]{1,100} <[^<>@\s]{1,200}@[^<>@\s]{1,200}>|[^<>@\s]{1,200}@[^<>@\s]{1,200})$/;

function mail(env: Env, publicUrl: string): Config['mail'] {
  const smtpUrl = url(env, 'SMTP_URL', ['smtp:', 'smtps:']);
  const from = text(env, 'SMTP_FROM') ?? `Tollgate <no-reply@${new URL(publicUrl).hostname}>`;
  if (!MAIL_FROM.test(from))
    throw new ConfigError('SMTP_FROM', `must be an address like ops@example.com or "Acme <ops@example.com>"`);
  return { smtpUrl, from };
}

const MAX_LIST_ENTRIES = 50;
/** The portal on the same machine, which forwards each browser's address. */
const DEFAULT_TRUSTED_PROXIES = '127.0.0.1,::1';

/** A comma-separated list (`none` for an empty one), each entry read by `parse` or refused as not `what`. */
function list<T>(env: Env, name: string, fallback: string, what: string, parse: (entry: string) => T | undefined): T[] {
  const raw = text(env, name) ?? fallback;
  const entries =
    raw === 'none'
      ? []
      : raw
          .split(',')
          .map((entry) => entry.trim())
          .filter((entry) => entry !== '');
  if (entries.length > MAX_LIST_ENTRIES) throw new ConfigError(name, `lists at most ${MAX_LIST_ENTRIES} entries`);
  return entries.map((entry) => {
    const value = parse(entry);
    if (value === undefined) throw new ConfigError(name, `"${entry}" must be ${what}`);
    return value;
  });
}

/** A secret named by the route table or a channel (a second upstream's key), read here like every variable. */
export function readSecretVariable(name: string, env: Env = process.env): string {
  const value = text(env, name);
  if (value === undefined) throw new ConfigError(name, 'is named by the route table or a channel but not set');
  return value;
}

const ALLOW_PRIVATE = 'TOLLGATE_OUTBOUND_ALLOW_PRIVATE';
/** Its name until webhooks and domain checks shared the one setting; still read, with a warning. */
const OLD_WEBHOOK_ALLOW_PRIVATE = 'TOLLGATE_WEBHOOK_ALLOW_PRIVATE';

function allowPrivate(env: Env): boolean {
  const old = onOff(env, OLD_WEBHOOK_ALLOW_PRIVATE, false);
  return onOff(env, ALLOW_PRIVATE, old);
}

function deprecations(env: Env): string[] {
  if (text(env, OLD_WEBHOOK_ALLOW_PRIVATE) === undefined) return [];
  return [
    text(env, ALLOW_PRIVATE) === undefined
      ? `${OLD_WEBHOOK_ALLOW_PRIVATE} is deprecated: it is read as ${ALLOW_PRIVATE}, ` +
        'which also covers webhooks; rename it.'
      : `${OLD_WEBHOOK_ALLOW_PRIVATE} is deprecated and ignored: ${ALLOW_PRIVATE} is set ` +
        'and covers webhooks; remove it.',
  ];
}

export function loadConfig(env: Env = process.env): Config {
  const host = text(env, 'HOST') ?? '127.0.0.1';
  const gatewayPort = port(env, 'PORT', DEFAULT_PORT);
  const portalPort = port(env, 'PORTAL_PORT', DEFAULT_PORTAL_PORT);
  const publicUrl = url(env, 'PUBLIC_URL', ['http:', 'https:']) ?? `http://localhost:${gatewayPort}`;
  return {
    host,
    port: gatewayPort,
    portalPort,
    publicUrl: publicUrl.replace(/\/+$/, ''),
    portalUrl: (url(env, 'PORTAL_URL', ['http:', 'https:']) ?? `http://localhost:${portalPort}`).replace(/\/+$/, ''),
    dataDir: text(env, 'TOLLGATE_DATA_DIR') ?? './.tollgate',
    databaseUrl: url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']),
    redisUrl: url(env, 'REDIS_URL', ['redis:', 'rediss:']),
    replicas: replicas(env),
    holdTtlSeconds: seconds(env, 'TOLLGATE_HOLD_TTL_SECONDS', DEFAULT_HOLD_TTL_SECONDS, MAX_HOLD_TTL_SECONDS),
    sweepIntervalSeconds: seconds(
      env,
      'TOLLGATE_SWEEP_INTERVAL_SECONDS',
      DEFAULT_SWEEP_INTERVAL_SECONDS,
      MAX_SWEEP_INTERVAL_SECONDS,
    ),
    streamHeartbeatSeconds: seconds(
      env,
      'TOLLGATE_STREAM_HEARTBEAT_SECONDS',
      DEFAULT_STREAM_HEARTBEAT_SECONDS,
      MAX_STREAM_HEARTBEAT_SECONDS,
    ),
    spareHolds: onOff(env, 'TOLLGATE_SPARE_HOLDS', true),
    upstreamBaseUrl: (url(env, 'UPSTREAM_BASE_URL', ['http:', 'https:']) ?? DEFAULT_UPSTREAM_BASE_URL).replace(
      /\/+$/,
      '',
    ),
    upstreamApiKey: text(env, 'UPSTREAM_API_KEY') ?? text(env, 'OPENROUTER_API_KEY'),
    breaker: breaker(env),
    defaultMarkupBps: markupBps(env),
    keyPepper: pepper(env),
    routesFile: text(env, 'TOLLGATE_ROUTES_FILE'),
    logLevel: logLevel(env),
    production: text(env, 'NODE_ENV') === 'production',
    trustedProxies: list(
      env,
      'TOLLGATE_TRUSTED_PROXIES',
      DEFAULT_TRUSTED_PROXIES,
      'an IP or a range',
      parseAddressRange,
    ),
    reservedDomains: list(env, 'TOLLGATE_RESERVED_DOMAINS', '', 'a host name', hostName),
    outbound: {
      dnsServers: list(env, 'TOLLGATE_DNS_SERVERS', '', 'an IP address, optionally with :port', dnsServer),
      allowPrivate: allowPrivate(env),
    },
    stripe: stripe(env),
    clerk: clerk(env),
    mail: mail(env, publicUrl),
    deprecations: deprecations(env),
  };
}
