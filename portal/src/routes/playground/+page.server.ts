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
  const chat = models.filter((m) => m.price.completionPerMillionTokens.nanos !== '0');
  // "Try in playground" on the models page names the model to start with.
  const wanted = event.url.searchParams.get('model');
  return { models: chat, initialModel: chat.find((m) => m.id === wanted)?.id ?? chat[0]?.id ?? '' };
};
