import type { Account } from '../db/queries/accounts.ts';
import {
  createAccountToken,
  markEmailVerified,
  recentTokenCount,
  type TokenPurpose,
} from '../db/queries/account-tokens.ts';
import { findNoticeSettings } from '../db/queries/notice-settings.ts';
import { tenantWalletId } from '../db/queries/tenants.ts';
import { recordTransfer } from '../db/queries/transfers.ts';
import type { TransactionSql } from '../db/sql.ts';
import { emitAccountEvent } from './events.ts';
import { enqueueEmail } from './notices.ts';

/**
 * The account e-mails: verification on sign-up, password reset, and the notices of a password
 * change or a new key. Each runs inside its cause's transaction: the token, the outbox row and the
 * cause commit together or not at all.
 */

const VERIFY_TOKEN_TTL_SECONDS = 48 * 3600;
const RESET_TOKEN_TTL_SECONDS = 3600;
/** Mailed links per account and purpose per hour: enough for a lost message, too few to flood an inbox. */
const MAILED_LINKS_PER_HOUR = 3;
const THROTTLE_WINDOW_SECONDS = 3600;

async function mailLink(tx: TransactionSql, account: Account, purpose: TokenPurpose): Promise<boolean> {
  if ((await recentTokenCount(tx, account.id, purpose, THROTTLE_WINDOW_SECONDS)) >= MAILED_LINKS_PER_HOUR) return false;
  const verify = purpose === 'verify_email';
  const ttlSeconds = verify ? VERIFY_TOKEN_TTL_SECONDS : RESET_TOKEN_TTL_SECONDS;
  const { id, token } = await createAccountToken(tx, {
    accountId: account.id,
    purpose,
    email: account.email,
    ttlSeconds,
  });
  return enqueueEmail(tx, account, {
    topic: purpose,
    cause: id,
    data: verify ? { token, expiresHours: ttlSeconds / 3600 } : { token, expiresMinutes: ttlSeconds / 60 },
    // A link mailed after it expired is no use to anyone.
    giveUpAfterSeconds: ttlSeconds,
  });
}

/** Mails a verification link (throttled); false when the throttle held it back. */
export function sendVerificationEmail(tx: TransactionSql, account: Account): Promise<boolean> {
  return mailLink(tx, account, 'verify_email');
}

/** Mails a reset link (throttled); the caller answers the same whatever happens here. */
export function sendPasswordResetEmail(tx: TransactionSql, account: Account): Promise<boolean> {
  return mailLink(tx, account, 'reset_password');
}

/** The tenant's sign-up credit, granted at most once per account (the transfer's cause is the account). */
async function grantSignupCredit(tx: TransactionSql, account: Account, nanos: bigint): Promise<boolean> {
  if (nanos <= 0n) return false;
  const promotion = await tenantWalletId(tx, account.tenantId, 'promotion');
  const result = await recordTransfer(tx, {
    kind: 'grant',
    cause: `signup:${account.id}`,
    memo: { reason: 'sign-up credit' },
    entries: [
      { walletId: account.walletId, funding: 'granted', amountNanos: nanos },
      { walletId: promotion, funding: 'granted', amountNanos: -nanos },
    ],
  });
  return result.applied;
}

/** A new self-service account: its verification e-mail, and its sign-up credit unless that waits for verification. */
export async function welcomeAccount(tx: TransactionSql, account: Account): Promise<void> {
  const settings = await findNoticeSettings(tx, account.tenantId);
  await sendVerificationEmail(tx, account);
  if (settings.verification !== 'credit') await grantSignupCredit(tx, account, settings.signupCreditNanos);
}

/**
 * The address was proven (a verification link, or a reset link, which went to the same address).
 * True when this call verified it; the sign-up credit held back for verification is granted then.
 */
export async function confirmAddress(tx: TransactionSql, account: Account, email: string): Promise<boolean> {
  if (!(await markEmailVerified(tx, account.id, email))) return false;
  const settings = await findNoticeSettings(tx, account.tenantId);
  if (settings.verification === 'credit') await grantSignupCredit(tx, account, settings.signupCreditNanos);
  return true;
}

export async function noticePasswordChanged(tx: TransactionSql, account: Account): Promise<void> {
  await enqueueEmail(tx, account, { topic: 'password_changed', cause: crypto.randomUUID(), data: {} });
}

type KeyFacts = { id: string; name: string; publicId: string };

export async function noticeKeyCreated(tx: TransactionSql, account: Account, key: KeyFacts): Promise<void> {
  const data = { keyId: key.id, name: key.name, publicId: key.publicId };
  await emitAccountEvent(tx, account, {
    type: 'key.created',
    cause: key.id,
    data,
    email: { topic: 'key_created', cause: key.id, data },
  });
}

/** Revoking twice is one event: the key can only stop once. */
export async function noticeKeyRevoked(tx: TransactionSql, account: Account, key: KeyFacts): Promise<void> {
  await emitAccountEvent(tx, account, {
    type: 'key.revoked',
    cause: key.id,
    data: { keyId: key.id, name: key.name, publicId: key.publicId },
  });
}
