import { gql } from '$lib/server/api';
import { requireAccount } from '$lib/server/viewer';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async (event) => {
  requireAccount(event);
  const { models } = await gql<{ models: { id: string; name: string; price: { promptPerMillionTokens: { nanos: string }; completionPerMillionTokens: { nanos: string } } }[] }>(
    event,
    'query PlaygroundModels { models { id name price { promptPerMillionTokens { nanos } completionPerMillionTokens { nanos } } } }',
  );
  // Embedding-only models cannot chat; they have no completion price.
  return { models: models.filter((m) => m.price.completionPerMillionTokens.nanos !== '0') };
};
