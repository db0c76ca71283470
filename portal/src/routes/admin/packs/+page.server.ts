import { ApiError, gql } from '$lib/server/api';
import type { Money } from '$lib/types';
import type { PageServerLoad } from './$types';

type Pack = { id: string; name: string; price: Money; credit: Money; bonus: Money; active: boolean };

/** Credit packs belong to the Stripe part of the API; without it the page says so. */
export const load: PageServerLoad = async (event) => {
  try {
    const { creditPacks } = await gql<{ creditPacks: Pack[] }>(event, 'query AdminPacks { creditPacks { id name price { nanos usd } credit { nanos usd } bonus { nanos usd } } }');
    return { packs: creditPacks, unavailable: null };
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return { packs: [] as Pack[], unavailable: error.code === 'UNKNOWN_FIELD' ? 'Credit packs are not available on this service yet (payments are not configured).' : error.message };
  }
};
