import {
  listEndpointDeliveries,
  listOutboxAttempts,
  type OutboxAttempt,
  type OutboxRow,
} from '../db/queries/outbox.ts';
import {
  countWebhookEndpoints,
  createWebhookEndpoint,
  disableWebhookEndpoint,
  findWebhookEndpoint,
  listWebhookEndpoints,
  type WebhookEndpoint,
} from '../db/queries/webhook-endpoints.ts';
import { enqueueTestEvent, WEBHOOK_EVENT_TYPES } from '../notify/events.ts';
import { parseWebhookUrl, RefusedTarget, resolveAllowed } from '../notify/ssrf.ts';
import { addressPolicy } from '../notify/webhook-delivery.ts';
import { generateWebhookSecret, sealSecret } from '../notify/webhook-signature.ts';
import { builder } from './builder.ts';
import { isAdmin, type SignedInContext } from './context.ts';
import { invalidInput, notFound, uuidOr404 } from './errors.ts';
import { targetAccount } from './scope.ts';

/**
 * Signed webhooks for integrators: endpoints per account (its own events) or per tenant (every
 * account's, admins only), a secret shown once, the delivery log, and a test event. docs/webhooks.md
 * tells receivers how to verify a delivery.
 */

const MAX_ENDPOINTS_PER_OWNER = 10;
const MAX_DELIVERIES_LISTED = 100;

const WebhookAttemptRef = builder.objectRef<OutboxAttempt>('WebhookAttempt').implement({
  fields: (t) => ({
    attempt: t.exposeInt('attempt'),
    startedAt: t.field({ type: 'DateTime', resolve: (a) => a.startedAt }),
    durationMs: t.exposeInt('durationMs'),
    ok: t.exposeBoolean('ok'),
    statusCode: t.exposeInt('statusCode', {
      nullable: true,
      description: "The receiver's HTTP status, if it answered.",
    }),
    error: t.exposeString('error', { nullable: true }),
  }),
});

const DeliveryStatusEnum = builder.enumType('DeliveryStatus', {
  values: { PENDING: { value: 'pending' }, SENT: { value: 'sent' }, FAILED: { value: 'failed' } } as const,
});

type Delivery = OutboxRow & { log: OutboxAttempt[] };

const WebhookDeliveryRef = builder.objectRef<Delivery>('WebhookDelivery').implement({
  fields: (t) => ({
    eventId: t.string({ resolve: (d) => d.eventId ?? '' }),
    eventType: t.exposeString('topic'),
    status: t.field({ type: DeliveryStatusEnum, resolve: (d) => d.status }),
    attempts: t.exposeInt('attempts'),
    lastError: t.exposeString('lastError', { nullable: true }),
    createdAt: t.field({ type: 'DateTime', resolve: (d) => d.createdAt }),
    finishedAt: t.field({ type: 'DateTime', nullable: true, resolve: (d) => d.finishedAt }),
    log: t.field({ type: [WebhookAttemptRef], resolve: (d) => d.log }),
  }),
});

const WebhookEndpointRef = builder.objectRef<WebhookEndpoint>('WebhookEndpoint').implement({
  fields: (t) => ({
    id: t.exposeID('id'),
    url: t.exposeString('url'),
    events: t.exposeStringList('events'),
    description: t.exposeString('description'),
    accountId: t.exposeID('accountId', { nullable: true, description: "Null: every account's events in the tenant." }),
    createdAt: t.field({ type: 'DateTime', resolve: (e) => e.createdAt }),
    deliveries: t.field({
      type: [WebhookDeliveryRef],
      description: 'The newest deliveries first, each with every attempt.',
      args: { first: t.arg.int({ required: false, defaultValue: 20 }) },
      resolve: async (endpoint, { first }, ctx) => {
        const limit = Math.min(Math.max(first ?? 20, 1), MAX_DELIVERIES_LISTED);
        const rows = await listEndpointDeliveries(ctx.sql, endpoint.id, limit);
        const attempts = await listOutboxAttempts(
          ctx.sql,
          rows.map((row) => row.id),
        );
        return rows.map((row) => ({ ...row, log: attempts.get(row.id) ?? [] }));
      },
    }),
  }),
});

/** An endpoint the caller may see: one of their account's, or (for an admin) any of the tenant's. */
async function scopedEndpoint(ctx: SignedInContext, id: string): Promise<WebhookEndpoint> {
  const endpoint = await findWebhookEndpoint(ctx.sql, ctx.tenant.id, uuidOr404(id, 'Webhook endpoint'));
  const own = ctx.viewer.kind === 'account' && endpoint?.accountId === ctx.viewer.account.id;
  if (!endpoint || (!own && !isAdmin(ctx.viewer))) throw notFound('Webhook endpoint');
  return endpoint;
}

builder.queryField('webhookEndpoints', (t) =>
  t.withAuth({ signedIn: true }).field({
    type: [WebhookEndpointRef],
    description: "An account's own endpoints; for an admin, every endpoint of the tenant.",
    resolve: (_root, _args, ctx) =>
      listWebhookEndpoints(
        ctx.sql,
        ctx.tenant.id,
        isAdmin(ctx.viewer) ? null : ctx.viewer.kind === 'account' ? ctx.viewer.account.id : null,
      ),
  }),
);

builder.queryField('webhookEventTypes', (t) =>
  t.stringList({
    description: 'The event types an endpoint may ask for.',
    resolve: () => [...WEBHOOK_EVENT_TYPES],
  }),
);

async function checkTarget(ctx: SignedInContext, text: string): Promise<string> {
  try {
    const url = parseWebhookUrl(text.trim());
    await resolveAllowed(url.hostname, addressPolicy(ctx.config.outbound.allowPrivate));
    return url.toString();
  } catch (error) {
    if (error instanceof RefusedTarget) throw invalidInput('url', error.message);
    throw invalidInput('url', 'The host name of this URL does not resolve.');
  }
}

function checkEvents(events: readonly string[]): string[] {
  const unique = [...new Set(events.map((event) => event.trim()))];
  const unknown = unique.find((event) => !(WEBHOOK_EVENT_TYPES as readonly string[]).includes(event));
  if (unique.length === 0 || unknown !== undefined)
    throw invalidInput('events', `Events are one or more of ${WEBHOOK_EVENT_TYPES.join(', ')}.`);
  return unique;
}

type CreatedEndpoint = { secret: string; endpoint: WebhookEndpoint };

const CreatedWebhookEndpointRef = builder.objectRef<CreatedEndpoint>('CreatedWebhookEndpoint').implement({
  fields: (t) => ({
    secret: t.exposeString('secret', { description: 'The signing secret. Shown only in this answer: store it now.' }),
    endpoint: t.field({ type: WebhookEndpointRef, resolve: (c) => c.endpoint }),
  }),
});

builder.mutationField('createWebhookEndpoint', (t) =>
  t.withAuth({ signedIn: true }).field({
    type: CreatedWebhookEndpointRef,
    description:
      "Registers an endpoint for the caller's account (or, for an admin, another account's or, with tenantWide, " +
      `every account's events). At most ${MAX_ENDPOINTS_PER_OWNER} per owner.`,
    args: {
      url: t.arg.string({ required: true }),
      events: t.arg.stringList({ required: true }),
      description: t.arg.string({ required: false }),
      accountId: t.arg.id({ required: false }),
      tenantWide: t.arg.boolean({ required: false, defaultValue: false }),
    },
    resolve: async (_root, args, ctx) => {
      if (args.tenantWide && !isAdmin(ctx.viewer)) throw invalidInput('tenantWide', 'Only an admin registers these.');
      const accountId = args.tenantWide
        ? null
        : (
            await targetAccount(
              ctx,
              args.accountId === null || args.accountId === undefined ? null : String(args.accountId),
            )
          ).id;
      const description = (args.description ?? '').trim();
      if (description.length > 200) throw invalidInput('description', 'At most 200 characters.');
      const events = checkEvents(args.events);
      const url = await checkTarget(ctx, args.url);
      if ((await countWebhookEndpoints(ctx.sql, ctx.tenant.id, accountId)) >= MAX_ENDPOINTS_PER_OWNER)
        throw invalidInput('url', `At most ${MAX_ENDPOINTS_PER_OWNER} endpoints: remove one first.`);
      const secret = generateWebhookSecret();
      const endpoint = await createWebhookEndpoint(ctx.sql, {
        tenantId: ctx.tenant.id,
        accountId,
        url,
        events,
        description,
        secretSealed: sealSecret(secret, ctx.keyPepper),
      });
      return { secret, endpoint };
    },
  }),
);

builder.mutationField('deleteWebhookEndpoint', (t) =>
  t.withAuth({ signedIn: true }).field({
    type: 'Boolean',
    description: 'Removes an endpoint; deliveries not yet made to it are dropped.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, ctx) => {
      const endpoint = await scopedEndpoint(ctx, String(id));
      await disableWebhookEndpoint(ctx.sql, endpoint.id);
      return true;
    },
  }),
);

builder.mutationField('sendTestWebhookEvent', (t) =>
  t.withAuth({ signedIn: true }).field({
    type: 'String',
    description: 'Sends a signed `test.ping` event to the endpoint soon; the answer is its event id.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, ctx) => enqueueTestEvent(ctx.sql, await scopedEndpoint(ctx, String(id))),
  }),
);
