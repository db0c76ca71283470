import type { Money, UsageRecord } from './types';

/** One request of the log with what the ledger took for it, as the request drawer shows it. */

export type LedgerLine = { id: string; funding: 'PAID' | 'GRANTED'; amount: Money; createdAt: string };
export type RequestDetail = UsageRecord & { ledgerEntries: LedgerLine[] };

export const REQUEST_DETAIL_FIELDS = `id createdAt model route protocol outcome statusCode errorCode promptTokens completionTokens charge { nanos usd } estimated stream latencyMs apiKeyId accountId
  ledgerEntries { id funding amount { nanos usd } createdAt }`;

/** What the ledger debited for the request: the entries are negative, one per funding used. */
export function debitedNanos(detail: RequestDetail): bigint {
  return detail.ledgerEntries.reduce((sum, entry) => sum - BigInt(entry.amount.nanos), 0n);
}

/** The address of the same list with a request's drawer open (or closed, for null). */
export function withRequest(url: URL, id: string | null): string {
  const next = new URL(url);
  if (id) next.searchParams.set('request', id);
  else next.searchParams.delete('request');
  return `${next.pathname}${next.search}`;
}

/** A request id shortened for a table column; the whole id is in the title and the drawer. */
export function shortId(id: string): string {
  return id.length > 10 ? `${id.slice(0, 8)}…` : id;
}
