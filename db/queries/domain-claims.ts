import { inTransaction, type Db } from '../sql.ts';
import { keysetTail, positionColumn, withPosition, type KeysetPage, type Positioned } from './keyset.ts';
import { tenantFromRow, type Tenant } from './tenants.ts';

/** Custom domains a tenant has asked for, and the proof that makes one take effect (schema/domain.ts). */

export type DomainProofMethod = 'dns' | 'http';

export type DomainClaim = {
  id: string;
  tenantId: string;
  tenantSlug: string;
  domain: string;
  token: string;
  createdAt: Date;
  checkedAt: Date | null;
  checkError: string | null;
  verifiedAt: Date | null;
  verifiedBy: DomainProofMethod | null;
};

type ClaimRow = {
  id: string;
  tenant_id: string;
  tenant_slug: string;
  domain: string;
  token: string;
  created_at: Date;
  checked_at: Date | null;
  check_error: string | null;
  verified_at: Date | null;
  verified_by: DomainProofMethod | null;
};

const SELECT_CLAIM = `c.id, c.tenant_id, t.slug as tenant_slug, c.domain, c.token, c.created_at, c.checked_at,
  c.check_error, c.verified_at, c.verified_by`;
/** What a failed check records, cut to the column's bound. */
const MAX_CHECK_ERROR_CHARS = 500;

function claimFromRow(row: ClaimRow): DomainClaim {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    tenantSlug: row.tenant_slug,
    domain: row.domain,
    token: row.token,
    createdAt: row.created_at,
    checkedAt: row.checked_at,
    checkError: row.check_error,
    verifiedAt: row.verified_at,
    verifiedBy: row.verified_by,
  };
}

/** The tenant's one pending claim, replaced by this one. */
export async function claimDomain(db: Db, tenantId: string, domain: string, token: string): Promise<void> {
  await inTransaction(db, async (tx) => {
    await tx`delete from domain_claims where tenant_id = ${tenantId}::uuid and verified_at is null`;
    await tx`insert into domain_claims (tenant_id, domain, token) values (${tenantId}::uuid, ${domain}, ${token})`;
  });
}

export async function dropPendingClaim(db: Db, tenantId: string): Promise<void> {
  await db`delete from domain_claims where tenant_id = ${tenantId}::uuid and verified_at is null`;
}

export async function findPendingClaim(db: Db, tenantId: string): Promise<DomainClaim | undefined> {
  const [row] = await db<ClaimRow[]>`
    select ${db.unsafe(SELECT_CLAIM)} from domain_claims c join tenants t on t.id = c.tenant_id
    where c.tenant_id = ${tenantId}::uuid and c.verified_at is null`;
  return row ? claimFromRow(row) : undefined;
}

/** Whether a tenant other than this one serves the domain now. */
export async function domainOfAnotherTenant(db: Db, tenantId: string, domain: string): Promise<boolean> {
  const [row] = await db`select 1 from tenants where custom_domain = ${domain} and id <> ${tenantId}::uuid`;
  return row !== undefined;
}

/**
 * Takes the claim's turn to be checked, unless it was checked less than `intervalSeconds` ago: one
 * conditional update, so concurrent requests (on any replica) start one check between them.
 */
export async function startCheck(db: Db, claimId: string, intervalSeconds: number): Promise<boolean> {
  const rows = await db`
    update domain_claims set checked_at = now()
    where id = ${claimId}::uuid and verified_at is null
      and (checked_at is null or checked_at < now() - make_interval(secs => ${intervalSeconds}))
    returning id`;
  return rows.length > 0;
}

export async function recordCheckFailure(db: Db, claimId: string, error: string): Promise<void> {
  await db`update domain_claims set check_error = ${error.slice(0, MAX_CHECK_ERROR_CHARS)} where id = ${claimId}::uuid`;
}

/**
 * The proven claim becomes the tenant's domain. Fails with a unique violation on
 * tenants_custom_domain_key when another tenant took the domain meanwhile.
 */
export async function verifyClaim(db: Db, claim: DomainClaim, method: DomainProofMethod): Promise<Tenant | undefined> {
  return inTransaction(db, async (tx) => {
    await tx`update domain_claims set verified_at = now(), verified_by = ${method}, check_error = null
      where id = ${claim.id}::uuid`;
    const [row] = await tx<Parameters<typeof tenantFromRow>[0][]>`
      update tenants set custom_domain = ${claim.domain} where id = ${claim.tenantId}::uuid returning *`;
    return row ? tenantFromRow(row) : undefined;
  });
}

/** Every tenant's claims, newest first, for the operator; `pendingOnly` leaves out the proven ones. */
export async function listDomainClaims(
  db: Db,
  pendingOnly: boolean,
  page: KeysetPage,
): Promise<Positioned<DomainClaim>[]> {
  const rows = await db<(ClaimRow & { position_at: string })[]>`
    select ${db.unsafe(SELECT_CLAIM)}, ${positionColumn(db, 'c')} from domain_claims c join tenants t on t.id = c.tenant_id
    where ${pendingOnly ? db`c.verified_at is null` : db`true`} ${keysetTail(db, page, 'c', 'uuid')}`;
  return rows.map((row) => withPosition(row, claimFromRow));
}
