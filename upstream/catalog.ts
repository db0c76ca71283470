import { FEMTOS_PER_NANO, usdPerTokenToNanosPerMtok } from '../core/money.ts';
import { ceilDiv } from '../core/pricing.ts';
import { listModels, upsertModels, type ModelInput, type StoredModel } from '../db/queries/models.ts';
import type { Sql } from '../db/sql.ts';
import { type Logger, reasonOf } from '../app/log.ts';

/**
 * The model catalog: the upstream's model list with prices, kept in PostgreSQL (so every replica
 * prices alike) and in memory (so the request path never waits for it). Refreshed in the
 * background from the upstream's `/models`, and re-read from the database between refreshes.
 */

export type CatalogModel = StoredModel;

export const CATALOG_RELOAD_INTERVAL_MS = 30_000;
export const UPSTREAM_REFRESH_INTERVAL_MS = 10 * 60_000;
const UPSTREAM_TIMEOUT_MS = 15_000;

type UpstreamModel = {
  id?: unknown;
  name?: unknown;
  description?: unknown;
  context_length?: unknown;
  pricing?: { prompt?: unknown; completion?: unknown; request?: unknown; image?: unknown };
  top_provider?: { max_completion_tokens?: unknown };
};

function integerOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : null;
}

function price(value: unknown): bigint | undefined {
  if (value === undefined || value === null) return 0n;
  return typeof value === 'string' || typeof value === 'number' ? usdPerTokenToNanosPerMtok(String(value)) : undefined;
}

/** Turns one entry of an OpenRouter-style `/models` answer into a catalog row, or undefined if unusable. */
export function modelFromUpstream(entry: UpstreamModel): ModelInput | undefined {
  if (typeof entry.id !== 'string' || entry.id.length === 0) return undefined;
  const prompt = price(entry.pricing?.prompt);
  const completion = price(entry.pricing?.completion);
  const request = price(entry.pricing?.request);
  const image = price(entry.pricing?.image);
  // Negative prices (OpenRouter uses -1 for "variable", e.g. its auto router) cannot be held safely.
  if (prompt === undefined || completion === undefined || request === undefined || image === undefined)
    return undefined;
  return {
    id: entry.id,
    name: typeof entry.name === 'string' ? entry.name : entry.id,
    description: typeof entry.description === 'string' ? entry.description : null,
    contextLength: integerOrNull(entry.context_length),
    maxCompletionTokens: integerOrNull(entry.top_provider?.max_completion_tokens),
    // Per-request and per-image prices are per item, not per token: scale back from per-Mtok.
    price: {
      promptNanosPerMtok: prompt,
      completionNanosPerMtok: completion,
      requestNanos: ceilDiv(request, FEMTOS_PER_NANO),
      imageNanos: ceilDiv(image, FEMTOS_PER_NANO),
    },
  };
}

export type Catalog = {
  get(id: string): CatalogModel | undefined;
  list(): CatalogModel[];
  reload(): Promise<void>;
  refreshFromUpstream(): Promise<number>;
  stop(): void;
};

export type CatalogOptions = {
  sql: Sql;
  upstreamBaseUrl: string;
  upstreamApiKey: string | undefined;
  log: Logger;
  background: boolean;
};

export async function createCatalog(options: CatalogOptions): Promise<Catalog> {
  let models = new Map<string, CatalogModel>();
  const reload = async () => {
    models = new Map((await listModels(options.sql)).map((m) => [m.id, m]));
  };
  const refreshFromUpstream = async (): Promise<number> => {
    const headers: Record<string, string> = options.upstreamApiKey
      ? { authorization: `Bearer ${options.upstreamApiKey}` }
      : {};
    const response = await fetch(`${options.upstreamBaseUrl}/models`, {
      headers,
      signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
    });
    if (!response.ok) throw new Error(`the upstream answered ${response.status} for /models`);
    const payload = (await response.json()) as { data?: unknown };
    const entries = Array.isArray(payload.data) ? (payload.data as UpstreamModel[]) : [];
    const rows = entries.map(modelFromUpstream).filter((m): m is ModelInput => m !== undefined);
    await upsertModels(options.sql, rows);
    await reload();
    return rows.length;
  };
  await reload();
  const timers: Timer[] = [];
  if (options.background) {
    let warned = false;
    const refresh = () =>
      refreshFromUpstream().then(
        (count) => {
          warned = false;
          options.log.info('catalog refreshed', { models: count });
        },
        (error: unknown) => {
          if (!warned)
            options.log.warn('catalog refresh failed; serving the stored catalog', {
              reason: reasonOf(error),
            });
          warned = true;
        },
      );
    void refresh();
    timers.push(
      setInterval(refresh, UPSTREAM_REFRESH_INTERVAL_MS),
      setInterval(() => void reload().catch(() => {}), CATALOG_RELOAD_INTERVAL_MS),
    );
  }
  return {
    get: (id) => models.get(id),
    list: () => [...models.values()],
    reload,
    refreshFromUpstream,
    stop: () => timers.forEach(clearInterval),
  };
}
