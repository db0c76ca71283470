import { Resolver } from 'node:dns/promises';
import type { Config } from '../app/config.ts';
import { isPublicAddress } from '../core/ip-address.ts';
import type { DomainProofMethod } from '../db/queries/domain-claims.ts';

/**
 * The server's check that a tenant controls a domain it claims: the claim's token in a TXT record
 * at `_tollgate-verify.<domain>`, else served at `http://<domain>/.well-known/tollgate-verify/<token>`.
 * The HTTP check obeys the rules for any target a customer names (core/ip-address.ts): the name
 * is resolved here, every address must be public (unless the operator allows private ones), and
 * the request goes to the checked address with the domain as Host, so a second DNS answer cannot
 * point it elsewhere; redirects are not followed.
 */

export const VERIFY_RECORD_PREFIX = '_tollgate-verify';
export const WELL_KNOWN_PREFIX = '/.well-known/tollgate-verify/';

/** Per DNS query and attempt; a claim check makes at most three queries (TXT, A, AAAA). */
const DNS_TIMEOUT_MS = 2_000;
const DNS_TRIES = 2;
/** The whole HTTP check, connection to last byte. */
const HTTP_TIMEOUT_MS = 5_000;
/** The proof is the token alone; more than this is not one. */
const MAX_PROOF_BYTES = 1_024;
const DEFAULT_HTTP_PORT = 80;

type Proof = { proven: true; method: DomainProofMethod } | { proven: false; reason: string };
export type DomainCheck = (domain: string, token: string) => Promise<Proof>;
type DomainCheckOptions = Config['outbound'] & { httpPort?: number };

function errorCode(error: unknown): string {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : 'error';
}

async function dnsProof(resolver: Resolver, domain: string, token: string): Promise<true | string> {
  const name = `${VERIFY_RECORD_PREFIX}.${domain}`;
  try {
    const records = await resolver.resolveTxt(name);
    if (records.some((chunks) => chunks.join('') === token)) return true;
    return `No TXT record at ${name} holds the token.`;
  } catch (error) {
    const code = errorCode(error);
    if (code === 'ENOTFOUND' || code === 'ENODATA') return `There is no TXT record at ${name}.`;
    return `The DNS lookup of ${name} failed (${code}).`;
  }
}

async function addressesOf(resolver: Resolver, domain: string): Promise<string[]> {
  const [v4, v6] = await Promise.all([
    resolver.resolve4(domain).catch(() => []),
    resolver.resolve6(domain).catch(() => []),
  ]);
  return [...v4, ...v6];
}

async function readBounded(response: Response, maxBytes: number): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size <= maxBytes) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
  }
  await reader.cancel().catch(() => {});
  return size > maxBytes ? '' : new TextDecoder().decode(Buffer.concat(chunks));
}

async function httpProof(
  resolver: Resolver,
  options: DomainCheckOptions,
  domain: string,
  token: string,
): Promise<true | string> {
  const shown = `http://${domain}${WELL_KNOWN_PREFIX}${token}`;
  const addresses = await addressesOf(resolver, domain);
  const address = addresses[0];
  if (address === undefined) return `${domain} has no A or AAAA record, so ${shown} cannot be fetched.`;
  const refused = options.allowPrivate ? undefined : addresses.find((a) => !isPublicAddress(a));
  if (refused !== undefined)
    return `${domain} resolves to ${refused}, a private or reserved address, which the server does not contact.`;
  const port = options.httpPort ?? DEFAULT_HTTP_PORT;
  const target = `http://${address.includes(':') ? `[${address}]` : address}:${port}${WELL_KNOWN_PREFIX}${token}`;
  try {
    const response = await fetch(target, {
      headers: { host: port === DEFAULT_HTTP_PORT ? domain : `${domain}:${port}` },
      redirect: 'manual',
      signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
    });
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => {});
      return `${shown} answered ${response.status}.`;
    }
    const body = await readBounded(response, MAX_PROOF_BYTES);
    return body.trim() === token ? true : `${shown} answered without the token.`;
  } catch (error) {
    return `${shown} could not be fetched (${error instanceof Error ? error.name : 'error'}).`;
  }
}

export function createDomainCheck(options: DomainCheckOptions): DomainCheck {
  const resolver = new Resolver({ timeout: DNS_TIMEOUT_MS, tries: DNS_TRIES });
  if (options.dnsServers.length > 0) resolver.setServers(options.dnsServers);
  return async (domain, token) => {
    const dns = await dnsProof(resolver, domain, token);
    if (dns === true) return { proven: true, method: 'dns' };
    const http = await httpProof(resolver, options, domain, token);
    if (http === true) return { proven: true, method: 'http' };
    return { proven: false, reason: `${dns} ${http}` };
  };
}

const reservedByConfig = new WeakMap<Config, ReadonlySet<string>>();

/** The operator's own hosts, which no tenant may claim and which never route to one. */
export function reservedHosts(config: Config): ReadonlySet<string> {
  const known = reservedByConfig.get(config);
  if (known) return known;
  const hosts = new Set([
    new URL(config.publicUrl).hostname,
    new URL(config.portalUrl).hostname,
    ...config.reservedDomains,
  ]);
  reservedByConfig.set(config, hosts);
  return hosts;
}
