import { createHash, randomBytes } from 'node:crypto';
import type { Db } from '../sql.ts';
import { accountFromRow, type Account, type AccountRow } from './accounts.ts';

/**
 * Sign-in sessions of built-in accounts. The token (`tgs-` + 256 random bits) goes to the client
 * once, as a cookie and in the sign-in answer; the database keeps only its SHA-256, so a leaked
 * backup cannot be replayed. Plain SHA-256 is enough: the token is random, not a password.
 */

export const SESSION_TOKEN_PREFIX = 'tgs-';
const SESSION_TOKEN_BYTES = 32;

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

export type Session = { id: string; accountId: string; expiresAt: Date };

export async function createSession(
  db: Db,
  accountId: string,
  ttlSeconds: number,
): Promise<{ token: string; session: Session }> {
  const token = `${SESSION_TOKEN_PREFIX}${randomBytes(SESSION_TOKEN_BYTES).toString('base64url')}`;
  // Sessions that ran out are dropped when the same account signs in again, so they never pile up.
  await db`delete from sessions where account_id = ${accountId}::uuid and expires_at < now()`;
  const [row] = await db<{ id: string; expires_at: Date }[]>`
    insert into sessions (account_id, token_hash, expires_at)
    values (${accountId}::uuid, ${hashToken(token)}, now() + make_interval(secs => ${ttlSeconds}))
    returning id, expires_at`;
  if (!row) throw new Error('session insert returned nothing');
  return { token, session: { id: row.id, accountId, expiresAt: row.expires_at } };
}

type SessionAccountRow = AccountRow & { session_id: string };

/** The account behind an unexpired session token, or undefined. */
export async function findSessionAccount(
  db: Db,
  token: string,
): Promise<{ sessionId: string; account: Account } | undefined> {
  const [row] = await db<SessionAccountRow[]>`
    select s.id as session_id, a.id, a.tenant_id, a.email, a.role, a.status, a.display_name, a.created_at, w.id as wallet_id
    from sessions s join accounts a on a.id = s.account_id join wallets w on w.account_id = a.id
    where s.token_hash = ${hashToken(token)} and s.expires_at > now()`;
  return row ? { sessionId: row.session_id, account: accountFromRow(row) } : undefined;
}

export async function deleteSession(db: Db, sessionId: string): Promise<void> {
  await db`delete from sessions where id = ${sessionId}::uuid`;
}

/** Ends every session of the account but one: what a password change does to other devices. */
export async function deleteOtherSessions(db: Db, accountId: string, keepSessionId: string | null): Promise<number> {
  const result =
    await db`delete from sessions where account_id = ${accountId}::uuid and id is distinct from ${keepSessionId}::uuid`;
  return result.count;
}
