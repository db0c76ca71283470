import type { ModelPrice } from '../../core/cost.ts';
import type { Db } from '../sql.ts';

export type StoredModel = {
  id: string;
  name: string;
  contextLength: number | null;
  maxCompletionTokens: number | null;
  price: ModelPrice;
  description: string | null;
  updatedAt: Date;
};

type ModelRow = {
  id: string;
  name: string;
  context_length: number | null;
  max_completion_tokens: number | null;
  prompt_nanos_per_mtok: bigint;
  completion_nanos_per_mtok: bigint;
  request_nanos: bigint;
  image_nanos: bigint;
  description: string | null;
  updated_at: Date;
};

export async function listModels(db: Db): Promise<StoredModel[]> {
  const rows = await db<ModelRow[]>`select * from models order by id`;
  return rows.map((row) => ({
    id: row.id,
    name: row.name,
    contextLength: row.context_length,
    maxCompletionTokens: row.max_completion_tokens,
    price: {
      promptNanosPerMtok: row.prompt_nanos_per_mtok,
      completionNanosPerMtok: row.completion_nanos_per_mtok,
      requestNanos: row.request_nanos,
      imageNanos: row.image_nanos,
    },
    description: row.description,
    updatedAt: row.updated_at,
  }));
}

export type ModelInput = Omit<StoredModel, 'updatedAt'>;

/** Upserts the catalog as the upstream lists it now; models it no longer lists are kept for history. */
export async function upsertModels(db: Db, models: readonly ModelInput[]): Promise<void> {
  if (models.length === 0) return;
  await db`
    insert into models (id, name, context_length, max_completion_tokens, prompt_nanos_per_mtok, completion_nanos_per_mtok, request_nanos, image_nanos, description, updated_at)
    select id, name, ctx, maxc, p, c, r, i, d, now()
    from unnest(${models.map((m) => m.id)}::text[], ${models.map((m) => m.name)}::text[],
                ${models.map((m) => m.contextLength)}::int4[], ${models.map((m) => m.maxCompletionTokens)}::int4[],
                ${models.map((m) => m.price.promptNanosPerMtok.toString())}::int8[], ${models.map((m) => m.price.completionNanosPerMtok.toString())}::int8[],
                ${models.map((m) => m.price.requestNanos.toString())}::int8[], ${models.map((m) => m.price.imageNanos.toString())}::int8[],
                ${models.map((m) => m.description)}::text[]) as x(id, name, ctx, maxc, p, c, r, i, d)
    on conflict (id) do update set name = excluded.name, context_length = excluded.context_length,
      max_completion_tokens = excluded.max_completion_tokens, prompt_nanos_per_mtok = excluded.prompt_nanos_per_mtok,
      completion_nanos_per_mtok = excluded.completion_nanos_per_mtok, request_nanos = excluded.request_nanos,
      image_nanos = excluded.image_nanos, description = excluded.description, updated_at = now()`;
}
