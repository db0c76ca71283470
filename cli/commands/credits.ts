import { userInfo } from 'node:os';
import { tenantWalletId } from '../../db/queries/tenants.ts';
import {
  findTransferByCause,
  recordTransfer,
  type StoredTransfer,
  type TransferEntry,
  type TransferInput,
  type TransferKind,
} from '../../db/queries/transfers.ts';
import type { Db } from '../../db/sql.ts';
import { flag, optionalString, requiredString } from '../args.ts';
import type { Command } from '../command.ts';
import { UsageError } from '../errors.ts';
import { fields, money } from '../format.ts';
import { ACCOUNT_OPTIONS, accountOption } from '../resolve.ts';
import { usdAmount } from '../values.ts';
import { accountBalance, balanceJson, balanceLines } from './balance.ts';

const GRANT = 'credits grant';
const MAX_REASON_LENGTH = 500;
/** Causes are at most 300 characters; the `cli:` prefix keeps CLI causes apart from other admin tools'. */
const MAX_IDEMPOTENCY_KEY_LENGTH = 200;
const CAUSE_PREFIX = 'cli:';
/** An idempotency key names one grant whatever its kind, so both kinds are searched for a replay. */
const GRANT_KINDS: readonly TransferKind[] = ['grant', 'adjustment'];

function operatingSystemUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

function entryKey(entry: TransferEntry): string {
  return `${entry.walletId}:${entry.funding}:${entry.amountNanos}`;
}

/** A replay must be the same grant; the same key with another account, amount or kind is a mistake, not a retry. */
function replayOf(existing: StoredTransfer, input: TransferInput, idempotencyKey: string | undefined): StoredTransfer {
  const same =
    existing.kind === input.kind &&
    existing.entries.map(entryKey).sort().join() === input.entries.map(entryKey).sort().join();
  if (!same)
    throw new UsageError(
      `${GRANT}: idempotency key "${idempotencyKey}" was already used for a different grant (transfer ${existing.id})`,
    );
  return existing;
}

type GrantResult =
  | { applied: true; transferId: bigint }
  | { applied: false; transferId: bigint; previous: StoredTransfer };

async function grantOnce(db: Db, input: TransferInput, idempotencyKey: string | undefined): Promise<GrantResult> {
  const existing = await findTransferByCause(db, GRANT_KINDS, input.cause);
  if (existing) return { applied: false, transferId: existing.id, previous: replayOf(existing, input, idempotencyKey) };
  const result = await recordTransfer(db, input);
  if (result.applied) return { applied: true, transferId: result.transferId };
  // Another run with the same key committed between the lookup and the insert.
  const raced = await findTransferByCause(db, GRANT_KINDS, input.cause);
  if (!raced) throw new Error(`transfer for ${input.cause} vanished`);
  return { applied: false, transferId: raced.id, previous: replayOf(raced, input, idempotencyKey) };
}

export const creditsGrantCommand: Command = {
  name: GRANT,
  summary: 'add credit to an account: granted (promotional) credit, or paid credit with --paid',
  options: {
    ...ACCOUNT_OPTIONS,
    account: { ...ACCOUNT_OPTIONS.account, help: 'the account to credit (required)' },
    usd: { type: 'string', value: 'USD', help: 'amount, e.g. 10.00 (at most 9 decimals; required)' },
    reason: { type: 'string', value: 'TEXT', help: 'why, kept in the ledger (required)' },
    paid: {
      type: 'boolean',
      help: 'record it as paid credit (an adjustment, e.g. a payment taken outside Stripe) instead of granted',
    },
    'idempotency-key': { type: 'string', value: 'KEY', help: 'running again with the same key changes nothing' },
    actor: {
      type: 'string',
      value: 'NAME',
      help: 'who is granting, kept in the ledger (default: the operating-system user)',
    },
  },
  prepare: (args) => {
    const accountRef = requiredString(args, 'account');
    const tenantRef = optionalString(args, 'tenant');
    const amountNanos = usdAmount(GRANT, 'usd', requiredString(args, 'usd'));
    const reason = requiredString(args, 'reason');
    if (reason.length > MAX_REASON_LENGTH)
      throw new UsageError(`${GRANT}: --reason must be at most ${MAX_REASON_LENGTH} characters`);
    const idempotencyKey = optionalString(args, 'idempotency-key');
    if (idempotencyKey !== undefined && idempotencyKey.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
      throw new UsageError(`${GRANT}: --idempotency-key must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
    }
    const paid = flag(args, 'paid');
    const actor = optionalString(args, 'actor') ?? operatingSystemUser();
    const cause = `${CAUSE_PREFIX}${idempotencyKey ?? Bun.randomUUIDv7()}`;
    return async (session) => {
      const { account, tenant } = await accountOption(session, GRANT, accountRef, tenantRef);
      const funding = paid ? 'paid' : 'granted';
      const kind = paid ? 'adjustment' : 'grant';
      const counterparty = await tenantWalletId(session.db.sql, account.tenantId, paid ? 'adjustment' : 'promotion');
      const input: TransferInput = {
        kind,
        cause,
        memo: { reason, actor, source: 'cli', idempotencyKey: idempotencyKey ?? null },
        entries: [
          { walletId: account.walletId, funding, amountNanos },
          { walletId: counterparty, funding, amountNanos: -amountNanos },
        ],
      };
      const result = await grantOnce(session.db.sql, input, idempotencyKey);
      const balance = await accountBalance(session.db.sql, account.walletId);
      const headline = result.applied
        ? `credited $${money(amountNanos).usd} of ${funding} credit to ${account.email} (${tenant.slug})`
        : `already applied: idempotency key "${idempotencyKey}" was used by transfer ${result.transferId} on ${result.previous.createdAt.toISOString()}; nothing changed`;
      return {
        json: {
          applied: result.applied,
          transferId: result.transferId,
          kind,
          funding,
          cause,
          amount: money(amountNanos),
          accountId: account.id,
          email: account.email,
          balance: balanceJson(balance),
        },
        text: [
          headline,
          fields([['transfer', String(result.transferId)], ['cause', cause], ...balanceLines(balance)]),
        ].join('\n'),
      };
    };
  },
};
