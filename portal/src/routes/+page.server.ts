import { ApiError, gql } from '$lib/server/api';
import { customerBaseUrl } from '$lib/server/config';
import type { Model } from '$lib/types';
import type { PageServerLoad } from './$types';

const MODELS = `query LandingModels {
  models { id name description contextLength price { promptPerMillionTokens { nanos usd } completionPerMillionTokens { nanos usd } perRequest { nanos usd } perImage { nanos usd } } }
}`;

export const load: PageServerLoad = async (event) => {
  try {
    const { models } = await gql<{ models: Model[] }>(event, MODELS);
    return { models, modelsError: null, baseUrl: customerBaseUrl(event.locals.branding) };
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return { models: [] as Model[], modelsError: error.message, baseUrl: customerBaseUrl(event.locals.branding) };
  }
};
