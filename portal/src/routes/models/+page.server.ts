import { pageQuery } from '$lib/server/api';
import { requireViewer } from '$lib/server/viewer';
import { MODEL_SORTS, type CatalogModel, type ModelSort } from '$lib/models';
import type { PageServerLoad } from './$types';

const MODELS = `query CatalogModels {
  models { id name description contextLength maxCompletionTokens inputModalities outputModalities price { promptPerMillionTokens { nanos usd } completionPerMillionTokens { nanos usd } perRequest { nanos usd } perImage { nanos usd } } }
}`;
/** The search box's limit, the same as the API's for a search. */
const MAX_SEARCH_LENGTH = 200;

export const load: PageServerLoad = async (event) => {
  requireViewer(event);
  const { models } = await pageQuery<{ models: CatalogModel[] }>(event, MODELS);
  const sort = event.url.searchParams.get('sort') ?? '';
  return {
    models,
    q: (event.url.searchParams.get('q') ?? '').slice(0, MAX_SEARCH_LENGTH),
    sort: (MODEL_SORTS.some((s) => s.id === sort) ? sort : 'name') as ModelSort,
  };
};
