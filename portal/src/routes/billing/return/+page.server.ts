import { gql } from '$lib/server/api';
import { requireAccount } from '$lib/server/viewer';
import type { Balance, Connection, Money } from '$lib/types';
import type { PageServerLoad } from './$types';

/**
 * Where Stripe Checkout sends the customer back (`?session_id=…`). The credit arrives with the
 * signed webhook, usually within seconds: the purchase's ledger entry names the Checkout Session
 * as its cause, so the page knows when this payment (not just any change) has landed.
 */

const RECENT_PURCHASES = 10;

export const load: PageServerLoad = async (event) => {
  requireAccount(event);
  const data = await gql<{ viewer: { account: { balance: Balance } | null } | null; ledgerEntries: Connection<{ cause: string; amount: Money }> }>(
    event,
    `query ReturnBalance($first: Int!) {
      viewer { account { balance { available { nanos usd } held { nanos usd } paid { nanos usd } granted { nanos usd } } } }
      ledgerEntries(first: $first, kinds: [PURCHASE]) { edges { node { cause amount { nanos usd } } } }
    }`,
    { first: RECENT_PURCHASES },
  );
  const sessionId = event.url.searchParams.get('session_id');
  const credited = sessionId ? data.ledgerEntries.edges.filter((e) => e.node.cause.includes(sessionId)).map((e) => e.node.amount) : [];
  const total = credited.reduce((sum, amount) => sum + BigInt(amount.nanos), 0n);
  return {
    balance: data.viewer?.account?.balance ?? null,
    cancelled: event.url.searchParams.get('status') === 'cancelled',
    arrivedNanos: credited.length > 0 ? total.toString() : null,
  };
};
