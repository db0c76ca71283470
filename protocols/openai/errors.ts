import { errorBody, type GatewayError } from '../../core/errors.ts';
import type { ErrorShape } from '../protocol.ts';

/** OpenAI's error shape (core/errors.ts `errorBody`): every route that is not another protocol's. */

const encoder = new TextEncoder();

export const openAiErrors: ErrorShape = {
  response(error: GatewayError, requestId: string): Response {
    return new Response(JSON.stringify(errorBody(error)), {
      status: error.status,
      headers: { 'content-type': 'application/json', 'x-request-id': requestId, ...error.headers },
    });
  },
  event: (error: GatewayError) => encoder.encode(`data: ${JSON.stringify(errorBody(error))}\n\n`),
};
