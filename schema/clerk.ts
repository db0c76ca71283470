import { createClerkClient, verifyToken } from '@clerk/backend';
import { createAccount, type Account } from '../db/queries/accounts.ts';
import { findAccountByClerkUser } from '../db/queries/account-auth.ts';
import type { Tenant } from '../db/queries/tenants.ts';
import type { Config } from '../app/config.ts';
import type { ApiServices } from './context.ts';
import { forbidden, isUniqueViolation, unauthenticated } from './errors.ts';

/**
 * Clerk sign-in: a Clerk session token (an RS256 JWT) is verified with @clerk/backend, without a
 * network call when CLERK_JWT_KEY is set, and mapped to the account linked to its user id. A user
 * seen for the first time gets a customer account in the tenant of the request.
 *
 * The account needs an e-mail. It is read from an `email` claim (add
 * `{"email": "{{user.primary_email_address}}"}` to the session token in the Clerk dashboard) or,
 * when only CLERK_SECRET_KEY is set, fetched once from Clerk's API.
 */

type ClerkConfig = NonNullable<Config['clerk']>;

const JWT_SHAPE = /^[\w-]+\.[\w-]+\.[\w-]+$/;

export function looksLikeJwt(token: string): boolean {
  return JWT_SHAPE.test(token);
}

async function emailOf(clerk: ClerkConfig, userId: string, claims: Record<string, unknown>): Promise<string> {
  if (typeof claims.email === 'string' && claims.email.includes('@')) return claims.email;
  if (!clerk.secretKey) {
    throw forbidden(
      'This Clerk session token has no email claim: add {"email": "{{user.primary_email_address}}"} to the session token, or set CLERK_SECRET_KEY.',
    );
  }
  const user = await createClerkClient({ secretKey: clerk.secretKey }).users.getUser(userId);
  const primary =
    user.emailAddresses.find((address) => address.id === user.primaryEmailAddressId) ?? user.emailAddresses[0];
  if (!primary) throw forbidden('This Clerk user has no e-mail address.');
  return primary.emailAddress;
}

async function verifiedClaims(clerk: ClerkConfig, token: string): Promise<Record<string, unknown> & { sub: string }> {
  try {
    const claims = await verifyToken(token, { jwtKey: clerk.jwtKey, secretKey: clerk.secretKey });
    return claims as Record<string, unknown> & { sub: string };
  } catch {
    throw unauthenticated('This Clerk session token is invalid or has expired.');
  }
}

/** The account behind a Clerk session token, created on first sight in the request's tenant. */
export async function clerkAccount(
  services: ApiServices,
  clerk: ClerkConfig,
  token: string,
  requestTenant: Tenant,
): Promise<Account> {
  const claims = await verifiedClaims(clerk, token);
  const existing = await findAccountByClerkUser(services.sql, claims.sub);
  if (existing) return existing;
  const email = await emailOf(clerk, claims.sub, claims);
  try {
    return await createAccount(services.sql, { tenantId: requestTenant.id, email, clerkUserId: claims.sub });
  } catch (error) {
    if (isUniqueViolation(error, 'accounts_clerk_user_id_key')) {
      // A concurrent first request of the same user created it a moment ago.
      const raced = await findAccountByClerkUser(services.sql, claims.sub);
      if (raced) return raced;
    }
    if (isUniqueViolation(error, 'accounts_tenant_email')) {
      throw forbidden('An account with this e-mail already exists here; sign in with its password.');
    }
    throw error;
  }
}
