import { randomBytes } from 'node:crypto';
import type { Db } from '../sql.ts';
import { hashToken } from './sessions.ts';

/**
 * Single-use tokens mailed to an account: e-mail verification (`tgv-`) and password reset (`tgr-`).
 * Like session tokens, only their SHA-256 is stored; a token is used by one conditional update
 * (unused, unexpired), so two clicks on the same link cannot both succeed.
 */

export type TokenPurpose = 'verify_email' | 'reset_password';

const PREFIX: Record<TokenPurpose, string> = { verify_email: 'tgv-', reset_password: 'tgr-' };
const TOKEN_BYTES = 32;

export async function createAccountToken(
  db: Db,
  input: { accountId: string; purpose: TokenPurpose; email: string; ttlSeconds: number },
): Promise<{ id: string; token: string }> {
  const token = `${PREFIX[input.purpose]}${randomBytes(TOKEN_BYTES).toString('base64url')}`;
  const [row] = await db<{ id: string }[]>`
    insert into account_tokens (account_id, purpose, token_hash, email, expires_at)
    values (${input.accountId}::uuid, ${input.purpose}, ${hashToken(token)}, ${input.email},
            now() + make_interval(secs => ${input.ttlSeconds}))
    returning id`;
  if (!row) throw new Error('account token insert returned nothing');
  return { id: row.id, token };
}

/** How many tokens of this purpose the account was sent in the last `seconds`: what throttling counts. */
export async function recentTokenCount(
  db: Db,
  accountId: string,
  purpose: TokenPurpose,
  seconds: number,
): Promise<number> {
  const [row] = await db<{ count: number }[]>`
    select count(*)::int as count from account_tokens
    where account_id = ${accountId}::uuid and purpose = ${purpose}
      and created_at > now() - make_interval(secs => ${seconds})`;
  return row?.count ?? 0;
}

/** Uses a token once: the account and address it was sent to, or undefined if unknown, used or expired. */
export async function useAccountToken(
  db: Db,
  purpose: TokenPurpose,
  token: string,
): Promise<{ accountId: string; email: string } | undefined> {
  if (!token.startsWith(PREFIX[purpose])) return undefined;
  const [row] = await db<{ account_id: string; email: string }[]>`
    update account_tokens set used_at = now()
    where token_hash = ${hashToken(token)} and purpose = ${purpose} and used_at is null and expires_at > now()
    returning account_id, email`;
  return row ? { accountId: row.account_id, email: row.email } : undefined;
}

/** After a reset, the other reset links of the account stop working too. */
export async function retireAccountTokens(db: Db, accountId: string, purpose: TokenPurpose): Promise<void> {
  await db`update account_tokens set used_at = now()
    where account_id = ${accountId}::uuid and purpose = ${purpose} and used_at is null`;
}

/** Marks the address verified if it is still the account's; true only for the call that verified it. */
export async function markEmailVerified(db: Db, accountId: string, email: string): Promise<boolean> {
  const rows = await db`update accounts set email_verified_at = now()
    where id = ${accountId}::uuid and lower(email) = lower(${email}) and email_verified_at is null`;
  return rows.count === 1;
}

export async function isEmailVerified(db: Db, accountId: string): Promise<boolean> {
  const [row] = await db<{ verified: boolean }[]>`
    select email_verified_at is not null as verified from accounts where id = ${accountId}::uuid`;
  return row?.verified ?? false;
}
