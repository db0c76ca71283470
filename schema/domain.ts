import type { Db } from '../db/sql.ts';
import { randomBytes } from 'node:crypto';
import {
  claimDomain,
  domainOfAnotherTenant,
  dropPendingClaim,
  findPendingClaim,
  listDomainClaims,
  recordCheckFailure,
  startCheck,
  verifyClaim,
  type DomainClaim,
} from '../db/queries/domain-claims.ts';
import { setCustomDomain } from '../db/queries/tenant-admin.ts';
import type { Tenant } from '../db/queries/tenants.ts';
import { builder } from './builder.ts';
import type { GraphqlContext, SignedInContext } from './context.ts';
import { reservedHosts, VERIFY_RECORD_PREFIX, WELL_KNOWN_PREFIX } from './domain-check.ts';
import { invalidInput, isUniqueViolation } from './errors.ts';
import { keysetConnection } from './pagination.ts';
import { signedIn } from './context.ts';
import { TenantRef } from './tenant.ts';

/**
 * Custom domains a tenant must prove. `setCustomDomain` records a claim with a random token; the
 * domain takes effect (routes its host to the tenant) only when `verifyCustomDomain` finds the
 * token in DNS or over HTTP (schema/domain-check.ts). The operator's own hosts and every domain
 * another tenant serves are refused; the operator sees every claim.
 */

const HOSTNAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const TOKEN_BYTES = 24;
/** One check per claim in this time, whoever asks: each check makes outbound DNS and HTTP requests. */
export const MIN_SECONDS_BETWEEN_CHECKS = 3;

const DomainClaimStatusEnum = builder.enumType('DomainClaimStatus', {
  values: { PENDING: { value: 'pending' }, VERIFIED: { value: 'verified' } } as const,
});
const DomainProofEnum = builder.enumType('DomainProof', {
  values: { DNS: { value: 'dns' }, HTTP: { value: 'http' } } as const,
});

const DomainClaimRef = builder.objectRef<DomainClaim>('DomainClaim').implement({
  description:
    'A host name a tenant asked for. Prove it with a TXT record (dnsRecordName = token) or by serving the token at httpUrl, then call verifyCustomDomain.',
  fields: (t) => ({
    id: t.exposeID('id'),
    tenantId: t.exposeID('tenantId'),
    tenantSlug: t.exposeString('tenantSlug'),
    domain: t.exposeString('domain'),
    status: t.field({ type: DomainClaimStatusEnum, resolve: (c) => (c.verifiedAt ? 'verified' : 'pending') }),
    token: t.exposeString('token', { description: 'The value to publish; it proves nothing by itself.' }),
    dnsRecordName: t.string({ resolve: (c) => `${VERIFY_RECORD_PREFIX}.${c.domain}` }),
    httpUrl: t.string({
      description: 'Serve the token as the whole body, status 200, over plain http.',
      resolve: (c) => `http://${c.domain}${WELL_KNOWN_PREFIX}${c.token}`,
    }),
    createdAt: t.field({ type: 'DateTime', resolve: (c) => c.createdAt }),
    checkedAt: t.field({ type: 'DateTime', nullable: true, resolve: (c) => c.checkedAt }),
    lastError: t.exposeString('checkError', { nullable: true, description: 'Why the last check failed.' }),
    verifiedAt: t.field({ type: 'DateTime', nullable: true, resolve: (c) => c.verifiedAt }),
    verifiedBy: t.field({ type: DomainProofEnum, nullable: true, resolve: (c) => c.verifiedBy }),
  }),
});

builder.objectField(TenantRef, 'domainClaim', (t) =>
  t.field({
    type: DomainClaimRef,
    nullable: true,
    authScopes: { admin: true },
    description: 'The domain this tenant claimed and has not proved yet; null when there is none.',
    resolve: (tenant, _args, ctx) => findPendingClaim(ctx.sql, tenant.id),
  }),
);

/** Refuses the operator's hosts and any domain another tenant serves, with a reason a client can test. */
async function checkClaimable(ctx: GraphqlContext, tenant: Tenant, domain: string): Promise<void> {
  if (reservedHosts(ctx.config).has(domain))
    throw invalidInput('domain', 'This host name belongs to the service itself.', 'DOMAIN_RESERVED');
  if (await domainOfAnotherTenant(ctx.sql, tenant.id, domain))
    throw invalidInput('domain', 'Another tenant already uses this domain.', 'DOMAIN_TAKEN');
}

/** A new reseller's domain (the "add a reseller" form): claimed as setCustomDomain claims, effective once proved. */
export async function claimNewTenantDomain(
  ctx: GraphqlContext,
  db: Db,
  tenant: Tenant,
  domain: string,
  field: string,
): Promise<void> {
  const host = domain.trim().toLowerCase();
  if (!HOSTNAME.test(host)) throw invalidInput(field, 'Not a host name like portal.example.com.');
  if (reservedHosts(ctx.config).has(host))
    throw invalidInput(field, 'This host name belongs to the service itself.', 'DOMAIN_RESERVED');
  if (await domainOfAnotherTenant(db, tenant.id, host))
    throw invalidInput(field, 'Another tenant already uses this domain.', 'DOMAIN_TAKEN');
  await claimDomain(db, tenant.id, host, randomBytes(TOKEN_BYTES).toString('hex'));
}

async function claim(ctx: SignedInContext, domain: string | null | undefined): Promise<Tenant> {
  const host = domain?.trim().toLowerCase() || null;
  if (host === null) {
    await dropPendingClaim(ctx.sql, ctx.tenant.id);
    return (await setCustomDomain(ctx.sql, ctx.tenant.id, null)) ?? ctx.tenant;
  }
  if (!HOSTNAME.test(host)) throw invalidInput('domain', 'Not a host name like portal.example.com.');
  if (host === ctx.tenant.customDomain) {
    await dropPendingClaim(ctx.sql, ctx.tenant.id);
    return ctx.tenant;
  }
  await checkClaimable(ctx, ctx.tenant, host);
  await claimDomain(ctx.sql, ctx.tenant.id, host, randomBytes(TOKEN_BYTES).toString('hex'));
  return ctx.tenant;
}

builder.mutationField('setCustomDomain', (t) =>
  t.withAuth({ admin: true }).field({
    type: TenantRef,
    description:
      'Claims a host name for this tenant; it takes effect once verifyCustomDomain finds the proof (see Tenant.domainClaim), and until then the current domain stays. null removes the domain and any claim.',
    args: { domain: t.arg.string({ required: false }) },
    resolve: (_root, { domain }, ctx) => claim(ctx, domain),
  }),
);

async function verify(ctx: SignedInContext): Promise<Tenant> {
  const pending = await findPendingClaim(ctx.sql, ctx.tenant.id);
  if (!pending)
    throw invalidInput('domain', 'There is no domain claim to verify: call setCustomDomain first.', 'NO_CLAIM');
  await checkClaimable(ctx, ctx.tenant, pending.domain);
  if (!(await startCheck(ctx.sql, pending.id, MIN_SECONDS_BETWEEN_CHECKS)))
    throw invalidInput('domain', `Checked less than ${MIN_SECONDS_BETWEEN_CHECKS} seconds ago; try again.`, 'TOO_SOON');
  const proof = await ctx.domainCheck(pending.domain, pending.token);
  if (!proof.proven) {
    await recordCheckFailure(ctx.sql, pending.id, proof.reason);
    throw invalidInput('domain', proof.reason, 'DOMAIN_NOT_PROVEN');
  }
  try {
    return (await verifyClaim(ctx.sql, pending, proof.method)) ?? ctx.tenant;
  } catch (error) {
    if (isUniqueViolation(error, 'tenants_custom_domain_key'))
      throw invalidInput('domain', 'Another tenant already uses this domain.', 'DOMAIN_TAKEN');
    throw error;
  }
}

builder.mutationField('verifyCustomDomain', (t) =>
  t.withAuth({ admin: true }).field({
    type: TenantRef,
    description:
      "Checks the tenant's domain claim now: the token in DNS, else over HTTP. On success the domain serves this tenant; otherwise INVALID_INPUT says what was found.",
    resolve: (_root, _args, ctx) => verify(ctx),
  }),
);

const DomainClaimConnection = builder.connectionObject({ type: DomainClaimRef, name: 'DomainClaimConnection' });

builder.queryField('domainClaims', (t) =>
  t.connection(
    {
      type: DomainClaimRef,
      authScopes: { operator: true },
      description: "The operator's view of every tenant's domain claims, newest first.",
      args: { pendingOnly: t.arg.boolean({ required: false, defaultValue: false }) },
      resolve: (_root, args, rawCtx) => {
        const ctx = signedIn(rawCtx);
        return keysetConnection(args, (page) => listDomainClaims(ctx.sql, args.pendingOnly ?? false, page));
      },
    },
    DomainClaimConnection,
  ),
);
