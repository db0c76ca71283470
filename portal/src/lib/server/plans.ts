import { redirect, type RequestEvent } from '@sveltejs/kit';
import type { Plans } from '$lib/plans';
import { ApiError, gql } from './api';
import { failure, fields } from './forms';
import { requireAccount } from './viewer';

/**
 * The billing page's monthly plans: what is offered, the account's subscription with its invoices,
 * and the actions that subscribe (through Stripe Checkout), cancel, resume and change plan.
 */

const MONEY = '{ nanos usd }';
const PLAN = `id name price ${MONEY} credit ${MONEY} bonus ${MONEY}`;
const PLANS = `query Plans {
  plans { ${PLAN} }
  planCreditRollover
  planSubscription {
    status cancelAtPeriodEnd currentPeriodEnd endedAt paymentFailure plan { ${PLAN} }
    invoices(first: 6) { invoiceId status credit ${MONEY} unusedRemoved ${MONEY} failureReason createdAt }
  }
}`;

type PlansAnswer = { plans: Plans['plans']; planCreditRollover: boolean; planSubscription: Plans['subscription'] };

/** Null when the API has no plans (an older server): the page then leaves the section out. */
export async function loadPlans(event: RequestEvent): Promise<Plans | null> {
  try {
    const data = await gql<PlansAnswer>(event, PLANS);
    return { plans: data.plans, subscription: data.planSubscription, rollover: data.planCreditRollover };
  } catch (error) {
    if (error instanceof ApiError && error.code === 'UNKNOWN_FIELD') return null;
    throw error;
  }
}

async function subscribe(event: RequestEvent) {
  requireAccount(event);
  const { plan } = await fields(event.request, ['plan'] as const);
  let url: string;
  try {
    const data = await gql<{ subscribeToPlan: { url: string } }>(event, 'mutation Subscribe($p: ID!) { subscribeToPlan(planId: $p) { url } }', { p: plan });
    url = data.subscribeToPlan.url;
  } catch (error) {
    return failure(error, {}, 'plan');
  }
  redirect(303, url);
}

function planMutation(mutation: string, done: string, withPlan: boolean) {
  return async (event: RequestEvent) => {
    requireAccount(event);
    const { plan } = await fields(event.request, ['plan'] as const);
    try {
      await gql(event, mutation, withPlan ? { p: plan } : {});
      return { action: 'plan', done };
    } catch (error) {
      return failure(error, {}, 'plan');
    }
  };
}

export const planActions = {
  subscribe,
  cancelPlan: planMutation('mutation { cancelPlan { status } }', 'Your plan is cancelled: it ends with the month you paid for.', false),
  resumePlan: planMutation('mutation { resumePlan { status } }', 'Your plan continues: it renews as before.', false),
  changePlan: planMutation('mutation Change($p: ID!) { changePlan(planId: $p) { status } }', 'Plan changed: the new plan starts at your next renewal.', true),
};
