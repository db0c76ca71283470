import { findAccount } from '../../db/queries/accounts.ts';
import { findApiKey } from '../../db/queries/api-keys.ts';
import {
  deleteTenantPolicy,
  listTenantPolicies,
  upsertPolicy,
  type PolicyLimits,
  type PolicySubjectRef,
  type StoredPolicy,
} from '../../db/queries/rate-limit-policies.ts';
import { findTenant, type Tenant } from '../../db/queries/tenants.ts';
import { flag, optionalString, type ParsedArgs } from '../args.ts';
import type { Command, OptionSpec, Output, Session } from '../command.ts';
import { UsageError } from '../errors.ts';
import { fields, formatDate, money, table } from '../format.ts';
import { accountOption, tenantOption } from '../resolve.ts';
import { integer, usdAmount } from '../values.ts';

/**
 * Rate-limit and spending policies: a tenant's default for each of its accounts, an account's own
 * (which replaces the default), an API key's (on top of its account's), and the cap on a tenant as
 * a whole (--whole-tenant: all its customers counted together). The same policies the portal's
 * console sets, one per subject; the gateway picks up a change within seconds.
 */

/** The database column is a 32-bit integer. */
const MAX_COUNT_LIMIT = 2_147_483_647;
/** Typed to clear one limit of a policy and keep the others. */
const NO_LIMIT = 'none';

const COUNT_LIMITS = {
  rpm: 'requestsPerMinute',
  rph: 'requestsPerHour',
  tpm: 'tokensPerMinute',
  concurrency: 'concurrentRequests',
} as const;
const SPEND_LIMITS = { 'spend-day': 'spendPerDayNanos', 'spend-month': 'spendPerMonthNanos' } as const;
const NO_LIMITS: PolicyLimits = {
  requestsPerMinute: null,
  requestsPerHour: null,
  tokensPerMinute: null,
  concurrentRequests: null,
  spendPerDayNanos: null,
  spendPerMonthNanos: null,
};

const SUBJECT_OPTIONS: Record<string, OptionSpec> = {
  account: { type: 'string', value: 'ID|EMAIL', help: "the account's policy" },
  key: { type: 'string', value: 'PUBLIC_ID|ID', help: "the API key's policy (tg-… or its id)" },
  tenant: {
    type: 'string',
    value: 'SLUG|ID',
    help: "alone: the tenant's default, counted for each account apart; with --account: where to look the email up",
  },
  'whole-tenant': {
    type: 'boolean',
    help: 'the cap on the tenant as a whole (--tenant, default root): all its customers counted together',
  },
};

type SubjectRefs = { account?: string; key?: string; tenant?: string; wholeTenant: boolean };
type Subject = { ref: PolicySubjectRef; tenant: Tenant; label: string };

/** Exactly one subject, checked before the database is opened. */
function subjectRefs(command: string, args: ParsedArgs): SubjectRefs {
  const refs = {
    account: optionalString(args, 'account'),
    key: optionalString(args, 'key'),
    tenant: optionalString(args, 'tenant'),
    wholeTenant: flag(args, 'whole-tenant'),
  };
  if (refs.wholeTenant && (refs.account !== undefined || refs.key !== undefined))
    throw new UsageError(`${command}: --whole-tenant names a tenant (--tenant), not an account or a key`);
  if (refs.account !== undefined && refs.key !== undefined)
    throw new UsageError(`${command}: give --account or --key, not both`);
  if (refs.key !== undefined && refs.tenant !== undefined)
    throw new UsageError(`${command}: --tenant does not go with --key (a key's tenant is its account's)`);
  if (refs.account === undefined && refs.key === undefined && refs.tenant === undefined && !refs.wholeTenant) {
    throw new UsageError(`${command}: name what the limits apply to: --account, --key, --tenant or --whole-tenant`);
  }
  return refs;
}

async function resolveSubject(session: Session, command: string, refs: SubjectRefs): Promise<Subject> {
  if (refs.key !== undefined) {
    const key = await findApiKey(session.db.sql, refs.key);
    const account = key ? await findAccount(session.db.sql, key.accountId) : undefined;
    const tenant = account ? await findTenant(session.db.sql, account.tenantId) : undefined;
    if (!key || !account || !tenant)
      throw new UsageError(`${command}: no key "${refs.key}" (give its public id, like tg-AbCd1234, or its id)`);
    return { ref: { kind: 'apiKey', id: key.id }, tenant, label: `key ${key.publicId} of ${account.email}` };
  }
  if (refs.account !== undefined) {
    const { account, tenant } = await accountOption(session, command, refs.account, refs.tenant);
    return { ref: { kind: 'account', id: account.id }, tenant, label: `account ${account.email}` };
  }
  const tenant = await tenantOption(session, command, refs.tenant);
  if (refs.wholeTenant)
    return { ref: { kind: 'wholeTenant', id: tenant.id }, tenant, label: `tenant ${tenant.slug} as a whole` };
  return {
    ref: { kind: 'tenant', id: tenant.id },
    tenant,
    label: `the default of each account of tenant ${tenant.slug}`,
  };
}

async function currentPolicy(session: Session, subject: Subject): Promise<StoredPolicy | undefined> {
  const policies = await listTenantPolicies(session.db.sql, subject.tenant.id);
  return policies.find((policy) => policy.subject.kind === subject.ref.kind && policy.subject.id === subject.ref.id);
}

function policyJson(policy: StoredPolicy | undefined) {
  if (!policy) return null;
  const spend = (nanos: bigint | null) => (nanos === null ? null : money(nanos));
  return {
    id: policy.id,
    requestsPerMinute: policy.requestsPerMinute,
    requestsPerHour: policy.requestsPerHour,
    tokensPerMinute: policy.tokensPerMinute,
    concurrentRequests: policy.concurrentRequests,
    spendPerDay: spend(policy.spendPerDayNanos),
    spendPerMonth: spend(policy.spendPerMonthNanos),
    updatedAt: policy.updatedAt,
  };
}

function limitCells(policy: PolicyLimits): string[] {
  const count = (value: number | null) => (value === null ? '-' : String(value));
  const usd = (nanos: bigint | null) => (nanos === null ? '-' : `$${money(nanos).usd}`);
  return [
    count(policy.requestsPerMinute),
    count(policy.requestsPerHour),
    count(policy.tokensPerMinute),
    count(policy.concurrentRequests),
    usd(policy.spendPerDayNanos),
    usd(policy.spendPerMonthNanos),
  ];
}

const LIMIT_HEADERS = ['RPM', 'RPH', 'TPM', 'CONCURRENCY', 'SPEND/DAY', 'SPEND/MONTH'];

function policyText(subject: Subject, policy: StoredPolicy | undefined): string {
  if (!policy) return `no limits set for ${subject.label}`;
  const cells = limitCells(policy);
  return fields([
    ['limits for', subject.label],
    ...LIMIT_HEADERS.map((header, i): [string, string] => [header.toLowerCase(), cells[i] ?? '-']),
    ['updated', formatDate(policy.updatedAt)],
  ]);
}

function subjectJson(subject: Subject) {
  return { kind: subject.ref.kind, id: subject.ref.id, tenantId: subject.tenant.id, tenantSlug: subject.tenant.slug };
}

/** The limits given on the command line: a value sets it, `none` clears it, a limit left out is kept. */
function limitChanges(command: string, args: ParsedArgs): Partial<PolicyLimits> {
  const changes: Partial<PolicyLimits> = {};
  for (const [option, field] of Object.entries(COUNT_LIMITS)) {
    const text = optionalString(args, option);
    if (text !== undefined)
      changes[field] = text === NO_LIMIT ? null : integer(command, option, text, 1, MAX_COUNT_LIMIT);
  }
  for (const [option, field] of Object.entries(SPEND_LIMITS)) {
    const text = optionalString(args, option);
    if (text !== undefined) changes[field] = text === NO_LIMIT ? null : usdAmount(command, option, text);
  }
  if (Object.keys(changes).length === 0)
    throw new UsageError(
      `${command}: give at least one limit (--rpm, --rph, --tpm, --concurrency, --spend-day, --spend-month)`,
    );
  return changes;
}

const SET = 'limits set';
const SHOW = 'limits show';
const CLEAR = 'limits clear';

export const limitsSetCommand: Command = {
  name: SET,
  summary: "set limits: a tenant's default per account, an account's, a key's or a whole tenant's (others are kept)",
  options: {
    ...SUBJECT_OPTIONS,
    rpm: { type: 'string', value: 'N|none', help: 'requests per minute' },
    rph: { type: 'string', value: 'N|none', help: 'requests per hour' },
    tpm: { type: 'string', value: 'N|none', help: 'tokens (prompt + completion) per minute' },
    concurrency: { type: 'string', value: 'N|none', help: 'requests in flight at once' },
    'spend-day': { type: 'string', value: 'USD|none', help: 'the most spent per UTC day, e.g. 5.00' },
    'spend-month': { type: 'string', value: 'USD|none', help: 'the most spent per UTC calendar month' },
  },
  prepare: (args) => {
    const refs = subjectRefs(SET, args);
    const changes = limitChanges(SET, args);
    return async (session) => {
      const subject = await resolveSubject(session, SET, refs);
      const previous = await currentPolicy(session, subject);
      const limits = { ...NO_LIMITS, ...previous, ...changes };
      const policy = await upsertPolicy(session.db.sql, subject.ref, {
        requestsPerMinute: limits.requestsPerMinute,
        requestsPerHour: limits.requestsPerHour,
        tokensPerMinute: limits.tokensPerMinute,
        concurrentRequests: limits.concurrentRequests,
        spendPerDayNanos: limits.spendPerDayNanos,
        spendPerMonthNanos: limits.spendPerMonthNanos,
      });
      return { json: { subject: subjectJson(subject), policy: policyJson(policy) }, text: policyText(subject, policy) };
    };
  },
};

/** The prepare step of a command about one subject: the subject and its current policy are handed to `work`. */
function aboutSubject(
  command: string,
  work: (session: Session, subject: Subject, policy: StoredPolicy | undefined) => Promise<Output>,
): Command['prepare'] {
  return (args) => {
    const refs = subjectRefs(command, args);
    return async (session) => {
      const subject = await resolveSubject(session, command, refs);
      return work(session, subject, await currentPolicy(session, subject));
    };
  };
}

export const limitsShowCommand: Command = {
  name: SHOW,
  summary: 'show the limits set on a tenant, an account or an API key',
  options: SUBJECT_OPTIONS,
  prepare: aboutSubject(SHOW, async (_session, subject, policy) => ({
    json: { subject: subjectJson(subject), policy: policyJson(policy) },
    text: policyText(subject, policy),
  })),
};

export const limitsClearCommand: Command = {
  name: CLEAR,
  summary: 'remove every limit set on a tenant, an account or an API key',
  options: SUBJECT_OPTIONS,
  prepare: aboutSubject(CLEAR, async (session, subject, policy) => {
    const cleared = policy !== undefined && (await deleteTenantPolicy(session.db.sql, subject.tenant.id, policy.id));
    return {
      json: { subject: subjectJson(subject), cleared },
      text: cleared ? `cleared the limits of ${subject.label}` : `no limits were set for ${subject.label}`,
    };
  }),
};

export const limitsListCommand: Command = {
  name: 'limits list',
  summary: 'list every policy of a tenant, its accounts and their keys (default: root)',
  options: { tenant: { type: 'string', value: 'SLUG|ID', help: 'tenant (default: root)' } },
  prepare: (args) => {
    const tenantRef = optionalString(args, 'tenant');
    return async (session) => {
      const tenant = await tenantOption(session, 'limits list', tenantRef);
      const policies = await listTenantPolicies(session.db.sql, tenant.id);
      const rows = policies.map((p) => [p.subject.kind, p.subject.id, ...limitCells(p), formatDate(p.updatedAt)]);
      return {
        json: {
          tenantId: tenant.id,
          tenantSlug: tenant.slug,
          policies: policies.map((p) => ({ subject: p.subject, ...policyJson(p) })),
        },
        text: table(['SUBJECT', 'ID', ...LIMIT_HEADERS, 'UPDATED'], rows, `no limits set in tenant ${tenant.slug}`),
      };
    };
  },
};
