/**
 * Which addresses the server may reach when a customer names the target (a domain to verify, a
 * webhook URL): only public unicast ones. Loopback, private, carrier-grade NAT, link-local (cloud
 * metadata at 169.254.169.254 and fd00:ec2::254), multicast, documentation and reserved ranges
 * are refused, also when they hide inside an IPv6 form (IPv4-mapped, NAT64, 6to4). Pure: the
 * caller resolves names and asks about every address it would connect to.
 */

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const HEXTET = /^[0-9a-f]{1,4}$/i;
const IPV4_MAPPED_PREFIX = 0xffffn << 32n;

function parseIpv4(text: string): bigint | undefined {
  const match = IPV4.exec(text);
  if (!match) return undefined;
  let value = 0n;
  for (const part of match.slice(1)) {
    if (part.length > 1 && part.startsWith('0')) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = (value << 8n) | BigInt(octet);
  }
  return value;
}

function parseHextets(groups: string[]): bigint[] | undefined {
  const values: bigint[] = [];
  for (const [index, group] of groups.entries()) {
    if (index === groups.length - 1 && group.includes('.')) {
      const v4 = parseIpv4(group);
      if (v4 === undefined) return undefined;
      values.push(v4 >> 16n, v4 & 0xffffn);
    } else if (HEXTET.test(group)) values.push(BigInt(Number.parseInt(group, 16)));
    else return undefined;
  }
  return values;
}

/** An IPv6 address (with `::` and an IPv4 tail allowed, no zone) as a 128-bit integer. */
function parseIpv6(text: string): bigint | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? parseHextets(halves[0].split(':')) : [];
  const tail = halves.length === 2 && halves[1] ? parseHextets(halves[1].split(':')) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...Array<bigint>(missing).fill(0n), ...tail];
  return groups.reduce((value, group) => (value << 16n) | group, 0n);
}

/** Any address as a 128-bit integer; IPv4 as its IPv4-mapped IPv6 form, so one table covers both. */
export function parseIpAddress(text: string): bigint | undefined {
  const v4 = parseIpv4(text);
  if (v4 !== undefined) return IPV4_MAPPED_PREFIX | v4;
  return text.includes(':') ? parseIpv6(text) : undefined;
}

export type AddressRange = { base: bigint; bits: number };

/** `address` or `address/bits` (IPv4 or IPv6), or undefined when it is neither. */
export function parseAddressRange(text: string): AddressRange | undefined {
  const [address = '', bits, extra] = text.trim().toLowerCase().split('/');
  const base = parseIpAddress(address);
  const v4 = parseIpv4(address) !== undefined;
  const width = v4 ? 32 : 128;
  const prefix = bits === undefined ? width : /^\d{1,3}$/.test(bits) ? Number(bits) : Number.NaN;
  if (base === undefined || extra !== undefined || !(prefix >= 0 && prefix <= width)) return undefined;
  return { base, bits: prefix + (v4 ? 96 : 0) };
}

function range(cidr: string): AddressRange {
  const parsed = parseAddressRange(cidr);
  if (!parsed) throw new Error(`bad range ${cidr}`);
  return parsed;
}

const REFUSED = [
  '0.0.0.0/8', // "this network"
  '10.0.0.0/8',
  '100.64.0.0/10', // carrier-grade NAT
  '127.0.0.0/8',
  '169.254.0.0/16', // link-local, cloud metadata
  '172.16.0.0/12',
  '192.0.0.0/24', // IETF protocol assignments
  '192.0.2.0/24', // documentation
  '192.88.99.0/24', // 6to4 relay anycast
  '192.168.0.0/16',
  '198.18.0.0/15', // benchmarking
  '198.51.100.0/24',
  '203.0.113.0/24',
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, broadcast
  '::/96', // unspecified, loopback, IPv4-compatible (deprecated)
  '64:ff9b:1::/48', // local-use NAT64
  '100::/64', // discard
  '2001::/23', // IETF protocol assignments, Teredo
  '2001:db8::/32', // documentation
  'fc00::/7', // unique local, including fd00:ec2::254
  'fe80::/10', // link-local
  'fec0::/10', // site-local (deprecated)
  'ff00::/8', // multicast
].map(range);

/** Forms that carry an IPv4 address in their low 32 bits, judged by that address. */
const EMBEDDING_IPV4 = ['::ffff:0:0/96', '64:ff9b::/96'].map(range);
const SIX_TO_FOUR = range('2002::/16');

function within(address: bigint, { base, bits }: AddressRange): boolean {
  const shift = BigInt(128 - bits);
  return address >> shift === base >> shift;
}

function embeddedIpv4(address: bigint): bigint | undefined {
  if (EMBEDDING_IPV4.some((r) => within(address, r))) return address & 0xffffffffn;
  if (within(address, SIX_TO_FOUR)) return (address >> 80n) & 0xffffffffn;
  return undefined;
}

/** True only for a well-formed public unicast address. */
export function isPublicAddress(text: string): boolean {
  const address = parseIpAddress(text.trim().toLowerCase());
  if (address === undefined) return false;
  const v4 = embeddedIpv4(address);
  const judged = v4 === undefined ? address : IPV4_MAPPED_PREFIX | v4;
  return !REFUSED.some((r) => within(judged, r));
}

export function inRanges(text: string, ranges: readonly AddressRange[]): boolean {
  const address = parseIpAddress(text.trim().toLowerCase());
  return address !== undefined && ranges.some((r) => within(address, r));
}

/**
 * What one client is counted as: an IPv4 address, or an IPv6 address's /64 (one subscriber
 * usually holds a whole /64, so counting single IPv6 addresses would count nothing).
 */
export function clientKey(text: string): string | undefined {
  const address = parseIpAddress(text.trim().toLowerCase());
  if (address === undefined) return undefined;
  if (address >> 32n === 0xffffn) {
    const v4 = Number(address & 0xffffffffn);
    return [24, 16, 8, 0].map((shift) => (v4 >>> shift) & 0xff).join('.');
  }
  return `${(address >> 64n).toString(16).padStart(16, '0')}::/64`;
}
