import type { Money } from './types';

/** Monthly plans as the billing page selects them from the API. */

export type Plan = { id: string; name: string; price: Money; credit: Money; bonus: Money };

export type PlanInvoice = { invoiceId: string; status: 'PAID' | 'FAILED' | 'MISMATCH' | 'ENDED'; credit: Money; unusedRemoved: Money; failureReason: string | null; createdAt: string };

export type PlanSubscription = {
  status: 'OPEN' | 'EXPIRED' | 'INCOMPLETE' | 'ACTIVE' | 'PAST_DUE' | 'CANCELED';
  cancelAtPeriodEnd: boolean;
  currentPeriodEnd: string | null;
  endedAt: string | null;
  paymentFailure: string | null;
  plan: Plan;
  invoices: PlanInvoice[];
};

export type Plans = { plans: Plan[]; subscription: PlanSubscription | null; rollover: boolean };

/** A subscription that still bills: the page offers change and cancel instead of subscribe. */
export const isLive = (subscription: PlanSubscription | null): subscription is PlanSubscription =>
  subscription !== null && (subscription.status === 'ACTIVE' || subscription.status === 'PAST_DUE' || subscription.status === 'INCOMPLETE');
