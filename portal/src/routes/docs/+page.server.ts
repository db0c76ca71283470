import { ApiError, gql } from '$lib/server/api';
import { customerBaseUrl } from '$lib/server/config';
import type { PageServerLoad } from './$types';

const CATALOG = `query DocsModels { models { id price { completionPerMillionTokens { nanos } } } }`;
const FALLBACK_MODEL = 'openai/gpt-4o-mini';

/** The docs are public: the base URL and an example model are all they need from the API. */
export const load: PageServerLoad = async (event) => {
  let model = FALLBACK_MODEL;
  try {
    const { models } = await gql<{
      models: { id: string; price: { completionPerMillionTokens: { nanos: string } } }[];
    }>(event, CATALOG);
    model = models.find((m) => m.price.completionPerMillionTokens.nanos !== '0')?.id ?? FALLBACK_MODEL;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
  }
  return { baseUrl: customerBaseUrl(event.locals.branding), model };
};
