import { requestEntries } from '../db/queries/ledger-entries.ts';
import {
  aggregateUsage,
  exportUsage,
  findTenantUsage,
  listUsage,
  type UsageBucket,
  type UsageFilter,
  type UsageRecord,
} from '../db/queries/usage.ts';
import { builder } from './builder.ts';
import { isAdmin, signedIn, type SignedInContext } from './context.ts';
import { invalidInput, notFound, uuidOr404 } from './errors.ts';
import { LedgerEntryRef } from './ledger.ts';
import { MoneyRef } from './money.ts';
import { keysetConnection } from './pagination.ts';
import { accountFilter } from './scope.ts';
import { usageCsv } from './usage-csv.ts';
import { boundedText, MAX_SEARCH_LENGTH } from './text-input.ts';

/**
 * The usage log: every request through the gateway, filterable, with aggregates by hour, day or
 * model and a CSV export. A customer sees their own account; an admin the whole tenant (or one
 * account of it, with accountId).
 */

const OutcomeEnum = builder.enumType('Outcome', {
  values: {
    COMPLETED: { value: 'completed' },
    ABORTED: { value: 'aborted' },
    FAILED: { value: 'failed' },
    REFUSED: { value: 'refused' },
  } as const,
});

export const UsageRecordRef = builder.objectRef<UsageRecord>('UsageRecord').implement({
  description: 'One request through the gateway.',
  fields: (t) => ({
    id: t.exposeID('id', { description: 'The request id (x-request-id).' }),
    accountId: t.exposeID('accountId'),
    apiKeyId: t.exposeID('apiKeyId', { nullable: true }),
    route: t.exposeString('route'),
    protocol: t.exposeString('protocol', {
      nullable: true,
      description:
        'The wire protocol the request spoke: chat, completions, embeddings, messages or responses. Null for requests from before it was recorded.',
    }),
    model: t.exposeString('model', { nullable: true }),
    stream: t.exposeBoolean('stream'),
    statusCode: t.exposeInt('statusCode'),
    outcome: t.field({ type: OutcomeEnum, resolve: (r) => r.outcome }),
    errorCode: t.exposeString('errorCode', { nullable: true }),
    promptTokens: t.exposeInt('promptTokens'),
    completionTokens: t.exposeInt('completionTokens'),
    charge: t.field({
      type: MoneyRef,
      description: "The request's exact price. The customer paid it less `writtenOff`.",
      resolve: (r) => r.chargeNanos,
    }),
    writtenOff: t.field({
      type: MoneyRef,
      description:
        'Of the price, what the wallet could not pay when the upstream reported more than was held: written off, never owed.',
      resolve: (r) => r.writtenOffNanos,
    }),
    estimated: t.exposeBoolean('estimated', {
      description: 'True when the charge was estimated because the upstream never reported usage.',
    }),
    latencyMs: t.exposeInt('latencyMs', { nullable: true }),
    createdAt: t.field({ type: 'DateTime', resolve: (r) => r.createdAt }),
    tenantRevenue: t.field({
      type: MoneyRef,
      nullable: true,
      authScopes: { admin: true },
      description: 'What this tenant earned on the request.',
      resolve: (r) => r.tenantRevenueNanos,
    }),
    tenantCost: t.field({
      type: MoneyRef,
      nullable: true,
      authScopes: { admin: true },
      description: 'What this tenant paid for it (wholesale or upstream).',
      resolve: (r) => r.tenantCostNanos,
    }),
    ledgerEntries: t.field({
      type: [LedgerEntryRef],
      description:
        "What the ledger took from the customer's wallet for this request (kind USAGE, cause the request id): one entry per funding used, none while it is unsettled or was free.",
      resolve: (r, _args, ctx) => requestEntries(ctx.sql, r.accountId, r.id),
    }),
  }),
});

/** Request ids are the gateway's (`x-request-id`); anything longer names no request. */
const MAX_REQUEST_ID_LENGTH = 200;

builder.queryField('usageRecord', (t) =>
  t.withAuth({ signedIn: true }).field({
    type: UsageRecordRef,
    description: 'One request by its id: your own, or (for an admin) any of the tenant.',
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, { id }, rawCtx) => {
      const ctx = signedIn(rawCtx);
      const requestId = String(id);
      const record =
        requestId.length <= MAX_REQUEST_ID_LENGTH
          ? await findTenantUsage(ctx.sql, ctx.tenant.id, requestId)
          : undefined;
      const own = ctx.viewer.kind === 'account' && record?.accountId === ctx.viewer.account.id;
      if (!record || (!own && !isAdmin(ctx.viewer))) throw notFound('Request');
      return record;
    },
  }),
);

const UsageFilterInput = builder.inputType('UsageFilter', {
  fields: (t) => ({
    accountId: t.id({
      required: false,
      description: 'Admins only: one account of the tenant. Customers always see their own.',
    }),
    apiKeyId: t.id({ required: false }),
    model: t.string({ required: false }),
    outcome: t.field({ type: OutcomeEnum, required: false }),
    statusCode: t.int({ required: false }),
    from: t.field({ type: 'DateTime', required: false, description: 'Inclusive.' }),
    to: t.field({ type: 'DateTime', required: false, description: 'Exclusive.' }),
  }),
});

type FilterArgs = {
  accountId?: string | number | null;
  apiKeyId?: string | number | null;
  model?: string | null;
  outcome?: UsageFilter['outcome'] | null;
  statusCode?: number | null;
  from?: Date | null;
  to?: Date | null;
};

async function usageFilter(ctx: SignedInContext, input: FilterArgs | null | undefined): Promise<UsageFilter> {
  const filter = input ?? {};
  if (filter.from && filter.to && filter.from >= filter.to) throw invalidInput('to', '`to` must be after `from`.');
  return {
    tenantId: ctx.tenant.id,
    accountId: await accountFilter(
      ctx,
      filter.accountId === null || filter.accountId === undefined ? null : String(filter.accountId),
    ),
    apiKeyId:
      filter.apiKeyId === null || filter.apiKeyId === undefined ? null : uuidOr404(String(filter.apiKeyId), 'API key'),
    model: boundedText(filter.model, 'model', MAX_SEARCH_LENGTH),
    outcome: filter.outcome ?? null,
    statusCode: filter.statusCode ?? null,
    from: filter.from ?? null,
    to: filter.to ?? null,
  };
}

const UsageConnection = builder.connectionObject({ type: UsageRecordRef, name: 'UsageRecordConnection' });

builder.queryField('usage', (t) =>
  t.connection(
    {
      type: UsageRecordRef,
      description: 'The request log, newest first.',
      authScopes: { signedIn: true },
      args: { filter: t.arg({ type: UsageFilterInput, required: false }) },
      resolve: async (_root, args, ctx) => {
        const filter = await usageFilter(signedIn(ctx), args.filter);
        return keysetConnection(args, (page) => listUsage(ctx.sql, filter, page));
      },
    },
    UsageConnection,
  ),
);

const GroupingEnum = builder.enumType('UsageGrouping', {
  values: { HOUR: { value: 'hour' }, DAY: { value: 'day' }, MODEL: { value: 'model' } } as const,
});

const UsageBucketRef = builder.objectRef<UsageBucket>('UsageBucket').implement({
  fields: (t) => ({
    key: t.exposeString('key', {
      description: 'The bucket start (UTC, ISO 8601) for HOUR and DAY; the model id for MODEL.',
    }),
    requests: t.exposeInt('requests'),
    errors: t.exposeInt('errors'),
    promptTokens: t.field({ type: 'Count', resolve: (b) => b.promptTokens }),
    completionTokens: t.field({ type: 'Count', resolve: (b) => b.completionTokens }),
    charge: t.field({ type: MoneyRef, resolve: (b) => b.chargeNanos }),
  }),
});

const MAX_BUCKETS = 1_000;
const DEFAULT_RANGE_MS = 30 * 24 * 3600_000;
const MAX_HOURLY_RANGE_MS = 31 * 24 * 3600_000;

builder.queryField('usageSummary', (t) =>
  t.withAuth({ signedIn: true }).field({
    type: [UsageBucketRef],
    description: `Requests, tokens and charges grouped by hour, day (UTC) or model; the last 30 days unless filtered; at most ${MAX_BUCKETS} buckets.`,
    args: {
      filter: t.arg({ type: UsageFilterInput, required: false }),
      groupBy: t.arg({ type: GroupingEnum, required: true }),
    },
    resolve: async (_root, args, ctx) => {
      const filter = await usageFilter(ctx, args.filter);
      const to = filter.to ?? new Date();
      const from = filter.from ?? new Date(to.getTime() - DEFAULT_RANGE_MS);
      if (args.groupBy === 'hour' && to.getTime() - from.getTime() > MAX_HOURLY_RANGE_MS)
        throw invalidInput('filter', 'Hourly buckets cover at most 31 days.');
      return aggregateUsage(ctx.sql, { ...filter, from, to }, args.groupBy, MAX_BUCKETS);
    },
  }),
);

const MAX_CSV_ROWS = 50_000;

builder.queryField('usageCsv', (t) =>
  t.withAuth({ signedIn: true }).field({
    type: 'String',
    description: `The filtered request log as CSV (RFC 4180, newest first, at most ${MAX_CSV_ROWS} rows; narrow the dates for more).`,
    args: { filter: t.arg({ type: UsageFilterInput, required: false }) },
    resolve: async (_root, args, ctx) =>
      usageCsv(await exportUsage(ctx.sql, await usageFilter(ctx, args.filter), MAX_CSV_ROWS)),
  }),
);
