import { redirect } from '@sveltejs/kit';
import { ApiError, gql } from '$lib/server/api';
import { failure, fields } from '$lib/server/forms';
import { requireAccount } from '$lib/server/viewer';
import type { Balance, Connection, Money } from '$lib/types';
import type { Actions, PageServerLoad } from './$types';

const HISTORY_SIZE = 25;

const OVERVIEW = `query Billing($first: Int!, $after: String) {
  viewer { account { balance { available { nanos usd } held { nanos usd } paid { nanos usd } granted { nanos usd } } } }
  ledgerEntries(first: $first, after: $after, kinds: [PURCHASE, REFUND, DISPUTE, DISPUTE_WON, ADJUSTMENT, GRANT, SUBSCRIPTION]) {
    edges { node { id createdAt kind amount { nanos usd } funding cause reason } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}`;

/** Credit packs come from the Stripe part of the API; an API without it answers UNKNOWN_FIELD. */
const PACKS = `query CreditPacks { creditPacks { id name price { nanos usd } credit { nanos usd } bonus { nanos usd } } }`;

export type LedgerRow = { id: string; createdAt: string; kind: string; amount: Money; funding: string; cause: string; reason: string | null };
export type Pack = { id: string; name: string; price: Money; credit: Money; bonus: Money };

export const load: PageServerLoad = async (event) => {
  requireAccount(event);
  const data = await gql<{ viewer: { account: { balance: Balance } | null } | null; ledgerEntries: Connection<LedgerRow> }>(event, OVERVIEW, {
    first: HISTORY_SIZE,
    after: event.url.searchParams.get('after'),
  });
  let packs: Pack[] = [];
  let purchases: { available: boolean; reason: string | null } = { available: true, reason: null };
  try {
    packs = (await gql<{ creditPacks: Pack[] }>(event, PACKS)).creditPacks;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    purchases = { available: false, reason: error.code === 'UNKNOWN_FIELD' ? 'Online purchases are not available on this service yet.' : error.message };
  }
  return {
    balance: data.viewer?.account?.balance ?? null,
    history: data.ledgerEntries.edges.map((e) => e.node),
    pageInfo: data.ledgerEntries.pageInfo,
    packs,
    purchases,
  };
};

export const actions: Actions = {
  buy: async (event) => {
    requireAccount(event);
    const { pack } = await fields(event.request, ['pack'] as const);
    let url: string;
    try {
      const data = await gql<{ startCheckout: { url: string } }>(event, `mutation Buy($pack: ID!) { startCheckout(packId: $pack) { url } }`, { pack });
      url = data.startCheckout.url;
    } catch (error) {
      return failure(error, { pack }, 'buy');
    }
    redirect(303, url);
  },
};
