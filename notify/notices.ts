import { enqueueOutbox, type Json } from '../db/queries/outbox.ts';
import type { Db } from '../db/sql.ts';
import type { EmailTopic } from './templates.ts';

/**
 * Writing notices: called inside the transaction of their cause, so a notice exists exactly when
 * its cause committed. The cause string is the notice's identity (with its period where a cause
 * repeats): writing the same notice twice adds it once.
 */

/** An account notice is worth sending for a day; after that it is news no more. */
const EMAIL_GIVE_UP_SECONDS = 24 * 3600;

export type NoticeAccount = { id: string; tenantId: string; email: string };

export async function noticeAccount(db: Db, accountId: string): Promise<NoticeAccount | undefined> {
  const [row] = await db<{ id: string; tenant_id: string; email: string }[]>`
    select id, tenant_id, email from accounts where id = ${accountId}::uuid`;
  return row ? { id: row.id, tenantId: row.tenant_id, email: row.email } : undefined;
}

export type EmailNotice = {
  topic: EmailTopic;
  /** What caused it, unique per topic: a token id, a payment id, a threshold and its crossing. */
  cause: string;
  data: { [key: string]: Json };
  giveUpAfterSeconds?: number;
  delaySeconds?: number;
};

/** Adds an e-mail to the account's address; true when it was not there yet. */
export async function enqueueEmail(db: Db, account: NoticeAccount, notice: EmailNotice): Promise<boolean> {
  return enqueueOutbox(db, {
    tenantId: account.tenantId,
    accountId: account.id,
    channel: 'email',
    topic: notice.topic,
    dedupeKey: `email:${notice.topic}:${notice.cause}`,
    recipient: account.email,
    payload: notice.data,
    giveUpAfterSeconds: notice.giveUpAfterSeconds ?? EMAIL_GIVE_UP_SECONDS,
    delaySeconds: notice.delaySeconds,
  });
}
