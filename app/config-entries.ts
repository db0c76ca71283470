import { parseIpAddress } from '../core/ip-address.ts';

/** Readers of single entries of list variables (app/config.ts): the entry as kept, or undefined when it is not one. */

const HOST_NAME = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const DNS_SERVER = /^(?:\[([0-9a-f:.]+)\]|([0-9.]+)|([0-9a-f:]+))(?::(\d{1,5}))?$/i;
const DNS_PORT = 53;

/** A host name, lower-cased. */
export function hostName(entry: string): string | undefined {
  const lower = entry.toLowerCase();
  return HOST_NAME.test(lower) ? lower : undefined;
}

/** A resolver as `ip`, `ip:port` or `[ipv6]:port`, kept as written (node:dns reads these forms). */
export function dnsServer(entry: string): string | undefined {
  const match = DNS_SERVER.exec(entry);
  const address = match?.[1] ?? match?.[2] ?? match?.[3];
  const portNumber = Number(match?.[4] ?? DNS_PORT);
  return address !== undefined && parseIpAddress(address) !== undefined && portNumber >= 1 && portNumber <= 65535
    ? entry
    : undefined;
}
