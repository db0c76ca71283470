import { gql, type ApiCaller } from '$lib/server/api';
import { failure, fields, invalid } from '$lib/server/forms';
import { requireAccount } from '$lib/server/viewer';
import type { Money } from '$lib/types';
import type { Actions, PageServerLoad } from './$types';

/**
 * Low-balance alerts: an e-mail when the balance falls below an amount or below a share of the
 * last top-up, once per crossing. The API replaces the whole list, so adding and removing one
 * alert both send the list as it should become.
 */

export type Alert = { amount: Money | null; shareBps: number | null; armed: boolean };

const USD_AMOUNT = /^\d{1,9}(\.\d{1,2})?$/;
const PERCENT = /^\d{1,3}(\.\d{1,2})?$/;
const MAX_SHARE_BPS = 10_000;

const LIST = '{ viewer { account { balance { available { nanos usd } } balanceThresholds { amount { nanos usd } shareBps armed } } } }';
const SET = `mutation SetAlerts($amounts: [AmountInput!]!, $shares: [Int!]) {
  setBalanceThresholds(amounts: $amounts, sharesBps: $shares) { armed }
}`;

type List = { viewer: { account: { balance: { available: Money }; balanceThresholds: Alert[] } | null } | null };

async function current(event: ApiCaller): Promise<Alert[]> {
  const data = await gql<List>(event, LIST);
  return data.viewer?.account?.balanceThresholds ?? [];
}

/** The alerts as the mutation takes them: amounts by their exact nanos, shares by basis points. */
type AlertsInput = { amounts: ({ nanos: string } | { usd: string })[]; shares: number[] };

function asInput(alerts: Alert[]): AlertsInput {
  return {
    amounts: alerts.flatMap((a) => (a.shareBps === null && a.amount ? [{ nanos: a.amount.nanos }] : [])),
    shares: alerts.flatMap((a) => (a.shareBps === null ? [] : [a.shareBps])),
  };
}

const keyOf = (alert: Alert) => (alert.shareBps === null ? `usd:${alert.amount?.nanos}` : `share:${alert.shareBps}`);

export const load: PageServerLoad = async (event) => {
  requireAccount(event);
  const data = await gql<List>(event, LIST);
  const account = data.viewer?.account;
  return {
    balance: account?.balance.available ?? null,
    alerts: (account?.balanceThresholds ?? []).map((alert) => ({ ...alert, key: keyOf(alert) })),
  };
};

export const actions: Actions = {
  add: async (event) => {
    requireAccount(event);
    const values = await fields(event.request, ['kind', 'value'] as const);
    const value = values.value.replace(/^\$|%$/g, '');
    const alerts = await current(event);
    const input = asInput(alerts);
    if (values.kind === 'share') {
      if (!PERCENT.test(value)) return invalid('value', 'Enter the share as a percentage, like 20 or 12.5.', values, 'add');
      const bps = Math.round(Number(value) * 100);
      if (bps < 1 || bps > MAX_SHARE_BPS) return invalid('value', 'A share is more than 0% and at most 100% of the last top-up.', values, 'add');
      input.shares.push(bps);
    } else {
      if (!USD_AMOUNT.test(value) || Number(value) <= 0) return invalid('value', 'Enter an amount in dollars, like 5 or 2.50.', values, 'add');
      input.amounts.push({ usd: value });
    }
    try {
      await gql(event, SET, input);
      return { action: 'add', done: 'Alert added.' };
    } catch (error) {
      return failure(error, values, 'add');
    }
  },
  remove: async (event) => {
    requireAccount(event);
    const { key } = await fields(event.request, ['key'] as const);
    const alerts = await current(event);
    try {
      await gql(event, SET, asInput(alerts.filter((alert) => keyOf(alert) !== key)));
      return { action: 'remove', done: 'Alert removed.' };
    } catch (error) {
      return failure(error, {}, 'remove');
    }
  },
};
