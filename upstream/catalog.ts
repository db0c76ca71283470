import {
  listModels,
  setModelEndpoints,
  upsertModels,
  type ModelInput,
  type StoredModel,
} from '../db/queries/models.ts';
import { fetchEndpointLists } from './endpoints.ts';
import { priceFromUpstream, type UpstreamPricing } from './pricing.ts';
import type { Sql } from '../db/sql.ts';
import { type Logger, reasonOf } from '../app/log.ts';

/**
 * The model catalog: the upstream's model list with prices, and each model's providers with theirs
 * (upstream/endpoints.ts), kept in PostgreSQL (so every replica prices alike) and in memory (so the
 * request path never waits for it). Refreshed in the background from the upstream's `/models`, and
 * re-read from the database between refreshes.
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
  pricing?: UpstreamPricing;
  top_provider?: { max_completion_tokens?: unknown };
  architecture?: { input_modalities?: unknown; output_modalities?: unknown; modality?: unknown };
};

/** Bounds on what a catalog entry may list as its modalities, so one odd entry cannot bloat every page. */
const MAX_MODALITIES = 8;
const MODALITY = /^[a-z][a-z0-9_-]{0,31}$/;

/** A list of modality names ("text", "image", …), or null when the entry gives none worth keeping. */
function modalityList(value: unknown): string[] | null {
  if (!Array.isArray(value)) return null;
  const names = [...new Set(value.filter((name): name is string => typeof name === 'string' && MODALITY.test(name)))];
  return names.length > 0 ? names.slice(0, MAX_MODALITIES) : null;
}

/** OpenRouter's lists, else its older one-string form "text+image->text". */
function modalitiesOf(architecture: UpstreamModel['architecture']): {
  input: string[] | null;
  output: string[] | null;
} {
  const input = modalityList(architecture?.input_modalities);
  const output = modalityList(architecture?.output_modalities);
  if (input || output || typeof architecture?.modality !== 'string') return { input, output };
  const [takes, gives] = architecture.modality.split('->');
  return { input: modalityList(takes?.split('+')), output: modalityList(gives?.split('+')) };
}

function integerOrNull(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : null;
}

/** Turns one entry of an OpenRouter-style `/models` answer into a catalog row, or undefined if unusable. */
export function modelFromUpstream(entry: UpstreamModel): ModelInput | undefined {
  if (typeof entry.id !== 'string' || entry.id.length === 0) return undefined;
  const price = priceFromUpstream(entry.pricing);
  if (!price) return undefined;
  const modalities = modalitiesOf(entry.architecture);
  return {
    id: entry.id,
    name: typeof entry.name === 'string' ? entry.name : entry.id,
    description: typeof entry.description === 'string' ? entry.description : null,
    contextLength: integerOrNull(entry.context_length),
    maxCompletionTokens: integerOrNull(entry.top_provider?.max_completion_tokens),
    inputModalities: modalities.input,
    outputModalities: modalities.output,
    price,
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
    const lists = await fetchEndpointLists(
      options.upstreamBaseUrl,
      headers,
      rows.map((row) => row.id),
    );
    await setModelEndpoints(options.sql, lists);
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
