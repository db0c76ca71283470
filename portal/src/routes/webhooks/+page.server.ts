import { gql } from '$lib/server/api';
import { failure, fields, formData, invalid } from '$lib/server/forms';
import { requireAccount } from '$lib/server/viewer';
import type { Actions, PageServerLoad } from './$types';

/**
 * Webhook endpoints: register a URL for some event types (its signing secret is shown once, in the
 * answer to the form), send it a test event, see its recent deliveries, remove it.
 */

export type Delivery = {
  eventId: string;
  eventType: string;
  status: 'PENDING' | 'SENT' | 'FAILED';
  attempts: number;
  lastError: string | null;
  createdAt: string;
  finishedAt: string | null;
};
export type Endpoint = { id: string; url: string; events: string[]; description: string; accountId: string | null; createdAt: string; deliveries: Delivery[] };

// A literal page size: the API prices a page given by a variable at its largest.
const LIST = `query Webhooks {
  webhookEventTypes
  webhookEndpoints {
    id url events description accountId createdAt
    deliveries(first: 10) { eventId eventType status attempts lastError createdAt finishedAt }
  }
}`;

export const load: PageServerLoad = async (event) => {
  requireAccount(event);
  const data = await gql<{ webhookEventTypes: string[]; webhookEndpoints: Endpoint[] }>(event, LIST);
  return { eventTypes: data.webhookEventTypes, endpoints: data.webhookEndpoints };
};

export const actions: Actions = {
  create: async (event) => {
    requireAccount(event);
    const form = await formData(event.request);
    const url = String(form.get('url') ?? '').trim();
    const description = String(form.get('description') ?? '').trim();
    const events = form.getAll('events').map(String).filter(Boolean);
    const values = { url, description };
    if (!url) return invalid('url', 'Enter the URL that should receive the events.', values, 'create');
    if (events.length === 0) return invalid('events', 'Pick at least one event.', values, 'create');
    try {
      const data = await gql<{ createWebhookEndpoint: { secret: string; endpoint: { id: string; url: string } } }>(
        event,
        'mutation CreateWebhook($url: String!, $events: [String!]!, $description: String) { createWebhookEndpoint(url: $url, events: $events, description: $description) { secret endpoint { id url } } }',
        { url, events, description },
      );
      return { action: 'create', created: { secret: data.createWebhookEndpoint.secret, url: data.createWebhookEndpoint.endpoint.url } };
    } catch (error) {
      return failure(error, values, 'create');
    }
  },
  test: async (event) => {
    requireAccount(event);
    const { id } = await fields(event.request, ['id'] as const);
    try {
      const data = await gql<{ sendTestWebhookEvent: string }>(event, 'mutation TestWebhook($id: ID!) { sendTestWebhookEvent(id: $id) }', { id });
      return { action: `test:${id}`, sent: data.sendTestWebhookEvent };
    } catch (error) {
      return failure(error, {}, `test:${id}`);
    }
  },
  remove: async (event) => {
    requireAccount(event);
    const { id } = await fields(event.request, ['id'] as const);
    try {
      await gql(event, 'mutation RemoveWebhook($id: ID!) { deleteWebhookEndpoint(id: $id) }', { id });
      return { action: `remove:${id}`, removed: true };
    } catch (error) {
      return failure(error, {}, `remove:${id}`);
    }
  },
};
