import type { BilledRequest } from '../core/billed-request.ts';
import { GatewayError } from '../core/errors.ts';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from './json-depth.ts';
import { protocolOf, type RouteProtocol } from './registry.ts';

/** The parts of a request's state the body readers use and fill (the plugins' context has them). */
export type BodyHolder = {
  readonly request: Request;
  readonly clientSignal: AbortSignal;
  readonly route: { readonly path: string; readonly protocol?: RouteProtocol };
  rawBody?: Uint8Array;
  billed?: BilledRequest;
};

/** Large enough for a few base64 images; anything larger is refused before it is read whole. */
export const MAX_REQUEST_BODY_BYTES = 20 * 1024 * 1024;
/**
 * A body that stops arriving is answered 408 instead of holding its connection until Bun's idle
 * timeout (255 s). A declared-length body is read in one call, so its deadline covers the whole
 * read: this silence allowance plus its length at MIN_BODY_BYTES_PER_SECOND (20 MiB: 330 s, and
 * Bun's idle timeout still ends a silent connection first); a chunked body gets it per piece.
 */
export const BODY_IDLE_TIMEOUT_MS = 10_000;
/** A slow mobile uplink; slower than this and a large body times out. */
const MIN_BODY_BYTES_PER_SECOND = 64 * 1024;
/** The code of a request whose client closed the connection while sending its body (nginx's 499). */
export const CLIENT_CLOSED_CODE = 'client_closed_request';

const tooLarge = () =>
  new GatewayError(413, 'request_too_large', `The request body exceeds ${MAX_REQUEST_BODY_BYTES / 1024 / 1024} MiB.`);
// The unread rest of the body would be taken for the next request on the connection: close it.
const timedOut = () =>
  new GatewayError(408, 'request_timeout', 'The request body did not arrive in time.', null, { connection: 'close' });
const clientClosed = () =>
  new GatewayError(499, CLIENT_CLOSED_CODE, 'The client closed the connection before its request body arrived.');

/** `read`, unless `ms` pass first (408) or the client goes away (499). */
async function withinDeadline<T>(ctx: BodyHolder, read: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut()), ms);
  });
  try {
    return await Promise.race([read, expired]);
  } catch (error) {
    if (error instanceof GatewayError) {
      // The read fails later, when the connection closes; nobody waits for it any more.
      read.catch(() => {});
      throw error;
    }
    if (ctx.clientSignal.aborted || (error instanceof Error && error.name === 'AbortError')) throw clientClosed();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** Reads the raw body once, refusing oversized bodies whether or not they declare their length. */
export async function readRawBody(ctx: BodyHolder): Promise<Uint8Array> {
  if (ctx.rawBody) return ctx.rawBody;
  const length = ctx.request.headers.get('content-length');
  const declared = Number(length ?? '0');
  if (declared > MAX_REQUEST_BODY_BYTES) throw tooLarge();
  // A declared length bounds the body (HTTP framing ends it there), so it is read in one call; only
  // a chunked body is read piece by piece, to stop at the limit. The one call skips the stream
  // machinery that showed up in the gateway's CPU profile.
  const deadlineMs = BODY_IDLE_TIMEOUT_MS + (declared / MIN_BODY_BYTES_PER_SECOND) * 1000;
  const body =
    length === null
      ? await readChunked(ctx)
      : new Uint8Array(await withinDeadline(ctx, ctx.request.arrayBuffer(), deadlineMs));
  ctx.rawBody = body;
  return body;
}

async function readChunked(ctx: BodyHolder): Promise<Uint8Array> {
  const reader = ctx.request.body?.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  if (reader) {
    for (;;) {
      const { done, value } = await withinDeadline(ctx, reader.read(), BODY_IDLE_TIMEOUT_MS);
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

/** The body validated by the route's protocol (protocols/protocol.ts), parsed once and shared by the plugins. */
export async function billedRequest(ctx: BodyHolder): Promise<BilledRequest> {
  if (ctx.billed) return ctx.billed;
  const protocol = ctx.route.protocol;
  if (!protocol) throw new Error(`route ${ctx.route.path} has no protocol`);
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
  const result = protocolOf(protocol).parse(parsed);
  if ('message' in result) throw new GatewayError(400, 'invalid_request', result.message, result.param);
  ctx.billed = result;
  return result;
}
