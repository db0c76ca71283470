import { parseBilledRequest, type BilledRequest } from '../core/openai-request.ts';
import type { RequestContext } from '../plugins/context.ts';
import { GatewayError } from '../core/errors.ts';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from './json-depth.ts';

/** Large enough for a few base64 images; anything larger is refused before it is read whole. */
export const MAX_REQUEST_BODY_BYTES = 20 * 1024 * 1024;

const tooLarge = () =>
  new GatewayError(413, 'request_too_large', `The request body exceeds ${MAX_REQUEST_BODY_BYTES / 1024 / 1024} MiB.`);

/** Reads the raw body once, refusing oversized bodies whether or not they declare their length. */
export async function readRawBody(ctx: RequestContext): Promise<Uint8Array> {
  if (ctx.rawBody) return ctx.rawBody;
  const length = ctx.request.headers.get('content-length');
  if (Number(length ?? '0') > MAX_REQUEST_BODY_BYTES) throw tooLarge();
  // A declared length bounds the body (HTTP framing ends it there), so it is read in one call; only
  // a chunked body is read piece by piece, to stop at the limit. The one call skips the stream
  // machinery that showed up in the gateway's CPU profile.
  const body = length === null ? await readChunked(ctx.request) : new Uint8Array(await ctx.request.arrayBuffer());
  ctx.rawBody = body;
  return body;
}

async function readChunked(request: Request): Promise<Uint8Array> {
  const reader = request.body?.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  if (reader) {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > MAX_REQUEST_BODY_BYTES) {
        await reader.cancel();
        throw tooLarge();
      }
      parts.push(value);
    }
  }
  return parts.length === 1 ? (parts[0] as Uint8Array) : Buffer.concat(parts);
}

const decoder = new TextDecoder('utf-8', { fatal: true });

const tooDeep = () =>
  new GatewayError(
    400,
    'invalid_request',
    `The request body nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep.`,
  );

/** The validated OpenAI-style body of the route's endpoint, parsed once and shared by the plugins. */
export async function billedRequest(ctx: RequestContext): Promise<BilledRequest> {
  if (ctx.billed) return ctx.billed;
  const endpoint = ctx.route.endpoint;
  if (!endpoint) throw new Error(`route ${ctx.route.path} has no endpoint`);
  const raw = await readRawBody(ctx);
  let parsed: unknown;
  try {
    const text = decoder.decode(raw);
    // Before the parse: JSON.parse itself is slow on deep nesting, and every walk after it recurses.
    if (exceedsJsonDepth(text, MAX_JSON_DEPTH)) throw tooDeep();
    parsed = JSON.parse(text);
  } catch (error) {
    if (error instanceof GatewayError) throw error;
    throw new GatewayError(400, 'invalid_json', 'The request body is not valid JSON.');
  }
  const result = parseBilledRequest(endpoint, parsed);
  if ('message' in result) throw new GatewayError(400, 'invalid_request', result.message, result.param);
  ctx.billed = result;
  return result;
}
