import type { Config } from '../app/config.ts';
import { findTenantForNotices } from '../db/queries/notice-settings.ts';
import type { Json, OutboxRow } from '../db/queries/outbox.ts';
import { findPayment } from '../db/queries/payments.ts';
import type { Db } from '../db/sql.ts';
import type { Deliverer } from '../outbox/worker.ts';
import { brandOf } from './brand.ts';
import type { Mailer } from './mailer.ts';
import { isEmailTopic, renderEmail } from './templates.ts';

/** Delivers an outbox e-mail: the tenant's brand is read now, the message rendered and sent. */

/** A receipt e-mail links Stripe's receipt, which is recorded just after the credit; read it when sending. */
async function withReceipt(db: Db, row: OutboxRow): Promise<{ [key: string]: Json }> {
  const paymentId = row.payload.paymentId;
  if (row.topic !== 'payment_succeeded' || typeof paymentId !== 'string') return row.payload;
  const receiptUrl = (await findPayment(db, { id: paymentId }))?.receiptUrl;
  return receiptUrl ? { ...row.payload, receiptUrl } : row.payload;
}

export function emailDeliverer(db: Db, config: Config, mailer: Mailer): Deliverer {
  return async (row: OutboxRow, signal: AbortSignal) => {
    if (!isEmailTopic(row.topic) || !row.recipient)
      return { ok: false, permanent: true, error: `no e-mail template "${row.topic}"` };
    const found = await findTenantForNotices(db, row.tenantId);
    if (!found) return { ok: false, permanent: true, error: 'the tenant is gone' };
    const brand = brandOf(found.tenant, found.settings.sender, { portalUrl: config.portalUrl, from: config.mail.from });
    const rendered = renderEmail(row.topic, await withReceipt(db, row), brand);
    return mailer.send({ ...rendered, from: brand.from, to: row.recipient, reference: `tg-${row.id}` }, signal);
  };
}
