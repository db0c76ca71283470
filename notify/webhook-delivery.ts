import { reasonOf } from '../app/log.ts';
import type { OutboxRow } from '../db/queries/outbox.ts';
import { endpointForDelivery } from '../db/queries/webhook-endpoints.ts';
import type { Db } from '../db/sql.ts';
import type { Deliverer } from '../outbox/worker.ts';
import { isPublicAddress, RefusedTarget, type AddressPolicy } from './ssrf.ts';
import { openSecret, SIGNATURE_HEADER, signatureHeader } from './webhook-signature.ts';
import { postWebhook } from './webhook-send.ts';

/**
 * Delivers one event to one endpoint: signed at the moment of sending (so the timestamp is fresh on
 * every retry), posted with the SSRF checks, and counted delivered only on a 2xx answer. A refused
 * address, or an endpoint removed since, is a permanent failure; anything else is retried.
 */

export function addressPolicy(allowPrivateTargets: boolean): AddressPolicy {
  return allowPrivateTargets ? () => true : isPublicAddress;
}

export function webhookDeliverer(db: Db, pepper: string, allowed: AddressPolicy): Deliverer {
  return async (row: OutboxRow, signal: AbortSignal) => {
    const endpoint = row.endpointId ? await endpointForDelivery(db, row.endpointId) : undefined;
    if (!endpoint || endpoint.disabled) return { ok: false, permanent: true, error: 'the endpoint was removed' };
    const body = JSON.stringify(row.payload);
    const headers = {
      [SIGNATURE_HEADER]: signatureHeader(openSecret(endpoint.secretSealed, pepper), body),
      'Tollgate-Event-Id': row.eventId ?? '',
      'Tollgate-Event-Type': row.topic,
    };
    try {
      const answer = await postWebhook(endpoint.url, body, headers, allowed, signal);
      if (answer.status >= 200 && answer.status < 300) return { ok: true, statusCode: answer.status };
      const excerpt = answer.body.replace(/\s+/g, ' ').slice(0, 200);
      return { ok: false, permanent: false, statusCode: answer.status, error: `answered ${answer.status} ${excerpt}` };
    } catch (error) {
      const reason = reasonOf(error);
      return { ok: false, permanent: error instanceof RefusedTarget, error: reason };
    }
  };
}
