import { createHash } from 'node:crypto';
import { clientKey, inRanges, type AddressRange } from '../core/ip-address.ts';
import type { ThrottleCounter, ThrottlePolicy } from '../db/queries/sign-in-throttle.ts';

/**
 * How fast sign-in and sign-up may be tried, per account and per client address. Past the free
 * failures each attempt must wait twice as long as the last (1 s, 2 s, 4 s … at most 30 s); at the
 * lockout count the counter refuses everything, the right password too, for 15 minutes. An
 * address gets more room than an account, since many people can share one (an office's NAT).
 */

const MINUTE_SECONDS = 60;

/** Per e-mail address and tenant, known or not (an unknown one is throttled alike, so it tells nothing). */
export const ACCOUNT_THROTTLE: ThrottlePolicy = {
  freeFailures: 5,
  lockoutFailures: 10,
  baseDelaySeconds: 1,
  maxDelaySeconds: 30,
  lockoutSeconds: 15 * MINUTE_SECONDS,
  memorySeconds: 30 * MINUTE_SECONDS,
};

/** Per client address, over every account it tries. */
export const ADDRESS_THROTTLE: ThrottlePolicy = {
  freeFailures: 20,
  lockoutFailures: 50,
  baseDelaySeconds: 1,
  maxDelaySeconds: 30,
  lockoutSeconds: 15 * MINUTE_SECONDS,
  memorySeconds: 30 * MINUTE_SECONDS,
};

/** Sign-ups per client address; each one counts, successful or not. */
export const SIGN_UP_THROTTLE: ThrottlePolicy = {
  freeFailures: 10,
  lockoutFailures: 30,
  baseDelaySeconds: 1,
  maxDelaySeconds: 30,
  lockoutSeconds: 15 * MINUTE_SECONDS,
  memorySeconds: 30 * MINUTE_SECONDS,
};

/** X-Forwarded-For hops read at most, from the right: a longer chain is a client's invention. */
const MAX_FORWARDED_HOPS = 10;

/**
 * The client's address: the peer's own, or, when the peer is a trusted proxy (the portal, a load
 * balancer), the nearest hop of X-Forwarded-For that is not itself trusted. Read from the right,
 * since a client can write anything on the left of that header.
 */
export function clientAddress(
  request: Request,
  peer: string | undefined,
  trusted: readonly AddressRange[],
): string | undefined {
  if (peer === undefined || !inRanges(peer, trusted)) return peer;
  const hops = (request.headers.get('x-forwarded-for') ?? '').split(',').map((hop) => hop.trim());
  let address = peer;
  for (const hop of hops.reverse().slice(0, MAX_FORWARDED_HOPS)) {
    if (clientKey(hop) === undefined) break;
    address = hop;
    if (!inRanges(hop, trusted)) break;
  }
  return address;
}

/** The account's counter: by tenant and hashed e-mail, so the table keeps no addresses people typed. */
export function accountCounter(tenantId: string, email: string): ThrottleCounter {
  const hashed = createHash('sha256').update(email.trim().toLowerCase()).digest('base64url');
  return { key: `account:${tenantId}:${hashed}`, policy: ACCOUNT_THROTTLE };
}

function addressCounter(prefix: string, address: string | undefined, policy: ThrottlePolicy): ThrottleCounter[] {
  const key = address === undefined ? undefined : clientKey(address);
  return key === undefined ? [] : [{ key: `${prefix}:${key}`, policy }];
}

/** Address first, then account: every attempt takes the rows' locks in this one order. */
export function signInCounters(tenantId: string, email: string, address: string | undefined): ThrottleCounter[] {
  return [...addressCounter('address', address, ADDRESS_THROTTLE), accountCounter(tenantId, email)];
}

export function signUpCounters(address: string | undefined): ThrottleCounter[] {
  return addressCounter('sign-up', address, SIGN_UP_THROTTLE);
}
