import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtinPlugins } from '../../gateway/plugin-registry.ts';
import { compileRoutes } from '../../gateway/route-compiler.ts';
import { DEFAULT_ROUTES, loadRouteTable, parseRoute, RouteTableError, type Route } from '../../gateway/routes.ts';
import { type Harness, startHarness } from '../gateway/harness.ts';

/** Every way the route table refuses to start, each with the message an operator reads. */

let h: Harness;
beforeAll(async () => {
  h = await startHarness({}, { listen: false });
});
afterAll(() => h.close());

const PAID = ['auth', 'ratelimit', 'model-access', 'balance', 'proxy', 'meter', 'debit'];
const chat = (plugins: unknown[], extra: Record<string, unknown> = {}): Route =>
  parseRoute({ method: 'POST', path: '/v1/x/chat/completions', endpoint: 'chat', plugins, ...extra }, 0);
const compile = (routes: Route[]) => () => compileRoutes(routes, builtinPlugins(), h.gateway.services);

function writeTable(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'tollgate-routes-')), 'routes.json');
  writeFileSync(file, text);
  return file;
}

describe('parsing a route', () => {
  const cases: [string, unknown, string][] = [
    ['a route that is not an object', 'chat', 'route #1: must be an object'],
    [
      'a method other than GET or POST',
      { method: 'PUT', path: '/v1/x', plugins: ['auth'] },
      'method must be GET or POST',
    ],
    ['a wildcard path', { method: 'GET', path: '/v1/*', plugins: ['auth'] }, 'path must be a literal path'],
    ['an empty plugin list', { method: 'GET', path: '/v1/x', plugins: [] }, 'plugins must be a non-empty list'],
    ['free that is not a boolean', { method: 'GET', path: '/v1/x', plugins: ['auth'], free: 'yes' }, 'free must be'],
    ['an unknown endpoint', { method: 'POST', path: '/v1/x', plugins: ['auth'], endpoint: 'images' }, 'endpoint must'],
    ['an unknown protocol', { method: 'POST', path: '/v1/x', plugins: ['auth'], protocol: 'images' }, 'protocol must'],
    [
      'both protocol and its old name endpoint',
      { method: 'POST', path: '/v1/x', plugins: ['auth'], protocol: 'chat', endpoint: 'chat' },
      'not both',
    ],
    ['a plugin step of the wrong shape', { method: 'GET', path: '/v1/x', plugins: [42] }, 'a plugin is a name or'],
    [
      'plugin options that are not an object',
      { method: 'GET', path: '/v1/x', plugins: [{ name: 'auth', options: 1 }] },
      'options must be an object',
    ],
  ];
  for (const [what, raw, message] of cases) {
    test(`refuses ${what}`, () => {
      expect(() => parseRoute(raw, 0)).toThrow(RouteTableError);
      expect(() => parseRoute(raw, 0)).toThrow(message);
    });
  }
});

test('a route names its protocol; the old key endpoint means the same', () => {
  const route = { method: 'POST', path: '/v1/x', plugins: ['auth'] };
  expect(parseRoute({ ...route, protocol: 'messages' }, 0).protocol).toBe('messages');
  expect(parseRoute({ ...route, endpoint: 'chat' }, 0).protocol).toBe('chat');
});

describe('loading the route file', () => {
  test('refuses a file that cannot be read or is not JSON, naming the file', () => {
    expect(() => loadRouteTable('/nonexistent/routes.json')).toThrow(
      'cannot read the route file /nonexistent/routes.json',
    );
    const file = writeTable('{ not json');
    expect(() => loadRouteTable(file)).toThrow(`cannot read the route file ${file}`);
  });

  test('refuses a file without a routes list', () => {
    const file = writeTable('{"paths": []}');
    expect(() => loadRouteTable(file)).toThrow('expected {"routes": [...]}');
  });

  test('a file route replaces the default of the same method and path and keeps the others', () => {
    const file = writeTable(
      JSON.stringify({ routes: [{ method: 'GET', path: '/v1/key', plugins: ['auth', 'key-info'] }] }),
    );
    const table = loadRouteTable(file);
    expect(table).toHaveLength(DEFAULT_ROUTES.length);
    expect(table.filter((r) => r.path === '/v1/key')).toHaveLength(1);
  });
});

describe('compiling the table', () => {
  test('the default table compiles', () => {
    expect(compile(DEFAULT_ROUTES)()).toHaveLength(DEFAULT_ROUTES.length);
  });

  const refusals: [string, Route[], string][] = [
    ['a route declared twice', [chat(PAID), chat(PAID)], 'declared twice'],
    ['a plugin listed twice', [chat([...PAID, 'meter'])], 'plugin meter is listed twice'],
    [
      'balance without proxy',
      [parseRoute({ method: 'GET', path: '/v1/y', plugins: ['auth', 'balance', 'key-info'] }, 0)],
      'balance and debit only make sense around proxy',
    ],
    [
      'a proxied GET',
      [parseRoute({ method: 'GET', path: '/v1/y', endpoint: 'chat', plugins: PAID }, 0)],
      'a proxied route must be a POST with an endpoint',
    ],
    ['a proxied route without auth', [chat(PAID.filter((p) => p !== 'auth'))], 'auth must come before proxy'],
    [
      'a proxied route without ratelimit',
      [chat(PAID.filter((p) => p !== 'ratelimit'))],
      'ratelimit must come before proxy',
    ],
    [
      'a proxied route without model-access',
      [chat(PAID.filter((p) => p !== 'model-access'))],
      'model-access must come before proxy',
    ],
    ['a free route with balance', [chat(PAID, { free: true })], 'a free route must not list balance or debit'],
    [
      'a paid route without balance',
      [chat(PAID.filter((p) => p !== 'balance'))],
      'a paid route needs balance before proxy',
    ],
    ['a paid route without meter', [chat(PAID.filter((p) => p !== 'meter'))], 'a paid route needs meter after proxy'],
    [
      'a paid route with debit before proxy',
      [chat(['auth', 'ratelimit', 'model-access', 'balance', 'debit', 'proxy', 'meter'])],
      'a paid route needs debit after proxy',
    ],
    [
      'an unknown plugin',
      [parseRoute({ method: 'GET', path: '/v1/y', plugins: ['teleport'] }, 0)],
      'unknown plugin "teleport"',
    ],
    [
      'bad plugin options',
      [
        parseRoute(
          { method: 'GET', path: '/v1/y', plugins: [{ name: 'auth', options: { optional: 'maybe' } }, 'key-info'] },
          0,
        ),
      ],
      'plugin auth:',
    ],
    [
      'no plugin that answers',
      [parseRoute({ method: 'GET', path: '/v1/y', plugins: ['auth'] }, 0)],
      'exactly one plugin must answer the request (found 0)',
    ],
    [
      'two plugins that answer',
      [parseRoute({ method: 'GET', path: '/v1/y', plugins: ['auth', 'key-info', 'models'] }, 0)],
      'exactly one plugin must answer the request (found 2)',
    ],
  ];
  for (const [what, routes, message] of refusals) {
    test(`refuses ${what}`, () => {
      expect(compile(routes)).toThrow(RouteTableError);
      expect(compile(routes)).toThrow(message);
    });
  }

  test('a free proxied route compiles with model-access and without balance', () => {
    const free = chat(['auth', 'ratelimit', 'model-access', 'proxy'], { free: true });
    expect(compile([free])()).toHaveLength(1);
  });
});
