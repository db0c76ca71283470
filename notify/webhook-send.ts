import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { literalAddress, RefusedTarget, resolveAllowed, type AddressPolicy } from './ssrf.ts';

/**
 * Posts a webhook body, checking every address before connecting. The name is resolved by the
 * connection's own lookup, which refuses a forbidden address, so the address checked is the address
 * connected to (a DNS answer cannot change between the check and the connection). Redirects are
 * followed by hand, each new URL checked the same way; the body is re-posted, so the signature
 * stays valid.
 */

export type WebhookAnswer = { status: number; body: string };

const MAX_REDIRECTS = 3;
/** Enough of an answer for the delivery log; the rest is not read. */
const MAX_ANSWER_BYTES = 2_048;
const USER_AGENT = 'Tollgate-Webhooks/1';

type LookupCallback = (error: NodeJS.ErrnoException | null, addresses: { address: string; family: number }[]) => void;

function checkedLookup(allowed: AddressPolicy): LookupFunction {
  const lookup = (hostname: string, _options: unknown, callback: LookupCallback) => {
    resolveAllowed(hostname, allowed).then(
      (addresses) => callback(null, addresses),
      (error: NodeJS.ErrnoException) => callback(error, []),
    );
  };
  return lookup as unknown as LookupFunction;
}

function postOnce(
  url: URL,
  body: string,
  headers: Record<string, string>,
  allowed: AddressPolicy,
  signal: AbortSignal,
): Promise<{ status: number; location: string | null; body: string }> {
  return new Promise((done, fail) => {
    const client = url.protocol === 'https:' ? https : http;
    const request = client.request(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'user-agent': USER_AGENT },
        lookup: checkedLookup(allowed),
        signal,
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          if (size < MAX_ANSWER_BYTES) chunks.push(chunk);
          size += chunk.length;
          if (size >= MAX_ANSWER_BYTES) response.destroy();
        });
        const finish = () =>
          done({
            status: response.statusCode ?? 0,
            location: typeof response.headers.location === 'string' ? response.headers.location : null,
            body: Buffer.concat(chunks).toString('utf8').slice(0, MAX_ANSWER_BYTES),
          });
        response.on('end', finish);
        response.on('close', finish);
        response.on('error', fail);
      },
    );
    request.on('error', fail);
    request.end(body);
  });
}

/** The answer of the last hop; RefusedTarget when an address or a redirect is not allowed. */
export async function postWebhook(
  target: string,
  body: string,
  headers: Record<string, string>,
  allowed: AddressPolicy,
  signal: AbortSignal,
): Promise<WebhookAnswer> {
  let url = new URL(target);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new RefusedTarget(`a redirect to ${url.protocol}`);
    // An address written in the URL is never looked up, so it is checked here.
    const literal = literalAddress(url.hostname);
    if (literal && !allowed(literal)) throw new RefusedTarget(`${literal} is an address webhooks may not reach.`);
    const answer = await postOnce(url, body, headers, allowed, signal);
    if (answer.status < 300 || answer.status >= 400 || !answer.location) return answer;
    url = new URL(answer.location, url);
  }
  throw new Error(`more than ${MAX_REDIRECTS} redirects`);
}
