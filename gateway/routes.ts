import { reasonOf } from '../app/log.ts';
import { readFileSync } from 'node:fs';
import { isRecord } from '../core/billed-request.ts';
import { isRouteProtocol, ROUTE_PROTOCOLS, type RouteProtocol } from '../protocols/registry.ts';

/**
 * THE route table: every /v1 and webhook route, the plugins it runs in order, and their options.
 * It is data: an operator can replace or add routes with a JSON file (TOLLGATE_ROUTES_FILE)
 * without code changes. No route is declared anywhere else, and there is no catch-all.
 */

export type PluginStep = { name: string; options?: Record<string, unknown> };
export type Route = {
  method: 'GET' | 'POST';
  path: string;
  /**
   * The wire protocol this route speaks (protocols/registry.ts): how its body is read and billed,
   * its upstream call, its answers and its errors. Route files may still call it `endpoint`.
   */
  protocol?: RouteProtocol;
  plugins: PluginStep[];
  /** A free route proxies without holding or charging credit; it must say so explicitly. */
  free?: boolean;
};

const PAID_PIPELINE: PluginStep[] = [
  { name: 'auth' },
  { name: 'ratelimit' },
  { name: 'model-access' },
  { name: 'balance' },
  { name: 'proxy' },
  { name: 'meter' },
  { name: 'debit' },
];

export const DEFAULT_ROUTES: Route[] = [
  { method: 'POST', path: '/v1/chat/completions', protocol: 'chat', plugins: PAID_PIPELINE },
  { method: 'POST', path: '/v1/completions', protocol: 'completions', plugins: PAID_PIPELINE },
  { method: 'POST', path: '/v1/embeddings', protocol: 'embeddings', plugins: PAID_PIPELINE },
  { method: 'POST', path: '/v1/messages', protocol: 'messages', plugins: PAID_PIPELINE },
  {
    method: 'POST',
    path: '/v1/messages/count_tokens',
    protocol: 'messages_count_tokens',
    free: true,
    plugins: [{ name: 'auth' }, { name: 'ratelimit' }, { name: 'model-access' }, { name: 'count-tokens' }],
  },
  { method: 'POST', path: '/v1/responses', protocol: 'responses', plugins: PAID_PIPELINE },
  { method: 'GET', path: '/v1/responses/:id', plugins: [{ name: 'auth' }, { name: 'stored-responses' }] },
  {
    method: 'GET',
    path: '/v1/responses/:id/input_items',
    plugins: [{ name: 'auth' }, { name: 'stored-responses' }],
  },
  { method: 'GET', path: '/v1/models', plugins: [{ name: 'auth', options: { optional: true } }, { name: 'models' }] },
  {
    method: 'GET',
    path: '/v1/models/:id',
    plugins: [{ name: 'auth', options: { optional: true } }, { name: 'models' }],
  },
  // Model ids are `author/slug`: curl users send the slash unencoded (the SDKs encode it). The
  // router wants the same parameter name at the same place, hence `:id` for the author part.
  {
    method: 'GET',
    path: '/v1/models/:id/:slug',
    plugins: [{ name: 'auth', options: { optional: true } }, { name: 'models' }],
  },
  { method: 'GET', path: '/v1/key', plugins: [{ name: 'auth' }, { name: 'key-info' }] },
  { method: 'POST', path: '/webhooks/stripe', plugins: [{ name: 'stripe-webhook' }] },
];

export class RouteTableError extends Error {}

function parseStep(raw: unknown, where: string): PluginStep {
  if (typeof raw === 'string') return { name: raw };
  if (!isRecord(raw) || typeof raw.name !== 'string')
    throw new RouteTableError(`${where}: a plugin is a name or {"name", "options"}`);
  if (raw.options !== undefined && !isRecord(raw.options))
    throw new RouteTableError(`${where}: plugin ${raw.name}: options must be an object`);
  return { name: raw.name, options: raw.options };
}

export function parseRoute(raw: unknown, index: number): Route {
  const where = `route #${index + 1}`;
  if (!isRecord(raw)) throw new RouteTableError(`${where}: must be an object`);
  const { method, path, plugins, free } = raw;
  // `endpoint` is the key's name from before the protocol layer; files using it keep working.
  const protocol = raw.protocol ?? raw.endpoint;
  if (method !== 'GET' && method !== 'POST') throw new RouteTableError(`${where}: method must be GET or POST`);
  if (typeof path !== 'string' || !/^\/[A-Za-z0-9/_:.-]*$/.test(path)) {
    throw new RouteTableError(`${where}: path must be a literal path like /v1/chat/completions (no wildcards)`);
  }
  if (!Array.isArray(plugins) || plugins.length === 0)
    throw new RouteTableError(`${method} ${path}: plugins must be a non-empty list`);
  if (free !== undefined && typeof free !== 'boolean')
    throw new RouteTableError(`${method} ${path}: free must be true or false`);
  if (raw.protocol !== undefined && raw.endpoint !== undefined)
    throw new RouteTableError(`${method} ${path}: give protocol or its old name endpoint, not both`);
  if (protocol !== undefined && !isRouteProtocol(protocol)) {
    const key = raw.protocol === undefined ? 'endpoint' : 'protocol';
    throw new RouteTableError(`${method} ${path}: ${key} must be one of ${ROUTE_PROTOCOLS.join(', ')}`);
  }
  return {
    method,
    path,
    plugins: plugins.map((step) => parseStep(step, `${method} ${path}`)),
    ...(protocol ? { protocol } : {}),
    ...(free ? { free } : {}),
  };
}

/** The default table with the file's routes replacing same method+path entries and adding new ones. */
export function loadRouteTable(file: string | undefined): Route[] {
  if (!file) return DEFAULT_ROUTES;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new RouteTableError(`cannot read the route file ${file}: ${reasonOf(error)}`);
  }
  const list = isRecord(parsed) ? parsed.routes : undefined;
  if (!Array.isArray(list)) throw new RouteTableError(`${file}: expected {"routes": [...]}`);
  const overrides = list.map(parseRoute);
  const key = (r: Route) => `${r.method} ${r.path}`;
  const replaced = new Set(overrides.map(key));
  return [...DEFAULT_ROUTES.filter((r) => !replaced.has(key(r))), ...overrides];
}
