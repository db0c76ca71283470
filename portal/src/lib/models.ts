import type { Model } from './types';

/**
 * The models page's catalog: what the API tells about a model, what it takes and gives (as the
 * upstream's catalog says, else read from its prices), search and sort.
 */

export type CatalogModel = Model & {
  maxCompletionTokens: number | null;
  inputModalities: string[] | null;
  outputModalities: string[] | null;
};

export const MODEL_SORTS = [
  { id: 'name', label: 'Name' },
  { id: 'prompt', label: 'Input price, lowest first' },
  { id: 'completion', label: 'Output price, lowest first' },
  { id: 'context', label: 'Context, longest first' },
] as const;
export type ModelSort = (typeof MODEL_SORTS)[number]['id'];

/**
 * The catalog's own lists when it has them; else inferred: a model with no output price only
 * embeds, one with an image price also reads images.
 */
export function modalities(model: CatalogModel): { input: string[]; output: string[] } {
  const embeds = BigInt(model.price.completionPerMillionTokens.nanos) === 0n;
  const images = BigInt(model.price.perImage.nanos) > 0n;
  return {
    input: model.inputModalities ?? (images ? ['text', 'image'] : ['text']),
    output: model.outputModalities ?? (embeds ? ['embeddings'] : ['text']),
  };
}

export function canChat(model: Model): boolean {
  return BigInt(model.price.completionPerMillionTokens.nanos) > 0n;
}

function compareNanos(a: { nanos: string }, b: { nanos: string }): number {
  const difference = BigInt(a.nanos) - BigInt(b.nanos);
  return difference < 0n ? -1 : difference > 0n ? 1 : 0;
}

const ORDER: Record<ModelSort, (a: CatalogModel, b: CatalogModel) => number> = {
  name: (a, b) => a.name.localeCompare(b.name),
  prompt: (a, b) => compareNanos(a.price.promptPerMillionTokens, b.price.promptPerMillionTokens),
  completion: (a, b) => compareNanos(a.price.completionPerMillionTokens, b.price.completionPerMillionTokens),
  context: (a, b) => (b.contextLength ?? 0) - (a.contextLength ?? 0),
};

/** The models matching the search (id, name or description), in the chosen order; ties by name. */
export function findModels(models: readonly CatalogModel[], search: string, sort: ModelSort): CatalogModel[] {
  const needle = search.trim().toLowerCase();
  const matching = needle
    ? models.filter((m) => [m.id, m.name, m.description ?? ''].some((text) => text.toLowerCase().includes(needle)))
    : [...models];
  return matching.sort((a, b) => ORDER[sort](a, b) || a.name.localeCompare(b.name));
}
