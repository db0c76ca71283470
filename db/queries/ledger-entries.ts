import type { Db } from '../sql.ts';
import type { Funding, TransferKind } from './transfers.ts';

/** A wallet's ledger entries with the transfer that caused each, newest first, paged by entry id. */

export type LedgerEntry = {
  id: bigint;
  transferId: bigint;
  kind: TransferKind;
  cause: string;
  memo: Record<string, unknown>;
  funding: Funding;
  amountNanos: bigint;
  createdAt: Date;
};

export type EntryPage = { afterId: bigint | undefined; beforeId: bigint | undefined; limit: number; inverted: boolean };

export async function listWalletEntries(
  db: Db,
  walletId: bigint,
  kinds: readonly TransferKind[] | null,
  page: EntryPage,
): Promise<LedgerEntry[]> {
  const rows = await db<
    {
      id: bigint;
      transfer_id: bigint;
      kind: TransferKind;
      cause: string;
      memo: Record<string, unknown>;
      funding: Funding;
      amount_nanos: bigint;
      created_at: Date;
    }[]
  >`
    select e.id, e.transfer_id, t.kind, t.cause, t.memo, e.funding, e.amount_nanos, e.created_at
    from entries e join transfers t on t.id = e.transfer_id
    where e.wallet_id = ${walletId.toString()}::int8
      ${kinds ? db`and t.kind = any(${[...kinds]}::text[])` : db``}
      ${page.afterId !== undefined ? db`and e.id < ${page.afterId.toString()}::int8` : db``}
      ${page.beforeId !== undefined ? db`and e.id > ${page.beforeId.toString()}::int8` : db``}
    order by e.id ${db.unsafe(page.inverted ? 'asc' : 'desc')} limit ${page.limit}`;
  return rows.map((row) => ({
    id: row.id,
    transferId: row.transfer_id,
    kind: row.kind,
    cause: row.cause,
    memo: row.memo,
    funding: row.funding,
    amountNanos: row.amount_nanos,
    createdAt: row.created_at,
  }));
}
