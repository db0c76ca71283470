import { reasonOf } from '../app/log.ts';
import type { Plugin, PluginDefinition } from '../plugins/types.ts';
import type { CompiledRoute } from './pipeline.ts';
import { RouteTableError, type Route } from './routes.ts';
import { protocolOf, ROUTE_PROTOCOLS } from '../protocols/registry.ts';
import type { Services } from '../plugins/services.ts';

/**
 * Turns the route table into runnable pipelines, refusing to start on a table that would let a
 * request skip authentication, limits or payment.
 */

function position(route: Route, name: string): number {
  return route.plugins.findIndex((step) => step.name === name);
}

function checkOrder(route: Route): void {
  const label = `${route.method} ${route.path}`;
  const names = route.plugins.map((step) => step.name);
  const duplicate = names.find((name, i) => names.indexOf(name) !== i);
  if (duplicate) throw new RouteTableError(`${label}: plugin ${duplicate} is listed twice`);
  const proxy = position(route, 'proxy');
  if (proxy === -1) {
    if (position(route, 'balance') !== -1 || position(route, 'debit') !== -1)
      throw new RouteTableError(`${label}: balance and debit only make sense around proxy`);
    return;
  }
  if (!route.protocol || route.method !== 'POST')
    throw new RouteTableError(
      `${label}: a proxied route must be a POST with an endpoint, that is a protocol (${ROUTE_PROTOCOLS.join(', ')})`,
    );
  for (const required of ['auth', 'ratelimit', 'model-access']) {
    const at = position(route, required);
    if (at === -1 || at > proxy) throw new RouteTableError(`${label}: ${required} must come before proxy`);
  }
  if (route.free) {
    if (position(route, 'balance') !== -1 || position(route, 'debit') !== -1)
      throw new RouteTableError(`${label}: a free route must not list balance or debit`);
    return;
  }
  const balance = position(route, 'balance');
  if (balance === -1 || balance > proxy)
    throw new RouteTableError(`${label}: a paid route needs balance before proxy (or "free": true)`);
  for (const required of ['meter', 'debit']) {
    const at = position(route, required);
    if (at === -1 || at < proxy)
      throw new RouteTableError(`${label}: a paid route needs ${required} after proxy (or "free": true)`);
  }
}

export type PluginRegistry = ReadonlyMap<string, PluginDefinition<unknown>>;

export function compileRoutes(routes: readonly Route[], registry: PluginRegistry, services: Services): CompiledRoute[] {
  const seen = new Set<string>();
  return routes.map((route) => {
    const label = `${route.method} ${route.path}`;
    if (seen.has(label)) throw new RouteTableError(`${label}: declared twice`);
    seen.add(label);
    checkOrder(route);
    const plugins: Plugin[] = route.plugins.map((step) => {
      const definition = registry.get(step.name);
      if (!definition)
        throw new RouteTableError(
          `${label}: unknown plugin "${step.name}" (known: ${[...registry.keys()].join(', ')})`,
        );
      let options: unknown;
      try {
        options = definition.parseOptions(step.options ?? {});
      } catch (error) {
        throw new RouteTableError(`${label}: plugin ${step.name}: ${reasonOf(error)}`);
      }
      return definition.create(options, services);
    });
    const handlers = plugins.filter((p) => p.handle);
    if (handlers.length !== 1)
      throw new RouteTableError(`${label}: exactly one plugin must answer the request (found ${handlers.length})`);
    return {
      route,
      plugins,
      handler: handlers[0] as Plugin,
      protocol: route.protocol ? protocolOf(route.protocol) : undefined,
    };
  });
}
