import type { ModelPrice } from '../../core/cost.ts';
import type { ProviderEndpoint } from '../../core/providers.ts';
import type { Db } from '../sql.ts';

export type StoredModel = {
  id: string;
  name: string;
  contextLength: number | null;
  maxCompletionTokens: number | null;
  /** What it takes and gives, as the upstream's catalog says; null when it does not say. */
  inputModalities: string[] | null;
  outputModalities: string[] | null;
  price: ModelPrice;
  /** The providers serving it at their own prices; empty when the upstream lists none. */
  endpoints: ProviderEndpoint[];
  description: string | null;
  updatedAt: Date;
};

type ModelRow = {
  id: string;
  name: string;
  context_length: number | null;
  max_completion_tokens: number | null;
  input_modalities: string[] | null;
  output_modalities: string[] | null;
  prompt_nanos_per_mtok: bigint;
  completion_nanos_per_mtok: bigint;
  request_nanos: bigint;
  image_nanos: bigint;
  web_search_nanos: bigint;
  internal_reasoning_nanos_per_mtok: bigint;
  input_cache_read_nanos_per_mtok: bigint;
  input_cache_write_nanos_per_mtok: bigint;
  endpoints: StoredEndpoint[];
  description: string | null;
  updated_at: Date;
};

const PRICE_KEYS = [
  'promptNanosPerMtok',
  'completionNanosPerMtok',
  'requestNanos',
  'imageNanos',
  'webSearchNanos',
  'internalReasoningNanosPerMtok',
  'inputCacheReadNanosPerMtok',
  'inputCacheWriteNanosPerMtok',
] as const satisfies readonly (keyof ModelPrice)[];

/** An endpoint as JSON: prices as decimal strings, since JSON numbers cannot carry every bigint. */
type StoredEndpoint = { provider: string; tag: string | null; price: Record<string, string> };

function storedEndpoint(endpoint: ProviderEndpoint): StoredEndpoint {
  const price = Object.fromEntries(PRICE_KEYS.map((key) => [key, endpoint.price[key].toString()]));
  return { provider: endpoint.provider, tag: endpoint.tag, price };
}

function endpointFromStored(stored: StoredEndpoint): ProviderEndpoint {
  const price = Object.fromEntries(PRICE_KEYS.map((key) => [key, BigInt(stored.price[key] ?? '0')])) as ModelPrice;
  return { provider: stored.provider, tag: stored.tag, price };
}

export async function listModels(db: Db): Promise<StoredModel[]> {
  const rows = await db<ModelRow[]>`select * from models order by id`;
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    contextLength: row.context_length,
    maxCompletionTokens: row.max_completion_tokens,
    inputModalities: row.input_modalities,
    outputModalities: row.output_modalities,
    price: {
      promptNanosPerMtok: row.prompt_nanos_per_mtok,
      completionNanosPerMtok: row.completion_nanos_per_mtok,
      requestNanos: row.request_nanos,
      imageNanos: row.image_nanos,
      webSearchNanos: row.web_search_nanos,
      internalReasoningNanosPerMtok: row.internal_reasoning_nanos_per_mtok,
      inputCacheReadNanosPerMtok: row.input_cache_read_nanos_per_mtok,
      inputCacheWriteNanosPerMtok: row.input_cache_write_nanos_per_mtok,
    },
    endpoints: row.endpoints.map(endpointFromStored),
    description: row.description,
    updatedAt: row.updated_at,
  }));
}

export type ModelInput = Omit<StoredModel, 'updatedAt' | 'endpoints'>;

const prices = (models: readonly ModelInput[], key: keyof ModelPrice) => models.map((m) => m.price[key].toString());

/**
 * A list per model as one text (postgres.js sends no array of arrays): empty for none, else
 * comma-joined; catalog.ts lets no comma into a name.
 */
const joined = (lists: readonly (string[] | null)[]) => lists.map((list) => (list === null ? '' : list.join(',')));

/** Upserts the catalog as the upstream lists it now; models it no longer lists are kept for history. */
export async function upsertModels(db: Db, models: readonly ModelInput[]): Promise<void> {
  if (models.length === 0) return;
  await db`
    insert into models (id, name, context_length, max_completion_tokens, prompt_nanos_per_mtok, completion_nanos_per_mtok,
      request_nanos, image_nanos, web_search_nanos, internal_reasoning_nanos_per_mtok, input_cache_read_nanos_per_mtok,
      input_cache_write_nanos_per_mtok, description, input_modalities, output_modalities, updated_at)
    select id, name, ctx, maxc, p, c, r, i, ws, ir, cr, cw, d,
      case when im = '' then null else string_to_array(im, ',') end,
      case when om = '' then null else string_to_array(om, ',') end, now()
    from unnest(${models.map((m) => m.id)}::text[], ${models.map((m) => m.name)}::text[],
                ${models.map((m) => m.contextLength)}::int4[], ${models.map((m) => m.maxCompletionTokens)}::int4[],
                ${prices(models, 'promptNanosPerMtok')}::int8[], ${prices(models, 'completionNanosPerMtok')}::int8[],
                ${prices(models, 'requestNanos')}::int8[], ${prices(models, 'imageNanos')}::int8[],
                ${prices(models, 'webSearchNanos')}::int8[], ${prices(models, 'internalReasoningNanosPerMtok')}::int8[],
                ${prices(models, 'inputCacheReadNanosPerMtok')}::int8[], ${prices(models, 'inputCacheWriteNanosPerMtok')}::int8[],
                ${models.map((m) => m.description)}::text[],
                ${joined(models.map((m) => m.inputModalities))}::text[],
                ${joined(models.map((m) => m.outputModalities))}::text[])
      as x(id, name, ctx, maxc, p, c, r, i, ws, ir, cr, cw, d, im, om)
    on conflict (id) do update set name = excluded.name, context_length = excluded.context_length,
      max_completion_tokens = excluded.max_completion_tokens, prompt_nanos_per_mtok = excluded.prompt_nanos_per_mtok,
      completion_nanos_per_mtok = excluded.completion_nanos_per_mtok, request_nanos = excluded.request_nanos,
      image_nanos = excluded.image_nanos, web_search_nanos = excluded.web_search_nanos,
      internal_reasoning_nanos_per_mtok = excluded.internal_reasoning_nanos_per_mtok,
      input_cache_read_nanos_per_mtok = excluded.input_cache_read_nanos_per_mtok,
      input_cache_write_nanos_per_mtok = excluded.input_cache_write_nanos_per_mtok,
      description = excluded.description, input_modalities = excluded.input_modalities,
      output_modalities = excluded.output_modalities, updated_at = now()`;
}

/** Replaces the provider lists of these models (those the upstream answered for). */
export async function setModelEndpoints(
  db: Db,
  lists: readonly { modelId: string; endpoints: readonly ProviderEndpoint[] }[],
): Promise<void> {
  if (lists.length === 0) return;
  const rows = lists.map((l) => ({ id: l.modelId, endpoints: l.endpoints.map(storedEndpoint) }));
  await db`
    update models set endpoints = x.endpoints
    from jsonb_to_recordset(${JSON.stringify(rows)}::text::jsonb) as x(id text, endpoints jsonb)
    where models.id = x.id`;
}
