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

type EntryRow = {
  id: bigint;
  transfer_id: bigint;
  kind: TransferKind;
  cause: string;
  memo: Record<string, unknown>;
  funding: Funding;
  amount_nanos: bigint;
  created_at: Date;
};

function entryFromRow(row: EntryRow): LedgerEntry {
  return {
    id: row.id,
    transferId: row.transfer_id,
    kind: row.kind,
    cause: row.cause,
    memo: row.memo,
    funding: row.funding,
    amountNanos: row.amount_nanos,
    createdAt: row.created_at,
  };
}

export async function listWalletEntries(
  db: Db,
  walletId: bigint,
  kinds: readonly TransferKind[] | null,
  page: EntryPage,
): Promise<LedgerEntry[]> {
  const rows = await db<EntryRow[]>`
    select e.id, e.transfer_id, t.kind, t.cause, t.memo, e.funding, e.amount_nanos, e.created_at
    from entries e join transfers t on t.id = e.transfer_id
    where e.wallet_id = ${walletId.toString()}::int8
      ${kinds ? db`and t.kind = any(${[...kinds]}::text[])` : db``}
      ${page.afterId !== undefined ? db`and e.id < ${page.afterId.toString()}::int8` : db``}
      ${page.beforeId !== undefined ? db`and e.id > ${page.beforeId.toString()}::int8` : db``}
    order by e.id ${db.unsafe(page.inverted ? 'asc' : 'desc')} limit ${page.limit}`;
  return rows.map(entryFromRow);
}

/** What one request's usage transfer did to its account's wallet: an entry per funding used. */
export async function requestEntries(db: Db, accountId: string, requestId: string): Promise<LedgerEntry[]> {
  const rows = await db<EntryRow[]>`
    select e.id, e.transfer_id, t.kind, t.cause, t.memo, e.funding, e.amount_nanos, e.created_at
    from transfers t join entries e on e.transfer_id = t.id join wallets w on w.id = e.wallet_id
    where t.kind = 'usage' and t.cause = ${requestId} and w.account_id = ${accountId}::uuid
    order by e.id`;
  return rows.map(entryFromRow);
}
