import { redirect } from '@sveltejs/kit';
import { gql, pageQuery } from '$lib/server/api';
import { failure, fields, invalid } from '$lib/server/forms';
import { loadPlans, planActions } from '$lib/server/plans';
import { requireAccount } from '$lib/server/viewer';
import type { Balance, Connection, Money } from '$lib/types';
import type { Actions, PageServerLoad } from './$types';

const HISTORY_SIZE = 20;
const USD_AMOUNT = /^\d{1,9}(\.\d{1,2})?$/;

export type Pack = { id: string; name: string; price: Money; credit: Money; bonus: Money };
export type Payment = {
  id: string;
  createdAt: string;
  description: string;
  kind: 'CHECKOUT' | 'AUTO_TOP_UP';
  status: 'EXPIRED' | 'FAILED' | 'MISMATCH' | 'OPEN' | 'PAID' | 'PROCESSING';
  price: Money;
  credit: Money;
  creditRemaining: Money;
  receiptUrl: string | null;
  failureReason: string | null;
};
export type LedgerRow = { id: string; createdAt: string; kind: string; amount: Money; funding: string; reason: string | null };
type AutoTopUp = { enabled: boolean; threshold: Money | null; periodHours: number | null; savedCard: boolean; lastAttemptAt: string | null; pack: { id: string; name: string } | null };

const MONEY = '{ nanos usd }';
const OVERVIEW = `query Billing($first: Int!, $after: String) {
  viewer { account { balance { available ${MONEY} held ${MONEY} paid ${MONEY} granted ${MONEY} } } }
  purchaseOptions { stripeAvailable customAmount { minimum ${MONEY} maximum ${MONEY} } packs { id name price ${MONEY} credit ${MONEY} bonus ${MONEY} } }
  payments(first: $first, after: $after) {
    edges { node { id createdAt description kind status price ${MONEY} credit ${MONEY} creditRemaining ${MONEY} receiptUrl failureReason } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
  ledgerEntries(first: 10, kinds: [ADJUSTMENT, GRANT]) { edges { node { id createdAt kind amount ${MONEY} funding reason } } }
  autoTopUp { enabled threshold ${MONEY} periodHours savedCard lastAttemptAt pack { id name } }
}`;

type Overview = {
  viewer: { account: { balance: Balance } | null } | null;
  purchaseOptions: { stripeAvailable: boolean; customAmount: { minimum: Money; maximum: Money } | null; packs: Pack[] };
  payments: Connection<Payment>;
  ledgerEntries: Connection<LedgerRow>;
  autoTopUp: AutoTopUp;
};

export const load: PageServerLoad = async (event) => {
  requireAccount(event);
  const [data, plans] = await Promise.all([pageQuery<Overview>(event, OVERVIEW, { first: HISTORY_SIZE, after: event.url.searchParams.get('after') }), loadPlans(event)]);
  return {
    plans,
    balance: data.viewer?.account?.balance ?? null,
    options: data.purchaseOptions,
    payments: data.payments.edges.map((e) => e.node),
    pageInfo: data.payments.pageInfo,
    adjustments: data.ledgerEntries.edges.map((e) => e.node),
    autoTopUp: data.autoTopUp,
  };
};

export const actions: Actions = {
  ...planActions,
  buy: async (event) => {
    requireAccount(event);
    const { pack, amount, saveCard } = await fields(event.request, ['pack', 'amount', 'saveCard'] as const);
    const custom = amount.replace(/^\$/, '');
    if (!pack && !USD_AMOUNT.test(custom)) return invalid('amount', 'Enter an amount in dollars and cents, like 25 or 12.50.', { amount }, 'buy');
    let url: string;
    try {
      const data = await gql<{ startCheckout: { url: string } }>(
        event,
        'mutation Buy($pack: ID, $amount: AmountInput, $save: Boolean) { startCheckout(packId: $pack, customAmount: $amount, saveCard: $save) { url } }',
        { pack: pack || null, amount: pack ? null : { usd: custom }, save: saveCard === 'on' },
      );
      url = data.startCheckout.url;
    } catch (error) {
      return failure(error, { amount }, 'buy');
    }
    redirect(303, url);
  },
  autoTopUp: async (event) => {
    requireAccount(event);
    const values = await fields(event.request, ['enabled', 'pack', 'threshold', 'periodHours'] as const);
    const threshold = values.threshold.replace(/^\$/, '');
    if (!values.pack) return invalid('packId', 'Pick the pack to buy.', values, 'autoTopUp');
    if (!USD_AMOUNT.test(threshold)) return invalid('threshold', 'Enter the threshold in dollars, like 5.', values, 'autoTopUp');
    const periodHours = values.periodHours ? Number(values.periodHours) : 24;
    if (!Number.isInteger(periodHours) || periodHours < 1) return invalid('periodHours', 'Use a whole number of hours.', values, 'autoTopUp');
    try {
      await gql(event, 'mutation AutoTopUp($input: AutoTopUpInput!) { setAutoTopUp(input: $input) { enabled } }', {
        input: { enabled: values.enabled === 'on', packId: values.pack, threshold: { usd: threshold }, periodHours },
      });
      return { action: 'autoTopUp', done: values.enabled === 'on' ? 'Auto top-up is on.' : 'Auto top-up is off.' };
    } catch (error) {
      return failure(error, values, 'autoTopUp');
    }
  },
};
