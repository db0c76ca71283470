import { ApiError, gql } from '$lib/server/api';
import { requireAccount } from '$lib/server/viewer';
import type { Balance, Money } from '$lib/types';
import type { PageServerLoad } from './$types';

/**
 * Where Stripe Checkout sends the customer back (`?session_id=…`, or `?status=cancelled`). The
 * credit arrives with Stripe's signed webhook, usually within seconds of the redirect; the page
 * shows this payment's status and follows the balance live until it is credited.
 */

type Payment = { status: string; credit: Money; description: string; failureReason: string | null };

export const load: PageServerLoad = async (event) => {
  requireAccount(event);
  const sessionId = event.url.searchParams.get('session_id');
  const { viewer } = await gql<{ viewer: { account: { balance: Balance } | null } | null }>(
    event,
    'query ReturnBalance { viewer { account { balance { available { nanos usd } held { nanos usd } paid { nanos usd } granted { nanos usd } } } } }',
  );
  let payment: Payment | null = null;
  if (sessionId) {
    try {
      payment = (await gql<{ checkoutPayment: Payment }>(event, 'query ReturnPayment($id: String!) { checkoutPayment(sessionId: $id) { status description failureReason credit { nanos usd } } }', { id: sessionId }))
        .checkoutPayment;
    } catch (error) {
      if (!(error instanceof ApiError) || error.code !== 'NOT_FOUND') throw error;
    }
  }
  return { balance: viewer?.account?.balance ?? null, cancelled: event.url.searchParams.get('status') === 'cancelled', payment };
};
