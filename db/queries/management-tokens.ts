import { randomBytes } from 'node:crypto';
import type { Db } from '../sql.ts';
import { keysetTail, positionColumn, withPosition, type KeysetPage, type Positioned } from './keyset.ts';
import { hashToken } from './sessions.ts';

/**
 * Management tokens: what an integrator's software uses to call the management API as the admin
 * of one tenant. Shown once at creation; only a SHA-256 is kept, plus a short public id for lists.
 */

export const MANAGEMENT_TOKEN_PREFIX = 'tgm-';
const MANAGEMENT_TOKEN_BYTES = 32;
const PUBLIC_ID_LENGTH = MANAGEMENT_TOKEN_PREFIX.length + 8;
/** last_used_at is advisory: writing it at most once a minute keeps busy integrations off the disk. */
const LAST_USED_RESOLUTION_SECONDS = 60;

export type ManagementToken = {
  id: string;
  tenantId: string;
  createdBy: string;
  publicId: string;
  name: string;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
};

type TokenRow = {
  id: string;
  tenant_id: string;
  created_by: string;
  public_id: string;
  name: string;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
};

const COLUMNS =
  't.id, t.tenant_id, t.created_by, t.public_id, t.name, t.created_at, t.expires_at, t.revoked_at, t.last_used_at';

function tokenFromRow(row: TokenRow): ManagementToken {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    createdBy: row.created_by,
    publicId: row.public_id,
    name: row.name,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    lastUsedAt: row.last_used_at,
  };
}

export type NewManagementToken = { tenantId: string; createdBy: string; name: string; expiresAt: Date | null };

export async function createManagementToken(
  db: Db,
  input: NewManagementToken,
): Promise<{ token: string; managementToken: ManagementToken }> {
  const token = `${MANAGEMENT_TOKEN_PREFIX}${randomBytes(MANAGEMENT_TOKEN_BYTES).toString('base64url')}`;
  const [row] = await db<TokenRow[]>`
    insert into management_tokens as t (tenant_id, created_by, public_id, token_hash, name, expires_at)
    values (${input.tenantId}::uuid, ${input.createdBy}::uuid, ${token.slice(0, PUBLIC_ID_LENGTH)}, ${hashToken(token)}, ${input.name}, ${input.expiresAt})
    returning ${db.unsafe(COLUMNS)}`;
  if (!row) throw new Error('management token insert returned nothing');
  return { token, managementToken: tokenFromRow(row) };
}

/** The tenant a usable (unrevoked, unexpired) token acts for; marks the token as used. */
export async function useManagementToken(db: Db, token: string): Promise<ManagementToken | undefined> {
  const [row] = await db<TokenRow[]>`
    select ${db.unsafe(COLUMNS)} from management_tokens t
    where t.token_hash = ${hashToken(token)} and t.revoked_at is null and (t.expires_at is null or t.expires_at > now())`;
  if (!row) return undefined;
  if (row.last_used_at === null || row.last_used_at.getTime() < Date.now() - LAST_USED_RESOLUTION_SECONDS * 1000) {
    await db`update management_tokens set last_used_at = now()
      where id = ${row.id}::uuid and (last_used_at is null or last_used_at < now() - make_interval(secs => ${LAST_USED_RESOLUTION_SECONDS}))`;
  }
  return tokenFromRow(row);
}

export async function listManagementTokens(
  db: Db,
  tenantId: string,
  page: KeysetPage,
): Promise<Positioned<ManagementToken>[]> {
  const rows = await db<(TokenRow & { position_at: string })[]>`
    select ${db.unsafe(COLUMNS)}, ${positionColumn(db, 't')} from management_tokens t
    where t.tenant_id = ${tenantId}::uuid ${keysetTail(db, page, 't', 'uuid')}`;
  return rows.map((row) => withPosition(row, tokenFromRow));
}

/** Revokes a token of this tenant; a token of another tenant is not found. Revoking twice keeps the first time. */
export async function revokeManagementToken(
  db: Db,
  tenantId: string,
  id: string,
): Promise<ManagementToken | undefined> {
  const [row] = await db<TokenRow[]>`
    update management_tokens t set revoked_at = coalesce(t.revoked_at, now())
    where t.id = ${id}::uuid and t.tenant_id = ${tenantId}::uuid returning ${db.unsafe(COLUMNS)}`;
  return row ? tokenFromRow(row) : undefined;
}
