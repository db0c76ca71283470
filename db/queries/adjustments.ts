import { inTransaction, type Db } from '../sql.ts';
import { recordTransfer, type Funding } from './transfers.ts';

/**
 * Admin adjustments: credit given or taken back by hand, as an `adjustment` transfer between the
 * wallet and the tenant's adjustment book. The cause is the admin's idempotency key, so a retried
 * request applies once. Taking credit back never takes a wallet below zero available (posted
 * minus held) nor below zero in the funding it draws on: the check runs under the wallet's row lock.
 */

export type Adjustment = {
  walletId: bigint;
  /** The tenant book on the other side of the entry. */
  counterWalletId: bigint;
  amountNanos: bigint;
  funding: Funding;
  cause: string;
  memo: Record<string, string>;
};

export type AdjustmentOutcome =
  | { status: 'applied'; transferId: bigint }
  | { status: 'replayed'; transferId: bigint; memo: Record<string, unknown> }
  | { status: 'insufficient_credit'; availableNanos: bigint };

export async function adjustWallet(db: Db, adjustment: Adjustment): Promise<AdjustmentOutcome> {
  return inTransaction(db, async (tx) => {
    const replay = async (transferId: bigint | undefined): Promise<AdjustmentOutcome | undefined> => {
      const [previous] = await tx<{ id: bigint; memo: Record<string, unknown> }[]>`
        select id, memo from transfers where kind = 'adjustment' and ${transferId === undefined ? tx`cause = ${adjustment.cause}` : tx`id = ${transferId.toString()}::int8`}`;
      return previous ? { status: 'replayed', transferId: previous.id, memo: previous.memo } : undefined;
    };
    // A replay is answered as such even if the credit it once moved has been spent since.
    const earlier = await replay(undefined);
    if (earlier) return earlier;
    if (adjustment.amountNanos < 0n) {
      const [wallet] = await tx<{ paid_nanos: bigint; granted_nanos: bigint; held_nanos: bigint }[]>`
        select paid_nanos, granted_nanos, held_nanos from wallets where id = ${adjustment.walletId.toString()}::int8 for update`;
      if (!wallet) throw new Error(`wallet ${adjustment.walletId} does not exist`);
      const available = wallet.paid_nanos + wallet.granted_nanos - wallet.held_nanos;
      const bucket = adjustment.funding === 'paid' ? wallet.paid_nanos : wallet.granted_nanos;
      const limit = bucket < available ? bucket : available;
      if (limit < -adjustment.amountNanos)
        return { status: 'insufficient_credit', availableNanos: limit < 0n ? 0n : limit };
    }
    const result = await recordTransfer(tx, {
      kind: 'adjustment',
      cause: adjustment.cause,
      memo: adjustment.memo,
      entries: [
        { walletId: adjustment.walletId, funding: adjustment.funding, amountNanos: adjustment.amountNanos },
        { walletId: adjustment.counterWalletId, funding: adjustment.funding, amountNanos: -adjustment.amountNanos },
      ],
    });
    if (result.applied) return { status: 'applied', transferId: result.transferId };
    const raced = await replay(result.transferId);
    if (!raced) throw new Error(`adjustment ${adjustment.cause} vanished after a conflict`);
    return raced;
  });
}
