import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Where webhooks may go. A webhook URL is chosen by a customer, and the gateway sits inside the
 * operator's network: without a check, a URL could make it call its own admin ports, the database,
 * or the cloud's metadata service. Refused unless the operator allows private targets: loopback,
 * private (RFC 1918, unique local), carrier-grade NAT, link-local (which holds 169.254.169.254,
 * the metadata service), unspecified, multicast, reserved and documentation ranges, and IPv6
 * forms that embed an IPv4 address (mapped, NAT64). The check runs on every address a name
 * resolves to, at the moment of connecting, and again on every redirect.
 */

const FORBIDDEN = new BlockList();
const IPV4_RANGES: [string, number][] = [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
];
const IPV6_RANGES: [string, number][] = [
  ['::', 127],
  ['64:ff9b::', 96],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
];
for (const [network, prefix] of IPV4_RANGES) FORBIDDEN.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of IPV6_RANGES) FORBIDDEN.addSubnet(network, prefix, 'ipv6');

/** An address a webhook may connect to by default. IPv4-mapped IPv6 addresses are judged as their IPv4. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return !FORBIDDEN.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export class RefusedTarget extends Error {}

export type AddressPolicy = (address: string) => boolean;

/** The host part of a URL as an address when it is one (`[::1]` → `::1`), else null. */
export function literalAddress(hostname: string): string | null {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return isIP(bare) === 0 ? null : bare;
}

const MAX_URL_LENGTH = 2_000;

/** A URL's shape, before any name is resolved: http(s), no credentials, at most 2,000 characters. */
export function parseWebhookUrl(text: string): URL {
  if (text.length > MAX_URL_LENGTH) throw new RefusedTarget(`A webhook URL has at most ${MAX_URL_LENGTH} characters.`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RefusedTarget('Not a URL.');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new RefusedTarget('A webhook URL is http(s).');
  if (url.username || url.password) throw new RefusedTarget('A webhook URL carries no user name or password.');
  return url;
}

export type ResolvedAddress = { address: string; family: number };

/** Every address the name resolves to, all of them allowed by the policy; else RefusedTarget. */
export async function resolveAllowed(hostname: string, allowed: AddressPolicy): Promise<ResolvedAddress[]> {
  const literal = literalAddress(hostname);
  const addresses = literal ? [{ address: literal, family: isIP(literal) }] : await lookup(hostname, { all: true });
  if (addresses.length === 0) throw new Error(`${hostname} has no address`);
  const refused = addresses.find((entry) => !allowed(entry.address));
  if (refused) throw new RefusedTarget(`${hostname} points at ${refused.address}, which webhooks may not reach.`);
  return addresses;
}
